"""Time each chapter notebook top to bottom in a fresh kernel, and its slowest cells.

Usage::

    .venv/bin/python benchmarks/bench_notebooks.py                      # every chapter
    .venv/bin/python benchmarks/bench_notebooks.py chapters/01_evolution.ipynb
    .venv/bin/python benchmarks/bench_notebooks.py --top 5 --markdown   # for benchmarks/README.md

The course's budget (``DESIGN.md``): every chapter runs top to bottom in a fresh kernel
in at most :data:`CHAPTER_BUDGET_S` (60 s) on 2 cores, and no cell takes more than
:data:`CELL_BUDGET_S` (15 s). This script measures both and flags what is over.

Each notebook is executed the way ``scripts/execute_notebooks.py`` re-executes the
chapters (and nbval and a learner run them): nbclient, a fresh ``python3`` kernel of this
environment, the notebook's own folder (``chapters/``) as working directory, the same
timeout per cell, widget state collected. The executed notebook is **not** written back:
the stored outputs stay as they are.

For each chapter the table shows

* **total**: wall time of the whole execution, kernel start-up and shut-down included
  (what the 60 s budget is about);
* **in cells**: the sum of the cells' own times;
* the ``--top`` slowest cells: the cell's index in the notebook (``nb.cells[i]``,
  counting Markdown cells, from 0), the first line of its source, and its time, from
  nbclient's timing metadata (``record_timing``): ``iopub.execute_input`` to
  ``shell.execute_reply``, stamped by the kernel.

A notebook that stops with an error is reported with the cell it stopped at; the
others still run. The exit status is 0 when every notebook ran to its end, over budget
or not (this is a measurement, not a test), and 1 when one could not be executed.
Progress goes to stderr, so ``--markdown > table.md`` holds only the table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbclient
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_BUDGET_S = 60.0
CELL_BUDGET_S = 15.0
# The settings of scripts/execute_notebooks.py (its execute()): kept the same here.
KERNEL_NAME = "python3"
TIMEOUT_S = 900  # per cell


@dataclass
class Cell:
    """One executed code cell: index in ``nb.cells``, first source line, seconds."""

    index: int
    first_line: str
    seconds: float


@dataclass
class Chapter:
    """One executed notebook."""

    path: Path
    total_s: float
    cells: list[Cell] = field(default_factory=list)
    error: str | None = None  # why it stopped early, None when it ran to its end

    @property
    def cells_s(self) -> float:
        return sum(c.seconds for c in self.cells)

    def slowest(self, n: int) -> list[Cell]:
        return sorted(self.cells, key=lambda c: c.seconds, reverse=True)[:n]


def _stamp(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)  # "2024-05-01T12:00:00.123456Z"


def _first_line(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return lines[0] if lines else ""


def cell_times(nb) -> list[Cell]:
    """The code cells of an executed notebook with their kernel-side execution times."""
    cells = []
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        needed = {"iopub.execute_input", "shell.execute_reply"}
        if cell.cell_type != "code" or not needed <= timing.keys():
            continue  # Markdown, an empty cell, or one the execution never reached
        seconds = (
            _stamp(timing["shell.execute_reply"]) - _stamp(timing["iopub.execute_input"])
        ).total_seconds()
        cells.append(Cell(index, _first_line(cell.source), seconds))
    return cells


def run_notebook(path: Path) -> Chapter:
    """Execute ``path`` in memory, in a fresh kernel; never write it back."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # stored chapters keep the timings of their last execution
        cell.get("metadata", {}).pop("execution", None)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=True,
    )
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except (CellControlSignal, DeadKernelError) as exc:  # an error, a timeout, a dead kernel
        reached = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("execution")]
        where = f"cell {reached[-1]}" if reached else "before the first cell"
        name = getattr(exc, "ename", "") or type(exc).__name__  # the cell's own exception
        value = getattr(exc, "evalue", "") or (str(exc).strip().splitlines() or [""])[-1]
        error = f"stopped at {where}: {name}: {value}"
    total = time.perf_counter() - start
    return Chapter(path, total, cell_times(nb), error)


