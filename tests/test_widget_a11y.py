"""Every widget, as a learner with a screen reader, a keyboard or a phone meets it, in Chromium.

Two ways a widget reaches a browser, both checked with Debian's Chromium (Playwright):

* **The static book.** Each widget of the contract test (``test_widget_contract.WIDGETS``)
  is built here, its widget state embedded in a page that loads the book's own widget
  manager (``_static``: require.js, ``widgets-glue.js``, the vendored ``embed-amd.js``),
  as the built book renders the stored state of an executed chapter. In Chrome's
  accessibility tree (the Chrome DevTools Protocol's ``Accessibility.getFullAXTree``,
  what a screen reader reads) every control has a name, the one the widget gives it
  (:func:`dlcv.widgets.base.accessible_name`: its visible label), and every picture its
  text alternative (:attr:`dlcv.widgets.base.Picture.alt`). On a 390 px wide viewport (a
  phone) no element of the widget reaches past the page's right edge.
* **A live kernel.** Chapter 04 served by Voila: with the keyboard alone (Tab), the
  pooling explorer's window slider is reached by its name; the arrow key changes it; the
  output picture changes, and so does its text alternative.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import ipywidgets as widgets
import pytest
from ipywidgets.embed import embed_data

from browser_harness import (
    EXPLORER_READY_JS,
    NAMED_ROLES,
    ROOT,
    ax_nodes,
    control_role,
    missing_from_tree,
    serve_directory,
    tab_to,
    voila_server,
    watch,
)
from dlcv.widgets.base import Picture, accessible_name, controls
from test_widget_contract import WIDGETS

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
RENDER_TIMEOUT_MS = 60_000

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="_static/vendor/requirejs/require.js"></script>
<script src="_static/widgets-glue.js"></script>
<script src="_static/vendor/ipywidgets/embed-amd.js"></script>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
</head><body><main><h1>{title}</h1>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
</main></body></html>
"""

# Elements of the widget whose right edge lies past the page's (the viewport's) width.
TOO_WIDE_JS = """() => {
  const width = document.documentElement.clientWidth;
  const root = document.querySelector('.dlcv-explorer');
  const clipped = el => {  // inside a box of its own that scrolls (or clips) and fits
    for (let a = el.parentElement; a && a !== root.parentElement; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o !== 'visible' && a.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  return Array.from(root.querySelectorAll('*')).filter(el => !clipped(el)).map(el => {
    const r = el.getBoundingClientRect();
    const cls = String(el.className).split(' ').slice(-2).join('.');
    return {right: Math.round(r.right), width: Math.round(r.width),
            what: el.tagName.toLowerCase() + '.' + cls};
  }).filter(e => e.width > 0 && e.right > width + 1).map(e => ({...e, page: width}));
}"""


def _role(control: widgets.Widget) -> str:
    """The ARIA role Chrome gives the control's focusable element."""
    return control_role([c.__name__ for c in type(control).__mro__])


def _static_page(folder: Path, name: str, widget: widgets.Widget) -> Path:
    """Write the page of ``widget``'s state, rendered by the book's widget manager."""
    data = embed_data(views=[widget])
    if not (folder / "_static").exists():
        shutil.copytree(ROOT / "_static", folder / "_static")
    path = folder / (re.sub(r"\W+", "-", name) + ".html")
    path.write_text(
        PAGE.format(
            title=name,
            state=json.dumps(data["manager_state"]).replace("</", "<\\/"),
            view=json.dumps(data["view_specs"][0]),
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Every widget of the contract test as a static page: ``{name: (url, widget)}``."""
    folder = tmp_path_factory.mktemp("widget-pages")
    built = {name: make() for name, (make, _) in WIDGETS.items()}
    paths = {name: _static_page(folder, name, w) for name, w in built.items()}
    with serve_directory(folder) as url:
        yield {name: (url + paths[name].name, built[name]) for name in built}


WIDGET_NAMES = list(WIDGETS)
"""Every widget of the contract test, so a new widget is checked here without a second list."""


def _open(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    log = watch(page, block_external=True)
    page.goto(url, wait_until="load")
    page.wait_for_function(EXPLORER_READY_JS, timeout=RENDER_TIMEOUT_MS)
    return page, log


@pytest.mark.parametrize("name", WIDGET_NAMES)
def test_static_widget_names_every_control_and_picture(browser, pages, name):
    url, widget = pages[name]
    page, log = _open(browser, url, {"width": 1280, "height": 900})
    try:
        nodes = ax_nodes(page)
        unnamed = [n["role"] for n in nodes if n["role"] in NAMED_ROLES and not n["name"].strip()]
        assert not unnamed, f"{name}: elements without an accessible name: {unnamed}"
        found = {(n["role"], n["name"]) for n in nodes}
        # (role, name, whether it is a range: a slider of two handles, a tuple its value)
        wanted = [
            (_role(c), accessible_name(c), isinstance(getattr(c, "value", None), tuple))
            for c in controls(widget)
        ]
        for picture in widget.pictures():
            assert isinstance(picture, Picture)
        missing = missing_from_tree(nodes, wanted, [p.alt for p in widget.pictures()])
        assert not missing, (
            f"{name}: not in the accessibility tree as (role, name): {missing}; "
            f"found {sorted(f for f in found if f[0] in NAMED_ROLES)}"
        )
        assert not log.errors, f"{name}: {log.errors}"
    finally:
        page.close()


@pytest.mark.parametrize("name", WIDGET_NAMES)
def test_static_widget_fits_a_phone(browser, pages, name):
    url, _ = pages[name]
    page, _ = _open(browser, url, PHONE)
    try:
        too_wide = page.evaluate(TOO_WIDE_JS)
        assert not too_wide, (
            f"{name}: {len(too_wide)} elements reach past the right edge of a 390 px page, "
            f"the widest: {max(too_wide, key=lambda e: e['right'])}"
        )
    finally:
        page.close()


# ---------------------------------------------------------------------- a live kernel
LIVE = ROOT / "chapters" / "04_pooling.ipynb"
SLIDER = "window"
OUTPUT_ALT_JS = """() => {
  const img = Array.from(document.querySelectorAll('.dlcv-explorer img'))
    .find(i => (i.alt || '').startsWith('output of'));
  return img ? {alt: img.alt, src: img.src} : null;
}"""


def test_live_slider_by_keyboard_changes_the_picture_and_its_alt(browser):
    with voila_server(LIVE) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(RENDER_TIMEOUT_MS)
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=300_000)
            slider = page.get_by_role("slider", name=SLIDER, exact=True)
            slider.wait_for(state="visible", timeout=300_000)
            page.wait_for_function(f"() => ({OUTPUT_ALT_JS})() !== null", timeout=RENDER_TIMEOUT_MS)
            before = page.evaluate(OUTPUT_ALT_JS)
            tab_to(page, slider, f"the slider {SLIDER!r}")  # the keyboard alone
            value = slider.get_attribute("aria-valuenow")
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                f"(old) => {{ const now = ({OUTPUT_ALT_JS})(); return now && now.alt !== old; }}",
                arg=before["alt"],
                timeout=RENDER_TIMEOUT_MS,
            )
            after = page.evaluate(OUTPUT_ALT_JS)
            assert slider.get_attribute("aria-valuenow") != value
            assert after["src"] != before["src"], "the alt text changed but not the picture"
            window = int(float(value)) + 1  # one step right
            assert f"window {window}," in after["alt"], (before["alt"], after["alt"])
        finally:
            page.close()
