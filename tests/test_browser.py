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

from browser_harness import ROOT, source_of, toc_docnames, watch

pytestmark = pytest.mark.slow

PAGES = toc_docnames()
SCREENSHOTS = ROOT / "_build" / "screenshots"
LOAD_TIMEOUT_MS = 60_000
RENDER_TIMEOUT_MS = 30_000

IMAGES_DONE = """() => Array.from(document.images).every(i => i.complete)"""

IMAGES_JS = """() => Array.from(document.images).map(i => ({
    src: (i.currentSrc || i.src).slice(0, 120), complete: i.complete, width: i.naturalWidth}))"""

# Each stored widget view is a <script type=...widget-view+json>; the widget manager
# renders it into the <div class="widget-subarea"> it inserts just before the script.
WIDGETS_JS = """() => Array.from(document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')).map(s => {
  let model = '?';
  try { model = JSON.parse(s.textContent).model_id; } catch (e) {}
  const area = s.previousElementSibling;
  const ok = !!area && area.classList.contains('widget-subarea');
  const box = ok ? area.getBoundingClientRect() : {width: 0, height: 0};
  const sized = ok && Array.from(area.querySelectorAll('.jupyter-widgets')).some(el => {
      const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  const text = ok ? area.textContent : '';
  const filled = ok && area.childElementCount > 0 && box.width > 0 && box.height > 0;
  return {model, rendered: filled && sized,
          error: /Error displaying widget|model not found/i.test(text)};
})"""

WIDGETS_DONE = f"""() => ({WIDGETS_JS})().every(w => w.rendered || w.error)"""

MATH_JS = """async () => {
  const nodes = Array.from(document.querySelectorAll('.math'));
  if (!nodes.length) return {count: 0};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return {count: nodes.length,
          typeset: nodes.filter(n => n.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length,
          loaded: !!(window.MathJax && MathJax.version)};
}"""

MATH_DONE = """() => {
  const nodes = Array.from(document.querySelectorAll('.math'));
  return nodes.every(n => n.querySelector('mjx-container'));
}"""


def _load(browser, site, docname: str, block_external: bool):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    log = watch(page, block_external=block_external)
    page.goto(f"{site}{docname}.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    # Images below the fold may be lazy: ask for them all, then wait (bounded).
    page.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
    )
    for done in (IMAGES_DONE, WIDGETS_DONE, MATH_DONE):
        try:
            page.wait_for_function(done, timeout=RENDER_TIMEOUT_MS)
        except Exception:  # noqa: BLE001 - the assertions below say what is missing
            pass
    return page, log


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
    page, log = _load(browser, site, docname, block_external=False)
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
    page, log = _load(browser, site, docname, block_external=True)
    try:
        problems = _check_complete(page, docname)
    finally:
        page.close()
    problems += [f"console: {e}" for e in log.errors]
    assert not problems, (
        f"{docname}.html with every non-local request blocked "
        f"(it tried: {log.external or 'nothing'}):\n  " + "\n  ".join(problems)
    )
