"""Open an interpnet report in a real browser (headless Chromium, driven by Playwright) and
check it as a person would use it, with JavaScript on and off; save screenshots.

Needs Debian's Chromium (`apt-get install chromium`) and `pip install playwright` (its Python
package only: it drives the system's Chromium, `playwright install` is not needed).

Usage: python benchmarks/report/browser.py REPORT.html NAME
writes benchmarks/report/results/browser-NAME.json and screenshots NAME-*.jpg
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

RESULTS = Path(__file__).parent / "results"
VIEW = {"width": 1400, "height": 1000}


def visible_indices(page) -> list[int]:
    return [
        int(x)
        for x in page.locator("article.card:visible").evaluate_all(
            "cards => cards.map(c => c.dataset.index)"
        )
    ]


def main(argv: list[str]) -> int:
    report, name = Path(argv[0]).resolve(), argv[1]
    url = report.as_uri()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no chromium on PATH: apt-get install chromium", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    out: dict = {"report": str(report), "mb": round(report.stat().st_size / 1e6, 2)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        out["browser"] = browser.version
        # JavaScript on: load time, filters, ordering, paging
        ctx = browser.new_context(viewport=VIEW)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        t = time.time()
        page.goto(url, wait_until="load")
        out["js_load_seconds"] = round(time.time() - t, 2)
        per_page = len(visible_indices(page))
        cards = page.locator("article.card").count()
        wrong = page.locator('article.card[data-wrong="1"]').count()
        page.screenshot(path=str(RESULTS / f"{name}-top.jpg"), type="jpeg", quality=80)
        page.select_option("#filter", "wrong")
        shown = visible_indices(page)
        out["js_filter_wrong"] = {
            "shown": len(shown),
            "all_wrong": all(
                page.locator(f'article.card[data-index="{i}"]').get_attribute("data-wrong") == "1"
                for i in shown
            ),
            "expected": min(per_page, wrong),
        }
        page.select_option("#order", "p-asc")
        ps = [
            float(page.locator(f'article.card[data-index="{i}"]').get_attribute("data-p"))
            for i in visible_indices(page)
        ]
        out["js_sorted_by_confidence"] = ps == sorted(ps)
        page.select_option("#filter", "attributed")
        page.select_option("#order", "split")
        page.evaluate(  # open the heat maps of the first attributed images
            "document.querySelectorAll('#js-grid details').forEach((d, i) => d.open = i < 3)"
        )
        page.locator("#gallery").evaluate("e => e.scrollIntoView()")
        page.screenshot(path=str(RESULTS / f"{name}-gallery.jpg"), type="jpeg", quality=80)
        page.select_option("#filter", "all")
        page.locator("#pager a").nth(1).click()
        out["js_page_2"] = visible_indices(page) == list(range(per_page, min(cards, 2 * per_page)))
        out["js_errors"] = errors
        ctx.close()
        # JavaScript off: anchors page the gallery
        ctx = browser.new_context(viewport=VIEW, java_script_enabled=False)
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        first = visible_indices(page)
        k = min(3, -(-cards // per_page))  # page 3, or the last one
        page.goto(url + f"#page-{k}", wait_until="load")
        kth = visible_indices(page)
        page.locator(f"#page-{k}").scroll_into_view_if_needed()
        page.screenshot(path=str(RESULTS / f"{name}-nojs-page{k}.jpg"), type="jpeg", quality=80)
        out["nojs"] = {
            "first_page": first == list(range(per_page)),
            f"page_{k}": kth == list(range((k - 1) * per_page, min(cards, k * per_page))),
            "filters_hidden": not page.locator("#filter").is_visible(),
        }
        ctx.close()
        browser.close()
    out.update(cards=cards, wrong=wrong, per_page=per_page)
    (RESULTS / f"browser-{name}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    ok = (
        not out["js_errors"]
        and out["js_filter_wrong"]["all_wrong"]
        and out["js_filter_wrong"]["shown"] == out["js_filter_wrong"]["expected"]
        and out["js_sorted_by_confidence"]
        and out["js_page_2"]
        and all(out["nojs"].values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
