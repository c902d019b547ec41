"""Draw one SynthBirds image with PIL: a bird made of polygons, posed, on a noisy background,
optionally with one part hidden behind leaves."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from interpnet.data.synthbirds.attributes import COLORS

_CANVAS = 128  # drawing resolution before downsampling (antialiasing)
_SIZE_SCALE = {"small": 0.72, "medium": 0.9, "large": 1.08}
_BACKGROUNDS = [
    ((150, 190, 230), (215, 230, 245)),  # sky
    ((120, 160, 100), (185, 210, 150)),  # foliage
    ((200, 190, 160), (235, 225, 200)),  # sand
    ((170, 170, 175), (220, 220, 222)),  # overcast
    ((110, 140, 130), (170, 195, 185)),  # water
]
# Part regions (centre x, centre y, radius x, radius y) in bird-local units (the bird faces +x,
# y points down): an occluder covers the whole region.
PART_REGIONS = {
    "head": (27.0, -19.0, 16.0, 16.0),
    "bill": (47.0, -16.0, 14.0, 8.0),
    "wings": (-5.0, -5.0, 22.0, 13.0),
    "breast": (10.0, 7.0, 23.0, 14.0),
    "tail": (-39.0, 0.0, 15.0, 14.0),
}
# Body and face take a neutral tone that is not an attribute, so that hiding a part hides
# its colour.
_NEUTRALS = [(172, 162, 146), (112, 102, 92), (196, 192, 184), (150, 140, 120)]


@dataclass
class Pose:
    """Where and how the bird is drawn on the canvas."""

    cx: float
    cy: float
    scale: float
    angle: float  # radians
    facing_left: bool

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        if self.facing_left:
            x = -x
        c, s = math.cos(self.angle), math.sin(self.angle)
        xr, yr = x * c - y * s, x * s + y * c
        return self.cx + self.scale * xr, self.cy + self.scale * yr


def _ellipse(cx: float, cy: float, rx: float, ry: float, tilt: float = 0.0, n: int = 32):
    c, s = math.cos(tilt), math.sin(tilt)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * c - y * s, cy + x * s + y * c))
    return pts


def _half_disc(cx: float, cy: float, r: float, n: int = 20):
    """The upper half of a disc (the crown of the head)."""
    return [
        (cx + r * math.cos(math.pi + math.pi * i / n), cy + r * math.sin(math.pi + math.pi * i / n))
        for i in range(n + 1)
    ]


def _bill(shape: str, length: str) -> list[tuple[float, float]]:
    long = length == "long"
    x0, y0 = 37.0, -18.0
    if shape == "cone":
        ln, half = (11.0 if long else 7.0), 5.0
        return [(x0, y0 - half), (x0 + ln, y0), (x0, y0 + half)]
    if shape == "needle":
        ln, half = (22.0 if long else 13.0), 1.6
        return [(x0, y0 - half), (x0 + ln, y0 + 1.0), (x0, y0 + half)]
    if shape == "hooked":
        ln, half = (17.0 if long else 11.0), 3.5
        return [
            (x0, y0 - half),
            (x0 + ln, y0 - half + 1),
            (x0 + ln + 1.5, y0 + 3.5),
            (x0 + ln - 2.5, y0 + 1.0),
            (x0, y0 + half),
        ]
    ln, half = (20.0 if long else 12.0), 3.0  # dagger: straight, pointed, slightly down
    return [(x0, y0 - half), (x0 + ln, y0 + 2.5), (x0, y0 + half)]


def _contrast(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (25, 25, 25) if luminance > 110 else (240, 240, 240)


def _jitter(rgb: tuple[int, int, int], rng: random.Random, amount: int = 14):
    return tuple(max(0, min(255, v + rng.randint(-amount, amount))) for v in rgb)


def _draw_bird(draw: ImageDraw.ImageDraw, attrs: dict[str, str], pose: Pose, rng: random.Random):
    def poly(points, fill, outline=None):
        draw.polygon([pose(x, y) for x, y in points], fill=fill, outline=outline)

    wing_rgb = _jitter(COLORS[attrs["wing_color"]], rng)
    breast_rgb = _jitter(COLORS[attrs["breast_color"]], rng)
    dark = (40, 40, 40)
    # legs
    for lx in (-2.0, 6.0):
        poly([(lx, 14), (lx + 1.8, 14), (lx + 1.8, 27), (lx, 27)], dark)
    poly(
        [(-24, -4), (-50, -12), (-52, 0), (-50, 11), (-24, 4)],
        _jitter(COLORS[attrs["tail_color"]], rng),
    )
    neutral = _jitter(rng.choice(_NEUTRALS), rng)
    poly(_ellipse(0, 0, 29, 17), neutral)  # body
    poly(_ellipse(9, 6, 21, 12, 0.15), breast_rgb)
    poly(_ellipse(27, -19, 13, 13), neutral)  # face
    poly(_half_disc(27, -20, 13.2), _jitter(COLORS[attrs["crown_color"]], rng))
    poly(_bill(attrs["bill_shape"], attrs["bill_length"]), COLORS[attrs["bill_color"]])
    if attrs["eye_ring"] == "yes":
        poly(_ellipse(31, -18, 4.4, 4.4), (250, 250, 250))
    poly(_ellipse(31, -18, 2.3, 2.3), (10, 10, 10))
    wing = (-5.0, -5.0, 20.0, 10.5, -0.12)
    poly(_ellipse(*wing), wing_rgb, outline=dark)
    mark = _contrast(COLORS[attrs["wing_color"]])
    if attrs["wing_pattern"] == "spotted":
        for dx, dy in ((-16, -7), (-9, -10), (-2, -6), (5, -9), (-12, -1), (-4, 0), (3, -2)):
            poly(_ellipse(dx, dy, 2.3, 2.3), mark)
    elif attrs["wing_pattern"] == "striped":
        for dx in (-17, -10, -3, 4):
            poly([(dx, -13), (dx + 2.6, -13), (dx + 5.6, 2), (dx + 3.0, 2)], mark)


def _occlude(draw: ImageDraw.ImageDraw, part: str, pose: Pose, rng: random.Random) -> None:
    px, py, rx, ry = PART_REGIONS[part]
    base = (rng.randint(35, 60), rng.randint(90, 120), rng.randint(35, 55))
    draw.polygon([pose(a, b) for a, b in _ellipse(px, py, rx * 1.08, ry * 1.08)], fill=base)
    for _ in range(10):  # leaf texture on top of the solid cover
        ang, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.8)
        x, y = px + dist * rx * math.cos(ang), py + dist * ry * math.sin(ang)
        green = (rng.randint(30, 75), rng.randint(95, 150), rng.randint(30, 65))
        size = min(rx, ry)
        leaf = _ellipse(x, y, size * 0.55, size * 0.32, rng.uniform(0, math.pi))
        draw.polygon([pose(a, b) for a, b in leaf], fill=green)


def part_regions(pose: Pose, image_size: int) -> dict[str, tuple[float, ...]]:
    """Each part's region in the image as drawn with ``pose`` and downsampled to
    ``image_size``: an ellipse (centre x, centre y, semi-axis x, semi-axis y, angle of the first
    axis in radians), in pixels of the image. The regions are axis-aligned ellipses of the bird,
    so a flip leaves them ellipses and the pose's rotation turns their axes."""
    k = image_size / _CANVAS
    out = {}
    for part, (px, py, rx, ry) in PART_REGIONS.items():
        cx, cy = pose(px, py)
        out[part] = (cx * k, cy * k, rx * pose.scale * k, ry * pose.scale * k, pose.angle)
    return out


