"""Every citation resolves, and ``references.bib`` is one clean bibliography.

* Every ``{cite:p}``/``{cite:t}`` key in every page of ``_toc.yml`` (the chapters, the
  introduction, the bibliography page) is an entry of ``references.bib``; a missing or
  misspelt key fails naming the page and the key. (``test_book`` checks the same from the
  built HTML, slowly; this check needs no build.)
* ``references.bib`` parses with pybtex, has no key twice (compared as BibTeX compares them,
  ignoring case), and every entry has the fields its type needs: author (or, for a book,
  editor), title and year, the venue of its type, a way to find a ``@misc`` entry (url, doi,
  arXiv identifier), and a url for every web page whose check date (``urldate``) is given.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from pybtex.database import parse_file, parse_string

from browser_harness import ROOT, source_of, toc_docnames

BIB = ROOT / "references.bib"
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
ENTRY = re.compile(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", re.M)

#: Fields each entry type needs besides author, title and year.
VENUE = {
    "article": ("journal",),
    "book": ("publisher",),
    "inproceedings": ("booktitle",),
    "incollection": ("booktitle",),
    "phdthesis": ("school",),
    "techreport": ("institution",),
    "misc": (),
}


def page_text(path: Path) -> str:
    """The Markdown a page is made of: a notebook's Markdown cells, or the file."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def cited_keys(text: str) -> list[str]:
    """Keys of every ``{cite...}`` role in ``text``, in order (``a,b`` gives two)."""
    return [k.strip() for group in CITE.findall(text) for k in group.split(",") if k.strip()]


def unresolved(pages: dict[str, str], keys: set[str]) -> list[str]:
    """``"<page>: <key>"`` for every cited key that is not in ``keys``."""
    return [f"{page}: {key}" for page, text in pages.items() for key in cited_keys(text)
            if key not in keys]  # fmt: skip


def duplicate_keys(bib_text: str) -> list[str]:
    counts = Counter(key.lower() for _, key in ENTRY.findall(bib_text))
    return sorted(key for key, n in counts.items() if n > 1)


def entry_problems(key: str, entry) -> list[str]:
    """What an entry lacks, as ``"<key> (@type): no <field>"`` lines."""
    fields = {f.lower(): v for f, v in entry.fields.items()}
    people = {p.lower() for p in entry.persons}
    kind = entry.type.lower()
    problems = []
    if kind not in VENUE:
        problems.append(f"{key}: entry type @{kind} is not one the course uses {sorted(VENUE)}")
    if "author" not in people and not (kind == "book" and "editor" in people):
        problems.append(f"{key} (@{kind}): no author")
    for field in ("title", "year", *VENUE.get(kind, ())):
        if not fields.get(field, "").strip():
            problems.append(f"{key} (@{kind}): no {field}")
    year = fields.get("year", "")
    if year and not re.fullmatch(r"\d{4}", year.strip()):
        problems.append(f"{key} (@{kind}): year {year!r} is not a four-digit year")
    howpublished = fields.get("howpublished", "")
    findable = (
        {"url", "doi", "eprint"} & set(fields)
        or "\\url{" in howpublished
        or howpublished.startswith("arXiv:")
        or fields.get("note", "").startswith("Unpublished")
    )
    if kind == "misc" and not findable:
        problems.append(f"{key} (@misc): no url, doi or arXiv identifier to find it by")
    if "urldate" in fields and "url" not in fields:
        problems.append(f"{key} (@{kind}): a check date (urldate) but no url")
    if "urldate" in fields and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields["urldate"]):
        problems.append(f"{key} (@{kind}): urldate {fields['urldate']!r} is not YYYY-MM-DD")
    return problems


# ------------------------------------------------------------------------- the real files
PAGES = {d: page_text(source_of(d)) for d in toc_docnames() if source_of(d) is not None}
BIB_TEXT = BIB.read_text(encoding="utf-8")


def test_references_bib_parses():
    database = parse_file(BIB)
    assert len(database.entries) >= 100


def test_no_key_twice():
    twice = duplicate_keys(BIB_TEXT)
    assert not twice, f"references.bib has these keys more than once: {twice}"


def test_every_entry_has_the_fields_its_type_needs():
    problems = [p for k, e in parse_file(BIB).entries.items() for p in entry_problems(k, e)]
    assert not problems, "references.bib:\n" + "\n".join(problems)


@pytest.mark.parametrize("docname", sorted(PAGES))
def test_every_citation_resolves(docname):
    keys = set(parse_file(BIB).entries)
    missing = unresolved({docname: PAGES[docname]}, keys)
    assert not missing, (
        "cited but not in references.bib (add the entry or fix the key):\n" + "\n".join(missing)
    )


def test_the_pages_cite_something():
    """The regular expression finds the citations (if it broke, every page would pass)."""
    assert sum(len(cited_keys(t)) for t in PAGES.values()) > 100
    assert cited_keys("see {cite:p}`a2000x, b2001y` and {cite:t}`c` and {cite}`d`") == [
        "a2000x", "b2001y", "c", "d"]  # fmt: skip


# ------------------------------------------------------------------ the checks themselves
def test_a_missing_key_names_the_page_and_the_key():
    pages = {"chapters/99_demo": "As {cite:t}`lecun1998gradient` and {cite:p}`lecun1998gradiant`"}
    assert unresolved(pages, {"lecun1998gradient"}) == ["chapters/99_demo: lecun1998gradiant"]


def test_a_key_twice_is_found_whatever_its_case():
    text = "@misc{a2000x,\n title={A}}\n@book{b2001y,\n title={B}}\n@article{A2000x,\n title={C}}\n"
    assert duplicate_keys(text) == ["a2000x"]


def test_a_damaged_entry_is_named():
    entry = parse_string(
        "@inproceedings{x2020y,\n  title = {T},\n  year = {20x0}\n}\n@misc{web2026z,\n"
        "  author = {{Someone}},\n  title = {A page},\n  year = {2026},\n"
        "  urldate = {2026-12-07}\n}\n",
        "bibtex",
    ).entries
    assert entry_problems("x2020y", entry["x2020y"]) == [
        "x2020y (@inproceedings): no author",
        "x2020y (@inproceedings): no booktitle",
        "x2020y (@inproceedings): year '20x0' is not a four-digit year",
    ]
    assert entry_problems("web2026z", entry["web2026z"]) == [
        "web2026z (@misc): no url, doi or arXiv identifier to find it by",
        "web2026z (@misc): a check date (urldate) but no url",
    ]


def test_a_notebook_page_is_read_from_its_markdown_cells(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("{cite:p}`kept2000a`"),
            nbformat.v4.new_code_cell("# {cite:p}`ignored2000b` in code is not a citation"),
        ]
    )
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    assert cited_keys(page_text(path)) == ["kept2000a"]