# ---------------------------------------------------------------- reporting
def _flag_chapter(chapter: Chapter) -> str:
    if chapter.error:
        return "did not finish"
    return f"OVER {CHAPTER_BUDGET_S:.0f} s" if chapter.total_s > CHAPTER_BUDGET_S else "ok"


def _cell_text(cell: Cell, width: int = 60) -> str:
    """The cell's first line, cut to ``width`` characters."""
    line = cell.first_line
    return line if len(line) <= width else line[: width - 3] + "..."


def report_text(chapters: list[Chapter], top: int) -> str:
    """A plain-text table: one line per chapter, its slowest cells indented below."""
    width = max(len(c.path.name) for c in chapters)
    lines = [f"{'chapter':<{width}}  {'total':>8}  {'in cells':>8}  budget"]
    for chapter in chapters:
        lines.append(
            f"{chapter.path.name:<{width}}  {chapter.total_s:7.1f}s  {chapter.cells_s:7.1f}s  "
            f"{_flag_chapter(chapter)}"
        )
        for cell in chapter.slowest(top):
            over = f"  OVER {CELL_BUDGET_S:.0f} s" if cell.seconds > CELL_BUDGET_S else ""
            lines.append(
                f"    cell {cell.index:>3}  {cell.seconds:6.1f}s  {_cell_text(cell)}{over}"
            )
        if chapter.error:
            lines.append(f"    {chapter.error}")
    return "\n".join(lines)


def _md(text: str) -> str:
    """``text`` as inline code in a Markdown table cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`" if text else "(empty)"


def report_markdown(chapters: list[Chapter], top: int) -> str:
    """The same as a Markdown table, for pasting into benchmarks/README.md."""
    lines = [
        f"| chapter | total (budget {CHAPTER_BUDGET_S:.0f} s) | in cells | "
        f"slowest cells: index, first line, time (budget {CELL_BUDGET_S:.0f} s) |",
        "|---|---|---|---|",
    ]
    for chapter in chapters:
        total = f"{chapter.total_s:.1f} s"
        if chapter.error:
            total += f" (**{chapter.error}**)"
        elif chapter.total_s > CHAPTER_BUDGET_S:
            total = f"**{total}, over**"
        cells = []
        for cell in chapter.slowest(top):
            seconds = f"{cell.seconds:.1f} s"
            if cell.seconds > CELL_BUDGET_S:
                seconds = f"**{seconds}, over**"
            cells.append(f"{cell.index}: {_md(_cell_text(cell, 50))} {seconds}")
        lines.append(
            f"| {chapter.path.stem} | {total} | {chapter.cells_s:.1f} s | {'; '.join(cells)} |"
        )
    return "\n".join(lines)


def header() -> str:
    return "\n".join(
        [
            f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.1f} at start",
            f"- Python {platform.python_version()}, nbclient {nbclient.__version__}, "
            f"nbformat {nbformat.__version__}, kernel {KERNEL_NAME}, "
            f"timeout {TIMEOUT_S} s per cell",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to time (default: chapters/*.ipynb)"
    )
    parser.add_argument("--top", type=int, default=3, help="slowest cells per chapter (default 3)")
    parser.add_argument(
        "--markdown", action="store_true", help="print a Markdown table (for benchmarks/README.md)"
    )
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error("--top must be 0 or more")
    paths = [p.resolve() for p in args.notebooks] or sorted(
        (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")
    )
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or not paths:
        parser.error(f"no such notebook: {', '.join(missing)}" if missing else "no notebooks found")
    print(header() + "\n", flush=True)
    chapters = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        chapter = run_notebook(path)
        print(f"  {chapter.total_s:.1f} s, {_flag_chapter(chapter)}", file=sys.stderr, flush=True)
        chapters.append(chapter)
    report = report_markdown if args.markdown else report_text
    print(report(chapters, args.top))
    return 1 if any(c.error for c in chapters) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
