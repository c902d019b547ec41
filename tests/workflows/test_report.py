"""The HTML report: it parses, embeds every image, shows metrics.json's numbers, pages
without a server, and shows per-word attribution."""

import json
import math
import os
import re

import html5lib
import pytest

from interpnet.cli.main import main
from interpnet.errors import InterpnetError
from interpnet.report.html import build_report
from interpnet.report.table import COLUMNS, format_metric, metric_value
from interpnet.report.thumbnails import thumbnails
from interpnet.text import tokenize
from interpnet.workflows.evaluate import evaluate_run
from tests.helpers import train_variants

pytest.importorskip("pycocoevalcap.bleu.bleu", reason="pycocoevalcap not installed")
QUIET = dict(progress=False, log=lambda _: None)
NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def runs(tiny_birds, tmp_path_factory):
    out = train_variants(tiny_birds, tmp_path_factory.mktemp("report"), ("interpnet", "captioning"))
    for run in out.values():
        evaluate_run(run, use_java=False, retrieval=False, **QUIET)
    return out


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    """A report of both runs: 12 test images, pages of 5, 2 + 2 attributed."""
    out = tmp_path_factory.mktemp("html") / "report.html"
    cache = tmp_path_factory.mktemp("thumbs")
    build_report(
        [runs["interpnet"], runs["captioning"]],
        out,
        page_size=5,
        attribute=2,
        n_steps=4,
        cache_dir=cache,
        **QUIET,
    )
    text = out.read_text(encoding="utf-8")
    tree = html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error
    return text, tree, cache


