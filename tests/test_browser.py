"""Every page of the built book, loaded in Debian's Chromium (headless, through Playwright).

For each page listed in ``_toc.yml``: it loads; the console shows no errors and no
script throws; no request fails; every image has loaded (natural width > 0); every
stored widget view has rendered (a non-empty box); maths, where present, is typeset
without errors; the launch buttons (notebooks) and the download button are present.
A full-page screenshot of each goes to ``_build/screenshots/`` for a person to look at,
and one of each rendered widget to ``_build/screenshots/widgets/`` (e.g. for the README).

The first test lets requests to the internet through but requires that the page makes
none at load time; the second blocks them all and requires the page to be complete:
the book serves everything it needs (widget manager, MathJax, fonts) itself.
"""

from __future__ import annotations

import pytest

from browser_harness import (
    IMAGES_JS,
    MATH_JS,
    ROOT,
    WIDGETS_JS,
    load_page,
    source_of,
    toc_docnames,
)

pytestmark = pytest.mark.slow

PAGES = toc_docnames()
SCREENSHOTS = ROOT / "_build" / "screenshots"


def _check_complete(page, docname: str) -> list[str]:
    """Everything a reader should see; returns the list of problems (empty when complete)."""
    problems = []
    for img in page.evaluate(IMAGES_JS):
        if not img["complete"] or img["width"] == 0:
            problems.append(f"image not loaded: {img['src']}")
    widgets = page.evaluate(WIDGETS_JS)
    for w in widgets:
        if not w["rendered"] or w["error"]:
            problems.append(
                f"widget view {w['model']} not rendered" + (" (error shown)" if w["error"] else "")
            )
    math = page.evaluate(MATH_JS)
    if math["count"]:
        if not math["loaded"]:
            problems.append("MathJax did not load")
        elif math["typeset"] < math["count"] or math["errors"]:
            problems.append(
                f"maths: {math['typeset']}/{math['count']} typeset, {math['errors']} errors"
            )
    is_notebook = source_of(docname) is not None and source_of(docname).suffix == ".ipynb"
    if is_notebook:
        for selector in (
            ".dropdown-launch-buttons a[href*='/v2/gh/']",
            ".dropdown-launch-buttons a[href*='colab']",
            ".dropdown-launch-buttons .btn-launch-thebe",
        ):
            if page.locator(selector).count() != 1:
                problems.append(f"launch button missing: {selector}")
    if page.locator(".dropdown-download-buttons .btn-download-source-button").count() != 1:
        problems.append("download button missing")
    if not page.locator("article h1").first.is_visible():
        problems.append("no visible title")
    return problems


def _screenshot_widgets(page, docname: str) -> None:
    areas = page.locator(".widget-subarea")
    folder = SCREENSHOTS / "widgets"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{docname.replace('/', '_')}-*.png"):
        old.unlink()
    for i in range(areas.count()):
        area = areas.nth(i)
        if area.bounding_box():
            area.screenshot(path=str(folder / f"{docname.replace('/', '_')}-{i + 1}.png"))


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_completely_without_errors(browser, site, docname):
    page, log = load_page(browser, site, docname, block_external=False)
    try:
        problems = _check_complete(page, docname)
        SCREENSHOTS.joinpath(docname).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{docname}.png"), full_page=True)
        _screenshot_widgets(page, docname)
    finally:
        page.close()
    problems += [f"console: {e}" for e in log.errors]
    problems += [f"failed request: {f}" for f in log.failed]
    problems += [f"loaded from the internet at page load: {u}" for u in log.external]
    assert not problems, f"{docname}.html:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("docname", PAGES)
def test_page_is_complete_with_the_internet_blocked(browser, site, docname):
    page, log = load_page(browser, site, docname, block_external=True)
    try:
        problems = _check_complete(page, docname)
    finally:
        page.close()
    problems += [f"console: {e}" for e in log.errors]
    assert not problems, (
        f"{docname}.html with every non-local request blocked "
        f"(it tried: {log.external or 'nothing'}):\n  " + "\n  ".join(problems)
    )
