"""Re-execute chapter notebooks in place, storing outputs and widget state.

Usage::

    python scripts/execute_notebooks.py               # every chapter
    python scripts/execute_notebooks.py chapters/02_convolution.ipynb

Each notebook runs top to bottom in a fresh kernel of this environment, from the
``chapters/`` folder, exactly as nbval and a learner run it. Widget state is saved
into the notebook so the book, GitHub and Colab show the widgets before anything runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if not _has_widgets(nb):
        nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


def _has_widgets(nb) -> bool:
    state = nb.metadata.get("widgets", {})
    return bool(state.get("application/vnd.jupyter.widget-state+json", {}).get("state"))


def main(argv: list[str]) -> int:
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    paths = [Path(p).resolve() for p in argv] or chapters
    if not paths:
        print("No notebooks found in chapters/.", file=sys.stderr)
        return 1
    for path in paths:
        print(f"executing {path.relative_to(ROOT)} ...", flush=True)
        elapsed = execute(path)
        print(f"  done in {elapsed:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
