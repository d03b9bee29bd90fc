"""Session fixtures: the book built once, a local server for it, Debian's Chromium.

The book is built ONCE per test session, from a clean temporary output folder, with
warnings as errors (``jupyter-book build <repo> --path-output <tmp> -W -n --keep-going``,
using this virtual environment's ``jupyter-book``). ``test_book.py`` checks the build;
``test_launch.py`` and ``test_browser.py`` read and load the pages it produced.

Browser tests skip with a reason when Playwright or Chromium is missing, except when
the environment sets ``DLCV_REQUIRE_BROWSER=1`` (as ``.ci/run`` does): then they fail.
"""

from __future__ import annotations

import pytest

from browser_harness import (
    REQUIRE_BROWSER,
    BookBuild,
    browser_unavailable,
    build_book,
    launch_browser,
    serve_directory,
)


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> BookBuild:
    """The book, built once per session into a fresh temporary folder."""
    return build_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def book_html(book: BookBuild):
    """The folder of built HTML pages (fails when the build produced none)."""
    if not (book.html / "index.html").exists():
        pytest.fail(
            f"the book build produced no HTML (exit code {book.returncode}):\n{book.log[-4000:]}"
        )
    return book.html


@pytest.fixture(scope="session")
def site(book_html) -> str:
    """Base URL of the built book served on 127.0.0.1 (an ephemeral port)."""
    with serve_directory(book_html) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (skipped, or failed in CI, when missing)."""
    reason = browser_unavailable()
    if reason:
        if REQUIRE_BROWSER:
            pytest.fail(f"DLCV_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