def _records(run):
    lines = (run / "explanations/test.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


def _cards(tree):
    return [a for a in tree.iter(f"{NS}article") if "card" in a.get("class", "")]


def _text(el):
    return "".join(el.itertext()).strip()


def test_report_is_valid_html_with_every_image_embedded(report, runs):
    text, tree, _ = report
    records = (runs["interpnet"] / "explanations/test.jsonl").read_text().splitlines()
    cards = _cards(tree)
    assert len(cards) == len(records) == 12
    for card in cards:
        (thumb,) = [i for i in card.iter(f"{NS}img") if i.get("width") == "96"]
        assert thumb.get("src").startswith("data:image/webp;base64,")
    sources = [i.get("src") for i in tree.iter(f"{NS}img")]
    assert sources and all(s.startswith("data:image/") for s in sources)
    # nothing is fetched from anywhere: no external scripts, styles, links or images
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", text)
    assert not list(tree.iter(f"{NS}link"))


def test_metrics_shown_equal_metrics_json(report, runs):
    _, tree, _ = report
    table = next(t for t in tree.iter(f"{NS}table") if t.get("id") == "metrics-table")
    rows = {r.get("data-row"): r for r in table.iter(f"{NS}tr") if r.get("data-row")}
    checked = 0
    for run in runs.values():
        m = json.loads((run / "metrics.json").read_text())
        cells = {td.get("data-col"): _text(td) for td in rows[m["run"]].iter(f"{NS}td")}
        assert cells["accuracy"] == f"{100 * m['accuracy']:.1f}%"
        for label, path in COLUMNS:
            assert cells[label] == format_metric(label, metric_value(m["explanations"], path)), (
                label
            )
            checked += metric_value(m["explanations"], path) is not None
    human = json.loads((runs["interpnet"] / "metrics.json").read_text())["human"]
    cells = {td.get("data-col"): _text(td) for td in rows["human agreement"].iter(f"{NS}td")}
    for label, path in COLUMNS:
        assert cells[label] == format_metric(label, metric_value(human, path))
    assert checked >= 20


def test_pages_work_without_a_server(report):
    text, tree, _ = report
    pages = [s for s in tree.iter(f"{NS}section") if "page" in s.get("class", "")]
    assert [p.get("id") for p in pages] == [f"page-{k}" for k in (1, 2, 3)]
    seen = []
    for page in pages:
        cards = _cards(page)
        assert 1 <= len(cards) <= 5
        seen += [int(c.get("data-index")) for c in cards]
    assert seen == list(range(12))
    links = [a.get("href") for a in tree.iter(f"{NS}a") if a.get("href", "").startswith("#page-")]
    assert sorted(links) == sorted(f"#{p.get('id')}" for p in pages)
    # without JavaScript, CSS shows the targeted page, or the first one
    assert ".page:target { display: block; }" in text
    assert ".pages:not(:has(.page:target)) .page:first-child { display: block; }" in text


def test_cards_show_prediction_truth_explanation_and_references(report, runs):
    _, tree, _ = report
    records = _records(runs["interpnet"])
    for card, r in zip(_cards(tree), records, strict=True):
        body = _text(card)
        assert r["key"] in body and r["explanation"] in body and r["true_class"] in body
        assert f"{r['class_name']} (p={r['probability']:.2f}" in body
        for ref in r["references"][:2]:
            assert ref in body
        assert card.get("data-wrong") == ("1" if r["label"] != r["true_label"] else "0")
        assert math.isclose(float(card.get("data-p")), r["probability"])


def test_first_and_first_wrong_images_get_word_attribution(report, runs):
    _, tree, _ = report
    records = _records(runs["interpnet"])
    wrong = [i for i, r in enumerate(records) if r["label"] != r["true_label"]]
    expected = sorted({0, 1} | set(wrong[:2]))
    cards = _cards(tree)
    attributed = [int(c.get("data-index")) for c in cards if c.get("data-attributed") == "1"]
    assert attributed == expected
    for i in expected:
        blocks = [d for d in cards[i].iter(f"{NS}div") if d.get("class") == "attr"]
        assert len(blocks) == 2  # one per run
        words = [s for s in blocks[0].iter(f"{NS}span") if s.get("class") == "w"]
        assert len(words) == len(tokenize(records[i]["explanation"], end_with_period=False))
        assert all("softmax" in w.get("title") for w in words)  # InterpNET_2 reads it
        heat = [d for d in cards[i].iter(f"{NS}div") if d.get("class") == "heat"]
        assert heat and len(list(heat[0].iter(f"{NS}img"))) == len(words)  # on pixels


def test_thumbnails_come_from_the_cache(report, runs, tiny_birds):
    _, _, cache = report
    (cached,) = list(cache.iterdir())
    uris = json.loads(cached.read_text())
    paths = sorted((tiny_birds / "CUB_200_2011/images").rglob("*.png"))[:3]
    first = thumbnails(paths, 32, cache_dir=cache)
    assert len(first) == 3 and all(u.startswith("data:image/webp;base64,") for u in first)
    key = next(p for p in cache.iterdir() if p != cached)
    key.write_text(json.dumps(["data:image/webp;base64,cached"] * 3))
    assert thumbnails(paths, 32, cache_dir=cache) == ["data:image/webp;base64,cached"] * 3
    stat = paths[0].stat()
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a changed image
    assert thumbnails(paths, 32, cache_dir=cache) == first
    assert len(uris) == 12


def test_report_needs_explanations_and_writes_nothing_on_error(runs, tmp_path):
    run = runs["interpnet"]
    with pytest.raises(InterpnetError, match="no explanations of the val split"):
        build_report([run], tmp_path / "r.html", split="val", **QUIET)
    assert not (tmp_path / "r.html").exists()
    out = tmp_path / "cli.html"
    assert main(["report", str(run), "--split", "val", "--out", str(out), "--quiet"]) == 2
    assert main(["report", str(run), "--out", str(out), "--page-size", "0", "--quiet"]) == 2
    assert main(["report", str(run), "--out", str(out), "--heatmap-layer", "x", "--quiet"]) == 2
    assert not out.exists()


def test_report_cli(runs, tmp_path):
    out = tmp_path / "cli.html"
    args = ["report", str(runs["captioning"]), "--out", str(out), "--attribute", "1"]
    assert main([*args, "--steps", "2", "--cache-dir", str(tmp_path / "c"), "--quiet"]) == 0
    text = out.read_text()
    records = _records(runs["captioning"])
    wrong = [i for i, r in enumerate(records) if r["label"] != r["true_label"]]
    assert "captioning" in text and text.count('class="attr"') == len({0, *wrong[:1]})
    assert text.count('class="heat"') == len({0, *wrong[:1]})
    args = ["report", str(runs["interpnet"]), "--out", str(out), "--heatmap-layer", "none"]
    assert main([*args, "--steps", "2", "--cache-dir", str(tmp_path / "c"), "--quiet"]) == 0
    text = out.read_text()
    assert 'class="attr"' in text and 'class="heat"' not in text
