"""The generic layout: a folder of images with metadata.jsonl / metadata.csv."""

import csv
import json
import shutil

import pytest
import torch

from interpnet.cli.main import main
from interpnet.data.layouts import detect_dataset, open_layout
from interpnet.errors import DataError
from interpnet.model import InterpNet
from tests.helpers import tiny_flags


@pytest.fixture()
def folder(tiny_birds, tmp_path):
    """SynthBirds' 48 images copied into a flat folder with a metadata.jsonl (no split)."""
    layout = open_layout(tiny_birds)
    root = tmp_path / "mine"
    (root / "img").mkdir(parents=True)
    lines = []
    for e in [e for s in ("train", "val", "test") for e in layout.split(s)]:
        name = f"img/{e.image_path.name}"
        shutil.copy(e.image_path, root / name)
        label = layout.class_names[e.label].split(".", 1)[1]
        lines.append({"file_name": name, "label": label, "text": e.sentences[:3]})
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return root


def _write(root, rows):
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows(root):
    return [json.loads(line) for line in (root / "metadata.jsonl").read_text().splitlines()]


def test_jsonl_folder_gets_a_seeded_stratified_split(folder):
    assert detect_dataset(folder) == "generic"
    layout = open_layout(folder, val_fraction=0.25, test_fraction=0.25)
    assert len(layout.class_names) == 6 and layout.class_names == sorted(layout.class_names)
    sizes = {s: len(layout.split(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 24, "val": 12, "test": 12}  # 8 per class: 4 / 2 / 2
    for s in ("val", "test"):
        assert sorted({e.label for e in layout.split(s)}) == list(range(6))
    again = open_layout(folder, val_fraction=0.25, test_fraction=0.25)
    assert [e.rel_path for e in again.split("test")] == [e.rel_path for e in layout.split("test")]
    other = open_layout(folder, val_fraction=0.25, test_fraction=0.25, seed=1)
    assert [e.rel_path for e in other.split("test")] != [e.rel_path for e in layout.split("test")]
    assert all(len(e.sentences) == 3 for e in layout.split("train"))


def test_csv_with_a_split_column_and_label_ids(folder):
    rows = _rows(folder)
    (folder / "metadata.jsonl").unlink()
    with open(folder / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_name", "label", "text", "split"])
        for i, r in enumerate(rows):
            split = ["train", "validation", "test"][i % 3]
            w.writerow([r["file_name"], i % 4, "\n".join(r["text"]), split])
    layout = open_layout(folder)
    assert layout.class_names == ["0", "1", "2", "3"]
    assert [len(layout.split(s)) for s in ("train", "val", "test")] == [16, 16, 16]
    assert len(layout.split("val")[0].sentences) == 3  # one description per line of the cell


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda rows: rows.append(dict(rows[0])), r"metadata.jsonl:49: duplicate file_name"),
        (lambda rows: rows[4].update(text=[" "]), r"metadata.jsonl:5: empty text"),
        (
            lambda rows: (
                rows[2].update(split="holdout")
                or [r.update(split="train") for r in rows[:2] + rows[3:]]
            ),
            r"metadata.jsonl:3: unknown split 'holdout'",
        ),
        (lambda rows: rows[1].update(split="train"), r"metadata.jsonl:1: no split, while"),
        (lambda rows: rows[6].pop("label"), r"metadata.jsonl:7: missing \['label'\]"),
        (lambda rows: rows[0].update(file_name="../x.png"), r"metadata.jsonl:1: file_name"),
    ],
)
def test_bad_metadata_lines_name_file_and_line(folder, change, message):
    rows = _rows(folder)
    change(rows)
    _write(folder, rows)
    with pytest.raises(DataError, match=message):
        open_layout(folder)


def test_broken_files_and_missing_images(folder):
    text = (folder / "metadata.jsonl").read_text()
    (folder / "metadata.jsonl").write_text(text.replace("}\n", "}\n{oops\n", 1))
    with pytest.raises(DataError, match=r"metadata.jsonl:2: not valid JSON"):
        open_layout(folder)
    (folder / "metadata.jsonl").write_bytes(b"\xff\xfe" + text.encode())
    with pytest.raises(DataError, match="not UTF-8"):
        open_layout(folder)
    (folder / "metadata.jsonl").write_text(text)
    (folder / "metadata.csv").write_text("file_name,label,text\n")
    with pytest.raises(DataError, match="has both metadata.jsonl and metadata.csv"):
        open_layout(folder)
    (folder / "metadata.csv").unlink()
    layout = open_layout(folder)
    n_test = len(layout.split("test"))
    gone = layout.split("test")[0]
    gone.image_path.unlink()
    with pytest.raises(
        DataError,
        match=rf"metadata.jsonl:{gone.image_id}: image .*missing image"
        rf"|1 missing image\(s\): .*metadata.jsonl:{gone.image_id}",
    ):
        layout.split("test")
    assert len(layout.split("test", skip_missing=True)) == n_test - 1


def test_train_explain_evaluate_on_a_metadata_folder(folder, tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "train",
        "--data-root",
        str(folder),
        "--out",
        str(run),
        "--val-fraction",
        "0.25",
        "--test-fraction",
        "0.25",
        *tiny_flags(),
    ]
    assert main(args) == 0
    model = InterpNet.from_pretrained(run)
    assert model.class_names == open_layout(folder).class_names
    assert main(["explain", str(run), "--split", "test", "--quiet"]) == 0
    assert "accuracy on test: " in capsys.readouterr().out
    assert main(["evaluate", str(run), "--no-java", "--quiet"]) == 0
    assert json.loads((run / "metrics.json").read_text())["images"] == 12
    assert model.explain(torch.rand(1, 3, 32, 32))
    out = tmp_path / "report.html"
    assert main(["report", str(run), "--out", str(out), "--attribute", "1", "--quiet"]) == 0
    assert out.read_text().count('class="card') == 12
