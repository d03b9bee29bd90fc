"""Accessibility of every page of the built book (WCAG 2.1 level AA), in Debian's Chromium.

For each page of ``_toc.yml``, served with the internet blocked and its stored widgets
rendered:

* **axe-core** (shipped inside ``axe-playwright-python``, nothing downloaded) with the rules
  tagged WCAG 2.0/2.1 A and AA, plus ``label-content-name-mismatch`` (WCAG 2.5.3, "label in
  name", which axe files as experimental): no serious or critical violation, except the
  rules listed in :data:`EXCEPTIONS`, each with its reason;
* **the keyboard**: the first Tab reaches the theme's "Skip to main content" link, and
  following it moves focus to the page's main content;
* **a phone**: at 390 CSS pixels wide (an iPhone 12-15; also what 200 % zoom makes of a
  780 px window), no visible element sticks out past the right edge of the page, unless it
  sits in a box that scrolls sideways on its own (a wide table or code block may: WCAG
  1.4.10 allows it for content that needs two dimensions). Widgets get no such exemption:
  they must wrap to the width of the page.

And axe-core on a live widget: chapter 04's pooling explorer served by Voila.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from browser_harness import ROOT, load_page, toc_docnames, voila_server

pytestmark = pytest.mark.slow

PAGES = toc_docnames()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
EXTRA_RULES = ["label-content-name-mismatch"]
BLOCKING = {"serious", "critical"}
EXCEPTIONS: dict[str, str] = {}
"""axe rule id -> why the project cannot satisfy it (none so far)."""
PHONE_WIDTH = 390

AXE = Axe()

WIDER_THAN_PAGE_JS = """(width) => {
  const scrolls = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === 'auto' || o === 'scroll') && p.scrollWidth > p.clientWidth + 1) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= width + 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed') continue;
    const off = '[hidden], .d-none, .bd-sidebar-primary, .bd-sidebar-secondary, .onlyprint';
    if (el.closest(off)) continue;
    if (!el.closest('.widget-subarea') && scrolls(el)) continue;  // widgets must wrap
    out.push({tag: el.tagName.toLowerCase(), cls: String(el.className).slice(0, 80),
              right: Math.round(r.right), text: (el.textContent || '').trim().slice(0, 60)});
  }
  return out;
}"""


def _axe(page, context=None) -> list[dict]:
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}}
    found = AXE.run(page, context=context, options=options).response["violations"]
    rules = {"runOnly": {"type": "rule", "values": EXTRA_RULES}}
    extra = AXE.run(page, context=context, options=rules)
    return found + extra.response["violations"]


def _blocking(violations) -> list[str]:
    """One line per serious or critical violation not excused in :data:`EXCEPTIONS`."""
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}; first: "
        f"{v['nodes'][0]['html'][:160]}"
        for v in violations
        if v["impact"] in BLOCKING and v["id"] not in EXCEPTIONS
    ]


@pytest.mark.parametrize("docname", PAGES)
def test_axe_finds_no_serious_or_critical_problem(browser, site, docname):
    page, _ = load_page(browser, site, docname)
    try:
        violations = _axe(page)
    finally:
        page.close()
    report = _blocking(violations)
    assert not report, f"{docname}.html:\n  " + "\n  ".join(report)


@pytest.mark.parametrize("docname", PAGES)
def test_the_first_tab_reaches_a_skip_link_that_works(browser, site, docname):
    page, _ = load_page(browser, site, docname)
    try:
        page.keyboard.press("Tab")
        link = page.evaluate(
            "() => { const a = document.activeElement; "
            "return {text: a.textContent.trim(), href: a.getAttribute('href')}; }"
        )
        assert link["text"] == "Skip to main content", f"first Tab reached {link}"
        target = link["href"].lstrip("#")
        assert page.locator(f"[id='{target}']").count() == 1, f"no element with id {target}"
        page.keyboard.press("Enter")
        inside = page.evaluate(
            "(id) => { const t = document.getElementById(id); const a = document.activeElement;"
            " return location.hash === '#' + id && (t === a || t.contains(a) ||"
            " t.getBoundingClientRect().top < window.innerHeight); }",
            target,
        )
        assert inside, f"{docname}.html: following the skip link did not reach #{target}"
    finally:
        page.close()


@pytest.mark.parametrize("docname", PAGES)
def test_nothing_is_wider_than_a_phone(browser, site, docname):
    page, _ = load_page(browser, site, docname, width=PHONE_WIDTH)
    try:
        wide = page.evaluate(WIDER_THAN_PAGE_JS, PHONE_WIDTH)
    finally:
        page.close()
    shown = [
        f"<{w['tag']} class='{w['cls']}'> ends at {w['right']} px: {w['text']!r}" for w in wide
    ]
    assert not wide, (
        f"{docname}.html at {PHONE_WIDTH} px: {len(wide)} elements stick out:\n  "
        + "\n  ".join(shown[:12])
    )


LIVE = ROOT / "chapters" / "04_pooling.ipynb"


def test_axe_finds_no_serious_or_critical_problem_in_a_live_widget(browser):
    """Chapter 04 served by Voila (a live kernel, ipywidgets 8 rendering the widgets): the
    whole page, the explorer's controls and pictures and the figures the kernel draws.
    Voila gives an image without a text alternative the word "Image" as its alt, which axe
    accepts; so the test also requires every figure's alt to be the figure's description."""
    with voila_server(LIVE) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=300_000)
            page.get_by_role("slider", name="window", exact=True).wait_for(
                state="visible", timeout=300_000
            )
            page.wait_for_function(  # the explorer drawn, its page script run
                "() => Array.from(document.querySelectorAll('.dlcv-explorer img'))"
                ".some(i => (i.alt || '').startsWith('output of'))",
                timeout=60_000,
            )
            violations = _axe(page)
            alts = page.evaluate(
                "() => Array.from(document.querySelectorAll('img'))"
                ".filter(i => !i.closest('.dlcv-explorer') && i.width > 1).map(i => i.alt)"
            )
        finally:
            page.close()
    report = _blocking(violations)
    assert not report, "04_pooling on Voila:\n  " + "\n  ".join(report)
    assert len(alts) >= 5, alts  # the chapter's figures were drawn
    assert all(alt.startswith("Figure") for alt in alts), alts
