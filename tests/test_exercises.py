"""Every exercise's self-check can pass, can fail and is neutral as shipped.

An exercise in a chapter is three things (DESIGN.md):

- a ``{exercise}`` directive with a label, and a ``{solution}`` directive for the same
  label (hidden in a dropdown) whose first code block is a complete answer;
- an **answer cell**: a code cell holding only the learner's lines, stored with the
  placeholder ``...`` (or a function body that raises ``NotImplementedError``), and
  ``{"dlcv": {"exercise": <label>, "wrong": <source>}}`` in its metadata, where
  ``wrong`` is a plausible mistake;
- one or more **check cells**: the code cells after the answer cell, up to the next
  Markdown cell, printing one ✅/❌/⬜ line each (``dlcv.check``).

The static test reads the stored notebooks: every exercise has its answer cell, its
solution and its wrong answer, and the stored checks print only the neutral line. The
slow test runs each chapter in a kernel and, at each answer cell, runs the checks three
times: with the placeholder (only ⬜), the wrong answer (❌ with a hint, no ⬜; it may pass
some of an exercise's other checks) and the solution (only ✅). The solution stays in the
kernel for the cells after it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dlcv.check import NOT_ANSWERED

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
# Chapters whose exercises follow the contract; the second edition converts them one by one.
CONVERTED = {
    "01_evolution",
    "02_convolution",
    "03_conv_layers",
    "04_pooling",
    "05_translation_invariance",
    "06_training_cnn",
    "07_augmentation",
    "08_feature_extraction",
    "09_fine_tuning",
    "10_face_recognition",
    "11_autonomous_driving",
    "12_vision_language_robotics",
    "13_challenges",
    "14_future_directions",
    "15_ethics",
}
NOTEBOOKS = [p for p in sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb")) if p.stem in CONVERTED]
EXERCISE = re.compile(r"```+\{exercise\}\s*\n:label:\s*(\S+)")
SOLUTION = re.compile(r"(`{3,})\{solution\}\s+(\S+)\n(.*?)\n\1", re.S)
CODE = re.compile(r"```python\n(.*?)\n```", re.S)
MARKS = {"pass": "✅", "fail": "❌", "neutral": NOT_ANSWERED}


def solutions(nb) -> dict[str, str]:
    """Solution code by exercise label: the first ```python block of each {solution}."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for _, label, body in SOLUTION.findall(cell.source):
            code = CODE.search(body)
            found[label] = code.group(1) if code else None
    return found


def exercises(nb) -> list[tuple[str, int, list[int]]]:
    """(label, answer cell index, check cell indices) for every answer cell."""
    found = []
    for i, cell in enumerate(nb.cells):
        label = cell.metadata.get("dlcv", {}).get("exercise")
        if cell.cell_type != "code" or label is None:
            continue
        checks = []
        for j in range(i + 1, len(nb.cells)):
            if nb.cells[j].cell_type != "code":
                break
            checks.append(j)
        found.append((label, i, checks))
    return found


def verdicts(text: str) -> set[str]:
    return {kind for kind, mark in MARKS.items() if mark in text}


def stream_text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_is_wired_and_stored_unanswered(path):
    nb = nbformat.read(path, as_version=4)
    labels = [m for c in nb.cells if c.cell_type == "markdown" for m in EXERCISE.findall(c.source)]
    assert labels, f"{path.name}: no {{exercise}} directive"
    code = solutions(nb)
    wired = {label: (i, checks) for label, i, checks in exercises(nb)}
    for label in labels:
        assert label in wired, (
            f"{path.name}: exercise {label} has no answer cell (a code cell with "
            f'metadata {{"dlcv": {{"exercise": "{label}", "wrong": ...}}}})'
        )
        assert code.get(label), f"{path.name}: the solution of {label} has no ```python block"
        i, checks = wired[label]
        assert nb.cells[i].metadata["dlcv"].get("wrong"), f"{label}: no wrong answer in metadata"
        assert checks, f"{path.name}: exercise {label} has no check cell after its answer cell"
        stored = "".join(stream_text(nb.cells[j].outputs) for j in [i, *checks])
        assert verdicts(stored) == {"neutral"}, (
            f"{path.name}: {label} is stored with {stored!r}; store it unanswered "
            "(placeholder in the answer cell, the neutral line in its check)"
        )
    assert set(wired) <= set(labels), f"{path.name}: answer cells for unknown exercises"


class Runner:
    """Execute a notebook's cells one by one in a fresh kernel, from chapters/."""

    def __init__(self, nb):
        self.nb = nb
        self.client = NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(CHAPTERS)}}
        )

    def run(self, source: str, index: int) -> str:
        cell = nbformat.v4.new_code_cell(source)
        self.client.execute_cell(cell, index)  # raises CellExecutionError on an error
        return stream_text(cell.outputs)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_check_passes_fails_and_stays_neutral(path):
    nb = nbformat.read(path, as_version=4)
    code = solutions(nb)
    blocks = {i: (label, checks) for label, i, checks in exercises(nb)}
    skip: set[int] = set()
    runner = Runner(nb)
    with runner.client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or i in skip:
                continue
            if i not in blocks:
                runner.run(cell.source, i)
                continue
            label, checks = blocks[i]
            skip.update(checks)
            variants = [
                ("neutral", cell.source),
                ("fail", cell.metadata["dlcv"]["wrong"]),
                ("pass", code[label]),
            ]
            for expected, source in variants:
                out = runner.run(source, i)
                out += "".join(runner.run(nb.cells[j].source, j) for j in checks)
                got = verdicts(out)
                ok = (
                    ("fail" in got and "neutral" not in got)
                    if expected == "fail"
                    else (got == {expected})
                )
                assert ok, f"{path.name}: {label} with the {expected!r} answer printed {out!r}"
