"""The book builds with zero warnings; every _toc.yml entry is a page; pages are self-contained.

The build runs once per session (``book`` fixture in conftest.py): from a clean temporary
folder, with warnings as errors, exactly the command the README's ``make book`` runs.
Pages are discovered from ``_toc.yml``, so every chapter added later is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from browser_harness import ROOT, source_of, toc_docnames

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_JS = ["vendor/requirejs/require.js", "widgets-glue.js", "vendor/ipywidgets/embed-amd.js"]
MATHJAX = "vendor/mathjax/tex-mml-chtml.js"
# Reading chapters (DESIGN.md: chapter 16 needs no widget or exercises): no exercise is
# required of them; test_references.py and test_resources.py check what they do carry.
READING_CHAPTERS = {"chapters/16_resources"}


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(book_html) -> dict[str, BeautifulSoup]:
    return {
        d: _soup(book_html / f"{d}.html")
        for d in toc_docnames()
        if (book_html / f"{d}.html").exists()
    }


def _static_name(src: str) -> str:
    """'../_static/vendor/x.js?v=1' -> 'vendor/x.js'."""
    return src.split("?")[0].split("_static/", 1)[-1]


@pytest.mark.slow
def test_build_succeeds_with_zero_warnings(book):
    log = ANSI.sub("", book.log)
    problems = [
        line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)
    ]
    assert book.returncode == 0 and not problems, (
        f"`{' '.join(book.command)}` exited with {book.returncode} "
        f"and {len(problems)} warnings/errors:\n"
        + "\n".join(problems[:50])
        + f"\n--- end of the build log ---\n{log[-3000:]}"
    )
    assert "build succeeded" in log


def test_every_toc_entry_has_a_source():
    missing = [d for d in toc_docnames() if source_of(d) is None]
    assert not missing, f"_toc.yml lists pages with no .ipynb/.md source: {missing}"


def test_every_chapter_notebook_is_in_the_toc():
    listed = set(toc_docnames())
    notebooks = sorted(
        p.relative_to(ROOT).with_suffix("").as_posix()
        for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")
    )
    orphans = [n for n in notebooks if n not in listed]
    assert not orphans, (
        f"chapter notebooks missing from _toc.yml (they would not be in the book): {orphans}"
    )


def test_bibliography_is_the_last_page():
    docnames = toc_docnames()
    assert docnames[-1] == "bibliography", (
        f"the generated bibliography should end the book, _toc.yml ends with {docnames[-1]}"
    )
    assert "```{bibliography}" in (ROOT / "bibliography.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_toc_entry_produced_a_page(book_html):
    for docname in toc_docnames():
        page = book_html / f"{docname}.html"
        assert page.exists(), f"{docname} is in _toc.yml but the build made no {page.name}"
        h1 = _soup(page).find("h1")
        assert h1 is not None and h1.get_text(strip=True), f"{docname}.html has no title (h1)"


@pytest.mark.slow
def test_pages_load_nothing_from_the_internet(book_html):
    """Scripts, stylesheets, fonts preloaded and images all come from the book itself."""
    remote = []
    for docname, soup in _pages(book_html).items():
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
            for el in soup.find_all(tag):
                url = el.get(attr) or ""
                if tag == "link" and not {"stylesheet", "preload", "modulepreload", "icon"} & set(
                    el.get("rel", [])
                ):
                    continue  # navigation links (next/prev/index) are not loaded
                if re.match(r"^(https?:)?//", url):
                    remote.append(f"{docname}: <{tag} {attr}={url}>")
    assert not remote, "pages load assets from the internet:\n" + "\n".join(remote)


@pytest.mark.slow
def test_no_script_is_included_twice(book_html):
    for docname, soup in _pages(book_html).items():
        keys = [
            s.get("src", "").split("?")[0] or s.get_text()
            for s in soup.find_all("script")
            if s.get("type") not in (WIDGET_STATE, "application/vnd.jupyter.widget-view+json")
        ]
        duplicates = {k[:80] for k in keys if keys.count(k) > 1}
        assert not duplicates, f"{docname}.html includes these scripts twice: {duplicates}"


@pytest.mark.slow
def test_widget_javascript_is_served_by_the_book_where_needed(book_html):
    """Pages with stored widgets load the vendored manager (in order); other pages do not."""
    for docname, soup in _pages(book_html).items():
        scripts = [_static_name(s["src"]) for s in soup.find_all("script", src=True)]
        has_state = soup.find("script", type=WIDGET_STATE) is not None
        loaded = [s for s in scripts if s in WIDGET_JS]
        if has_state:
            assert loaded == WIDGET_JS, (
                f"{docname}: widget scripts {loaded}, expected {WIDGET_JS} in this order"
            )
            for name in WIDGET_JS:
                assert (book_html / "_static" / name).is_file(), (
                    f"_static/{name} missing from the build"
                )
        else:
            assert not loaded, f"{docname} has no widgets but loads {loaded}"


@pytest.mark.slow
def test_mathjax_is_served_by_the_book(book_html):
    """Sphinx's default MathJax comes from a CDN; ours is vendored and complete."""
    mathjax = book_html / "_static" / MATHJAX
    assert mathjax.is_file()
    fonts = list((mathjax.parent / "output/chtml/fonts/woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "MathJax's CHTML fonts are missing from the build"
    for docname, soup in _pages(book_html).items():
        if soup.select(".math"):
            scripts = [_static_name(s["src"]) for s in soup.find_all("script", src=True)]
            assert MATHJAX in scripts, f"{docname} has maths but does not load the vendored MathJax"


def test_vendored_files_have_a_provenance():
    """Every vendored library says where it came from (package, version, licence)."""
    vendor = ROOT / "_static" / "vendor"
    provenance = (vendor / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "licence" in provenance.lower() and "version" in provenance.lower()
    for entry in sorted(vendor.iterdir()):
        if entry.name == "PROVENANCE.md":
            continue
        assert f"`{entry.name}/`" in provenance or f"`{entry.name}`" in provenance, (
            f"_static/vendor/{entry.name} is not described in _static/vendor/PROVENANCE.md"
        )


@pytest.mark.slow
def test_citations_link_to_entries_of_the_bibliography(book_html):
    bibliography = _soup(book_html / "bibliography.html")
    entries = {el["id"] for el in bibliography.select(".citation[id], [role=doc-biblioentry][id]")}
    cited = 0
    for docname, soup in _pages(book_html).items():
        for a in soup.select("a[href*='bibliography.html#']"):
            cited += 1
            anchor = a["href"].split("#", 1)[1]
            assert anchor in entries, (
                f"{docname}: citation {a.get_text()!r} links to a missing entry #{anchor}"
            )
    uses_cite = any(
        "{cite" in (source_of(d).read_text(encoding="utf-8"))
        for d in toc_docnames()
        if source_of(d)
    )
    if uses_cite:
        assert cited and entries, "chapters cite works but the bibliography page lists no entries"


@pytest.mark.slow
def test_exercises_are_numbered_per_chapter_with_hidden_solutions(book_html):
    """sphinx-exercise: each chapter has exercises numbered <chapter>.1, .2, ...; every
    exercise has a solution on the same page, hidden in a dropdown (reading chapters
    excepted: they have none)."""
    chapters = [
        d for d in toc_docnames() if d.startswith("chapters/") and d not in READING_CHAPTERS
    ]
    for docname in chapters:
        soup = _soup(book_html / f"{docname}.html")
        exercises = soup.select("div.exercise.admonition")
        assert exercises, (
            f"{docname}: no exercise (sphinx-exercise {{exercise}} directive) on the page"
        )
        numbers = [el.select_one(".caption-number").get_text(strip=True) for el in exercises]
        parsed = [re.fullmatch(r"Exercise (\d+)\.(\d+)", n) for n in numbers]
        assert all(parsed), (
            f"{docname}: exercises are numbered {numbers}, not per chapter (Exercise N.k); "
            "number the chapters in _toc.yml (numbered: true)"
        )
        chapter_numbers = {m.group(1) for m in parsed}
        assert len(chapter_numbers) == 1, (
            f"{docname}: exercises carry several chapter numbers {numbers}"
        )
        assert [int(m.group(2)) for m in parsed] == list(range(1, len(parsed) + 1)), (
            f"{docname}: {numbers}"
        )
        solutions = soup.select("div.solution.admonition")
        solved = {
            a["href"].lstrip("#")
            for s in solutions
            for a in s.select(".admonition-title a[href^='#']")
        }
        for solution in solutions:
            assert "dropdown" in solution["class"], (
                f"{docname}: a solution is not hidden (add :class: dropdown)"
            )
        unsolved = [el["id"] for el in exercises if el.get("id") not in solved]
        assert not unsolved, f"{docname}: exercises without a solution on the page: {unsolved}"


def test_the_theme_markup_is_fixed_for_accessibility(book_html):
    """_ext/accessibility.py: no search button named only "Search" while it shows
    "Search Ctrl+K", no titled icon inside the colour-mode button, no deprecated
    bibliography role; the exercise-box link colour of _static/accessibility.css loads."""
    pages = [p for p in book_html.rglob("*.html") if "_static" not in p.parts]
    pages = [p for p in pages if p.name != "index.html"]  # index.html only redirects
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert 'title="Search" aria-label="Search"' not in text, page
        assert 'role="doc-biblioentry"' not in text, page
        assert not re.search(r'<i class="theme-switch [^>]*title=', text), page
        assert "accessibility.css" in text, page
    assert 'role="listitem"' in (book_html / "bibliography.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_chapter_is_numbered_by_its_file_name(book_html):
    """_ext/chapter_numbers.py: chapters/13_* is chapter 13 in its title, its sections, its
    exercises, the sidebar and the previous/next links of its neighbours, even while chapter
    12 is not written."""
    chapters = [d for d in toc_docnames() if d.startswith("chapters/")]
    sidebar = _soup(book_html / "intro.html")
    for docname in chapters:
        number = int(Path(docname).name[:2])
        soup = _soup(book_html / f"{docname}.html")
        title = soup.select_one("main h1 .section-number").get_text(strip=True)
        assert title == f"{number}.", f"{docname}: the title is numbered {title!r}"
        sections = [s.get_text(strip=True) for s in soup.select("main h2 .section-number")]
        assert sections and all(s.startswith(f"{number}.") for s in sections), (docname, sections)
        exercises = [e.get_text(strip=True) for e in soup.select(".exercise .caption-number")]
        assert all(e.startswith(f"Exercise {number}.") for e in exercises), (docname, exercises)
        link = sidebar.select_one(f".bd-sidenav a[href$='{Path(docname).name}.html']")
        assert link is not None and link.get_text(strip=True).startswith(f"{number}."), docname
        # the previous/next links of the pages around it
        for other in chapters:
            page = _soup(book_html / f"{other}.html")
            for side in page.select("a.left-prev, a.right-next"):
                if side.get("href", "").endswith(f"{Path(docname).name}.html"):
                    shown = side.select_one(".section-number").get_text(strip=True)
                    assert shown == f"{number}.", (other, docname, shown)
