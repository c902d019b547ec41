"""Tables of benchmarks/report/results (report time and size, browser checks, attribution over
the split) as Markdown.

Usage: python benchmarks/report/table.py > benchmarks/report/results/tables.md
"""

from __future__ import annotations

import json
import re
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _time(name: str) -> tuple[str, str]:
    path = RESULTS / f"{name}.time"
    if not path.is_file():
        return "-", "-"
    m = re.match(r"([\d.]+) s wall, (\d+) KB peak RSS", path.read_text())
    return (f"{float(m.group(1)):.1f}", f"{int(m.group(2)) / 1e6:.2f}") if m else ("-", "-")


def report_table() -> str:
    lines = [
        "| data | images | thumbnails | seconds | peak GB | file MB | browser checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("flowers", "synthbirds"):
        browser = RESULTS / f"browser-{name}.json"
        b = json.loads(browser.read_text()) if browser.is_file() else None
        checks = "-"
        if b:
            ok = (
                not b["js_errors"]
                and b["js_filter_wrong"]["all_wrong"]
                and b["js_sorted_by_confidence"]
                and b["js_page_2"]
                and all(b["nojs"].values())
            )
            checks = (
                f"{'all pass' if ok else 'FAIL'} ({b['browser']}, load {b['js_load_seconds']} s)"
            )
        for cache in ("cold", "warm"):
            seconds, peak = _time(f"report-{name}-{cache}")
            images = b["cards"] if b else "-"
            mb = b["mb"] if b else "-"
            label = "made" if cache == "cold" else "cached"
            lines.append(f"| {name} | {images} | {label} | {seconds} | {peak} | {mb} | {checks} |")
    return "\n".join(lines)


def attribution_table(name: str) -> str:
    path = RESULTS / f"attribution-{name}.json"
    if not path.is_file():
        return f"(no attribution-{name}.json yet)"
    r = json.loads(path.read_text())
    parts = r["parts"]
    head = (
        f"{r['variant']}, {r['images']} of {r['of_images']} {r['split']} images "
        f"({r['wrong_images']} misclassified), {r['n_steps']} integration points, "
        f"{r['attribution_seconds']:.0f} s of attribution. Mean share of a word's attribution "
        "(magnitudes; each word's add up to 100%), and in brackets how often the part is the "
        "word's largest:\n\n"
    )
    lines = [
        "| images | words | count | " + " | ".join(parts) + " | max completeness error (nats) |",
        "|---|---|---|" + "---|" * len(parts) + "---|",
    ]
    for key, g in r["groups"].items():
        images, kind = key.split("/")
        cells = [
            f"{100 * g['mean_abs_share'][p]:.1f}% ({100 * g['top_part_share'][p]:.0f}%)"
            for p in parts
        ]
        lines.append(
            f"| {images} | {kind} | {g['words']} | "
            + " | ".join(cells)
            + f" | {g['max_completeness_error']:.3f} |"
        )
    return head + "\n".join(lines)


def main() -> None:
    print("## Report: time, size, browser\n")
    print(report_table())
    for name in ("flowers", "synthbirds"):
        print(f"\n## Attribution over the split: {name}\n")
        print(attribution_table(name))


if __name__ == "__main__":
    main()
