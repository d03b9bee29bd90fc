"""The widgets with a live kernel: change a control in the browser, the picture changes.

One chapter at a time is served by Voila on 127.0.0.1 (a fresh kernel of this
environment runs the notebook top to bottom), Debian's Chromium opens it through
Playwright with every non-local request blocked, and the test changes

* the kernel preset of the convolution chapter's kernel editor (chapter 02), and
* the pool (window) size of the pooling chapter's explorer (chapter 04, once written),

several times, checking each time that an image of that widget shows new bytes.
``benchmarks/bench_live_widgets.py`` times the same round trip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_harness import (
    CHANGE_AND_TIME_JS,
    IMAGE_DIGESTS_JS,
    LIVE_CASES,
    change_values,
    open_live_widget,
    voila_server,
)

pytestmark = pytest.mark.slow

CHANGES = 6
CHANGE_TIMEOUT_MS = 30_000
REQUIRED = {"chapters/02_convolution.ipynb"}  # written with this test; chapter 04 follows later


@pytest.mark.parametrize("case", LIVE_CASES, ids=lambda c: Path(c.notebook).stem)
def test_changing_the_control_changes_the_picture(browser, case):
    if not case.path.exists():
        if case.notebook in REQUIRED:
            pytest.fail(f"{case.notebook} is missing")
        pytest.skip(f"{case.notebook} is not written yet")
    with voila_server(case.path) as url:
        page, info, log = open_live_widget(browser, case, url)
        try:
            assert info["found"], (
                f"{case.notebook}: no widget with a control labelled {case.label!r} next to an "
                f"image; labels on the page: {info.get('labels')}"
            )
            before = page.evaluate(IMAGE_DIGESTS_JS)
            for value in change_values(case, info, CHANGES, current=info["value"]):
                page.evaluate(CHANGE_AND_TIME_JS, [case.kind, value, CHANGE_TIMEOUT_MS])
                after = page.evaluate(IMAGE_DIGESTS_JS)
                assert after != before, (
                    f"{case.notebook}: setting {case.label} to {value} left every image unchanged"
                )
                before = after
            tracebacks = page.locator("text=Traceback (most recent call last)").count()
            assert tracebacks == 0, f"{case.notebook}: the live page shows a Python traceback"
        finally:
            page.close()
