"""Accessibility fixes of the pinned theme's HTML (WCAG 2.1 AA), applied to every built page.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). The pydata-sphinx-theme that
Jupyter Book 1.x pins writes a few things that axe-core reports on every page; each fix
below names the rule, and ``tests/test_accessibility.py`` runs axe-core on every page:

1. ``label-content-name-mismatch`` (WCAG 2.5.3, label in name): the search buttons carry
   ``aria-label="Search"`` while their visible text is "Search Ctrl+K", so a speech-input
   user saying what they see does not match the name. The ``aria-label`` is dropped: the
   name comes from the visible text (or, for the icon-only button, from its ``title``).
2. The same rule on the colour-mode button: its three icons carry ``title`` texts ("Light",
   "Dark", "System Settings") that are not in its name ("Color mode"). The icons are
   marked ``aria-hidden`` instead (the button's tooltip still says what it does).
3. ``aria-deprecated-role`` and ``aria-required-children`` (WCAG 4.1.2, 1.3.1):
   sphinxcontrib-bibtex marks each bibliography entry ``role="doc-biblioentry"``,
   deprecated in DPUB-ARIA 1.1, so the ``role="list"`` around them has no list items.
   They become ``role="listitem"``.

Every fix counts what it replaced; if a theme upgrade changes the markup so that a fix no
longer applies, the build warns (and the book builds with warnings as errors).
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SEARCH_LABEL = re.compile(
    r'(class="[^"]*search-button__button[^"]*" title="Search") aria-label="Search"'
)
ICON_TITLE = re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"')
BIBLIOENTRY = 'role="doc-biblioentry"'


def fix_html(text: str) -> tuple[str, dict]:
    """The page ``text`` with the three fixes applied, and how many places each changed."""
    text, search = SEARCH_LABEL.subn(r"\1", text)
    text, icons = ICON_TITLE.subn(r'\1 aria-hidden="true"', text)
    entries = text.count(BIBLIOENTRY)
    text = text.replace(BIBLIOENTRY, 'role="listitem"')
    return text, {"search buttons": search, "colour-mode icons": icons, "bibliography": entries}


def _fix_pages(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    totals = {"search buttons": 0, "colour-mode icons": 0, "bibliography": 0}
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        fixed, counts = fix_html(text)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
        for key, n in counts.items():
            totals[key] += n
    for key, n in totals.items():
        if n == 0:
            logger.warning(f"accessibility: no {key} found to fix; has the theme changed?")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", _fix_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
