"""Where each part of a bird is in each image: the ground truth that grounding is measured
against. Read from a CUB-layout root: ``parts/part_regions.txt`` (what SynthBirds writes: one
ellipse per visible part) or else CUB-200-2011's official ``parts/part_locs.txt`` (one keypoint
per part, a disc around it standing for the part), with ``parts/parts.txt`` naming the parts.
Regions come back in the coordinates of the classifier's input (the resized centre crop that
:func:`~interpnet.data.images.load_image` makes), as fractions of its side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from interpnet.data.cub import _read_table
from interpnet.data.images import crop_box
from interpnet.errors import DataError

PARTS_FOLDER = "parts"
REGIONS_FILE = "part_regions.txt"
KEYPOINTS_FILE = "part_locs.txt"
# A keypoint stands for a disc of this radius (a fraction of the crop's side): the pointing
# game's tolerance of 15 px at 224 px (Zhang et al. 2016, "Top-down neural attention by
# excitation backprop").
KEYPOINT_RADIUS = 15 / 224


@dataclass(frozen=True)
class Region:
    """An ellipse: centre (``cx``, ``cy``; x to the right, y down), semi-axes ``rx`` (along the
    direction ``angle``, radians from the x axis) and ``ry``."""

    cx: float
    cy: float
    rx: float
    ry: float
    angle: float = 0.0

    def scaled(self, scale: float, left: float, top: float, side: float) -> Region:
        """This region after scaling the image by ``scale`` and cropping a ``side``-pixel
        square at (``left``, ``top``), in fractions of that side."""
        return Region(
            (self.cx * scale - left) / side,
            (self.cy * scale - top) / side,
            self.rx * scale / side,
            self.ry * scale / side,
            self.angle,
        )


class PartAnnotations:
    """The visible parts of the images of a CUB-layout data root (SynthBirds included).

    ``parts``: every part name of the data set; ``kind``: ``"regions"`` or ``"keypoints"``.
    :meth:`regions` gives one image's parts in its classifier input's coordinates."""

    def __init__(self, root: str | Path, keypoint_radius: float = KEYPOINT_RADIUS) -> None:
        cub = Path(root) / "CUB_200_2011"
        folder = cub / PARTS_FOLDER
        self.image_dir = cub / "images"
        self.keypoint_radius = keypoint_radius
        names = {pid: name for pid, name in _read_table(folder / "parts.txt", 2)}
        self.parts = tuple(names.values())
        paths = {i: p for i, p in _read_table(cub / "images.txt", 2)}
        regions_file = folder / REGIONS_FILE
        self.kind = "regions" if regions_file.is_file() else "keypoints"
        path = regions_file if self.kind == "regions" else folder / KEYPOINTS_FILE
        columns = 8 if self.kind == "regions" else 5
        self._by_image: dict[str, dict[str, list[Region]]] = {}
        for n, row in enumerate(_read_table(path, columns, numeric=2), 1):
            image_id, part_id, *values = row
            try:
                numbers = [float(v) for v in " ".join(values).split()]
            except ValueError:
                raise DataError(f"{path}: row {n}: expected numbers, got {row}") from None
            if image_id not in paths or part_id not in names:
                raise DataError(
                    f"{path}: row {n}: unknown image {image_id} or part {part_id} (not in "
                    "images.txt / parts/parts.txt)"
                )
            if not numbers[-1]:  # not visible
                continue
            # a keypoint's disc gets its radius in the crop's coordinates (regions())
            keypoint = Region(numbers[0], numbers[1], 0.0, 0.0)
            region = Region(*numbers[:5]) if self.kind == "regions" else keypoint
            parts = self._by_image.setdefault(paths[image_id], {})
            parts.setdefault(names[part_id], []).append(region)

    @staticmethod
    def available(root: str | Path) -> bool:
        """Whether ``root`` has part annotations (regions or keypoints) and their names."""
        folder = Path(root) / "CUB_200_2011" / PARTS_FOLDER
        return (folder / "parts.txt").is_file() and (
            (folder / REGIONS_FILE).is_file() or (folder / KEYPOINTS_FILE).is_file()
        )

    def regions(self, key: str, size: int, resize: int | None = None) -> dict[str, list[Region]]:
        """The visible parts of image ``key`` (its path under ``images/``), in fractions of the
        side of its classifier input: the shorter side resized to ``resize`` (default
        ``size``), the centre ``size`` square. Empty for an image without annotations."""
        parts = self._by_image.get(key)
        if not parts:
            return {}
        path = self.image_dir / key
        try:
            with Image.open(path) as img:
                width, height = img.size
        except (OSError, UnidentifiedImageError) as err:
            raise DataError(f"{path}: cannot read the image's size ({err})") from None
        scale, left, top = crop_box(width, height, size, resize)
        out = {}
        for name, regions in parts.items():
            moved = [r.scaled(scale, left, top, size) for r in regions]
            if self.kind == "keypoints":
                radius = self.keypoint_radius
                moved = [Region(r.cx, r.cy, radius, radius) for r in moved]
            out[name] = moved
        return out
