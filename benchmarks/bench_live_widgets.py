"""Round trip of a live widget: control changed in the browser -> new picture on screen.

Usage::

    .venv/bin/python benchmarks/bench_live_widgets.py              # every written chapter
    .venv/bin/python benchmarks/bench_live_widgets.py --changes 40

The harness of ``tests/test_live_widgets.py``: Voila serves the chapter on 127.0.0.1
with a live kernel, Debian's Chromium (Playwright) changes the control (the kernel
editor's preset in chapter 02, the pooling explorer's window in chapter 04) and times,
in the page, from the change to the last new picture of the widget decoded. Side by
side, in the same run, a reference: a bare Dropdown that swaps precomputed PNGs of the
same size in an ``ipywidgets.Image`` -- the cost of the trip itself (browser -> kernel
-> browser), with no computation. Medians over ``--changes`` changes (at least 20),
after two warm-up changes. A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import nbformat  # noqa: E402

from browser_harness import (  # noqa: E402
    CHANGE_AND_TIME_JS,
    LIVE_CASES,
    LiveCase,
    browser_unavailable,
    change_values,
    launch_browser,
    open_live_widget,
    voila_server,
)

REFERENCE_SOURCE = """\
import io

import ipywidgets as widgets
import numpy as np
from PIL import Image

rng = np.random.default_rng(0)
names = [f"picture {i}" for i in range(15)]
pictures = {}
for name in names:  # smooth random 256 x 256 pictures, PNG sizes like a photo's
    small = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(small).resize((256, 256), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    pictures[name] = buffer.getvalue()
menu = widgets.Dropdown(options=names, value=names[0], description="Preset")
view = widgets.Image(value=pictures[names[0]], format="png")
menu.observe(lambda change: setattr(view, "value", pictures[change["new"]]), names="value")
widgets.VBox([menu, view])
"""


def reference_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(REFERENCE_SOURCE)]
    path = folder / "reference_dropdown_image.ipynb"
    nbformat.write(nb, path)
    return path


def measure(browser, case: LiveCase, notebook: Path, changes: int) -> list[float]:
    """Milliseconds per change (after two warm-up changes)."""
    with voila_server(notebook) as url:
        page, info, _ = open_live_widget(browser, case, url)
        try:
            if not info["found"]:
                raise RuntimeError(
                    f"{notebook.name}: no control {case.label!r}; labels: {info.get('labels')}"
                )
            times = [
                page.evaluate(CHANGE_AND_TIME_JS, [case.kind, value, 30_000])
                for value in change_values(case, info, changes + 2, current=info["value"])
            ]
        finally:
            page.close()
    return times[2:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--changes", type=int, default=25, help="timed changes per widget (at least 20)"
    )
    args = parser.parse_args()
    if args.changes < 20:
        parser.error("--changes must be at least 20")
    reason = browser_unavailable()
    if reason:
        print(f"skipped: {reason}")
        return 0
    import voila
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = launch_browser(playwright)
        try:
            print(
                f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
                f"load {os.getloadavg()[0]:.1f} at start"
            )
            print(
                f"- Chromium {browser.version}, Voila {voila.__version__}, "
                f"Python {platform.python_version()}"
            )
            print(
                f"- {args.changes} timed changes per widget, after 2 warm-up changes\n", flush=True
            )
            reference = LiveCase("reference", label="Preset", kind="dropdown")
            rows.append(
                (
                    "reference: Dropdown -> Image, precomputed 256x256 PNGs",
                    measure(browser, reference, reference_notebook(Path(scratch)), args.changes),
                )
            )
            for case in LIVE_CASES:
                if not case.path.exists():
                    print(f"(skipped {case.notebook}: not written yet)")
                    continue
                rows.append(
                    (
                        f"{Path(case.notebook).stem}: control {case.label!r}",
                        measure(browser, case, case.path, args.changes),
                    )
                )
        finally:
            browser.close()

    base = statistics.median(rows[0][1])
    print("#### Round trip: control changed in the browser -> last new picture decoded\n")
    print("| widget: control changed | median | p10 | p90 | changes | median / reference |")
    print("|---|---|---|---|---|---|")
    for name, times in rows:
        q = statistics.quantiles(times, n=10)
        median = statistics.median(times)
        print(
            f"| {name} | {median:.0f} ms | {q[0]:.0f} ms | {q[-1]:.0f} ms | {len(times)} "
            f"| {median / base:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