def render_bird(
    attrs: dict[str, str],
    rng: random.Random,
    image_size: int = 64,
    occluded: str | None = None,
    noise: float = 6.0,
) -> Image.Image:
    """Render one image of a bird with ``attrs``; ``occluded`` names a part hidden by leaves."""
    return render_bird_parts(attrs, rng, image_size, occluded, noise)[0]


def render_bird_parts(
    attrs: dict[str, str],
    rng: random.Random,
    image_size: int = 64,
    occluded: str | None = None,
    noise: float = 6.0,
) -> tuple[Image.Image, dict[str, tuple[float, ...]]]:
    """:func:`render_bird`, with the :func:`part_regions` of the bird it drew."""
    top, bottom = (_jitter(c, rng, 18) for c in rng.choice(_BACKGROUNDS))
    grad = np.linspace(0.0, 1.0, _CANVAS)[:, None, None]
    bg = (1 - grad) * np.array(top) + grad * np.array(bottom)
    canvas = Image.fromarray(np.broadcast_to(bg, (_CANVAS, _CANVAS, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.randint(0, 3)):  # background clutter
        x, y = rng.uniform(0, _CANVAS), rng.uniform(0, _CANVAS)
        shade = _jitter(tuple(int(v * 0.85) for v in bottom), rng, 20)
        draw.polygon(
            _ellipse(x, y, rng.uniform(8, 22), rng.uniform(5, 14), rng.uniform(0, 3)), fill=shade
        )
    scale = _SIZE_SCALE[attrs["size"]] * rng.uniform(0.94, 1.06)
    pose = Pose(
        cx=_CANVAS / 2 + rng.uniform(-9, 9),
        cy=_CANVAS / 2 + rng.uniform(-7, 9),
        scale=scale,
        angle=math.radians(rng.uniform(-18, 18)),
        facing_left=rng.random() < 0.5,
    )
    _draw_bird(draw, attrs, pose, rng)
    if occluded is not None:
        _occlude(draw, occluded, pose, rng)
    img = canvas.resize((image_size, image_size), Image.Resampling.LANCZOS)
    if noise > 0:
        arr = np.asarray(img).astype(np.float32)
        nrng = np.random.default_rng(rng.getrandbits(32))
        arr += nrng.normal(0.0, noise, arr.shape)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img, part_regions(pose, image_size)
