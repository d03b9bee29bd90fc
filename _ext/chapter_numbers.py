"""Every chapter is numbered by its file name, even while a chapter before it is missing.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). Sphinx numbers the chapters of a
numbered table of contents one after another, so while chapter 12 is not written yet,
``chapters/13_challenges`` would be shown as chapter 12, with its sections 12.1, 12.2, ...
and its exercises "Exercise 12.1", while the course map and every cross-reference call it
chapter 13. After Sphinx has assigned the numbers (its ``env-get-updated`` handler), this
extension replaces the leading number of every section and every numbered item (figures,
tables, exercises) of a page ``chapters/NN_*`` by ``NN``, in the page, its table of contents,
the sidebar and the previous/next links of the pages around it.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx

CHAPTER = re.compile(r"chapters/(\d\d)_")


def chapter_number(docname: str) -> int | None:
    """The number in a chapter's file name (``chapters/13_challenges`` -> 13), else None."""
    found = CHAPTER.match(docname)
    return int(found.group(1)) if found else None


def _renumber(numbers: tuple, chapter: int) -> tuple:
    return (chapter, *numbers[1:]) if numbers else numbers


def _number_by_file_name(app: Sphinx, env) -> list[str]:
    changed = []
    for docname, sections in env.toc_secnumbers.items():
        chapter = chapter_number(docname)
        if chapter is None:
            continue
        renumbered = {anchor: _renumber(n, chapter) for anchor, n in sections.items()}
        if renumbered != sections:
            env.toc_secnumbers[docname] = renumbered
            changed.append(docname)
        # the title node gives the number shown in the other pages' previous/next links
        title = env.titles.get(docname)
        if title is not None and title.get("secnumber"):
            title["secnumber"] = list(_renumber(tuple(title["secnumber"]), chapter))
        # the page's own contents and the sidebar are drawn from these toc nodes
        for reference in env.tocs[docname].findall(nodes.reference):
            if reference.get("secnumber"):
                reference["secnumber"] = _renumber(tuple(reference["secnumber"]), chapter)
    for docname, kinds in env.toc_fignumbers.items():
        chapter = chapter_number(docname)
        if chapter is None:
            continue
        for kind, items in kinds.items():
            kinds[kind] = {key: _renumber(n, chapter) for key, n in items.items()}
    return changed


def setup(app: Sphinx) -> dict:
    # after Sphinx's own TocTreeCollector (priority 500) has assigned the numbers
    app.connect("env-get-updated", _number_by_file_name, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
