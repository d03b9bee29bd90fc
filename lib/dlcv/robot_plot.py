"""Pictures of chapter 12's pipeline (:mod:`dlcv.robot`): a command, what was seen, chosen, done.

* :func:`draw_choice`: the camera image perception saw, every candidate's crop box with its
  index and predicted kind, the chosen one thick and solid, the others thin and dashed.
* :func:`draw_scores`: the grounder's score of each candidate as horizontal bars, the
  chosen bar highlighted, the embedding's "nothing matches" threshold as a line, and a
  note when the command has no known word (every score NaN).
* :func:`draw_strip`: frames of the pick, each titled with its stage
  (:data:`dlcv.tabletop.GRASP_STAGES`).
* :func:`robot_figure`: the static small-multiples figure beside the chapter's command
  explorer, one row per example (:func:`robot_examples` builds them).

The chosen candidate differs from the others by line width, dash *and* colour, never by
colour alone; the objects themselves are painted in the Okabe-Ito colours, so the boxes
are drawn in black and grey, which none of the objects is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlcv import robot
from dlcv.plot import OKABE_ITO
from dlcv.tabletop import Camera, make_scene
from dlcv.validate import check_choice, check_int

__all__ = [
    "FIGURE_STAGES",
    "candidate_label",
    "draw_choice",
    "draw_scores",
    "draw_strip",
    "outcome",
    "robot_examples",
    "robot_figure",
]

FIGURE_STAGES = ("above", "closed", "held")
"""The moments of a pick the static figure shows."""

CHOSEN = {"color": "black", "linewidth": 2.6, "linestyle": "-"}
OTHER = {"color": "#555555", "linewidth": 1.0, "linestyle": (0, (3, 2))}
BAR_CHOSEN = OKABE_ITO[4]  # vermilion, hatched
BAR_OTHER = OKABE_ITO[1]  # sky blue
_HALO = [patheffects.withStroke(linewidth=4.5, foreground="white")]


def _check_attempt(attempt) -> robot.Attempt:
    if not isinstance(attempt, robot.Attempt):
        raise TypeError("attempt must be a dlcv.robot.Attempt (robot.carry_out or robot.attempt), "
                        f"got {type(attempt).__name__}")  # fmt: skip
    return attempt


def _check_ax(ax, name: str = "ax") -> Axes:
    if not isinstance(ax, Axes):
        raise TypeError(f"{name} must be a Matplotlib Axes, got {type(ax).__name__}")
    return ax


def candidate_label(attempt, index) -> str:
    """``"0: mug (red)"``: candidate ``index`` of ``attempt``, its predicted kind and colour."""
    c = _check_attempt(attempt).seen.candidates
    index = check_int(index, "index", 0)
    if index >= len(c.kinds):
        raise ValueError(f"index must be below the number of candidates {len(c.kinds)}, "
                         f"got {index}")  # fmt: skip
    return f"{index}: {c.kinds[index]} ({c.colours[index]})"


def draw_choice(ax, attempt, command: str) -> Axes:
    """The camera image of ``attempt`` with every candidate's box on ``ax``; title ``command``.

    Boxes are ``attempt.seen.boxes`` ``(i0, j0, i1, j1)`` (rows, columns; ``i1``, ``j1``
    excluded), each labelled with its index and predicted kind; the grounder's choice is
    thick, solid and black, the others thin, dashed and grey.
    """
    ax, attempt = _check_ax(ax), _check_attempt(attempt)
    if not isinstance(command, str):
        raise TypeError(f"command must be a string, got {type(command).__name__}")
    seen, choice = attempt.seen, attempt.grounding.choice
    rgb = seen.frame.rgb
    h, w = rgb.shape[:2]
    ax.imshow(rgb, extent=(0, w, h, 0), interpolation="nearest")
    order = [k for k in range(len(seen.boxes)) if k != choice] + ([choice] if choice is not None
                                                                  else [])  # fmt: skip
    for k in order:
        i0, j0, i1, j1 = (float(v) for v in seen.boxes[k])
        style = CHOSEN if k == choice else OTHER
        ax.add_patch(_rectangle(j0, i0, j1 - j0, i1 - i0, style))
        text = ax.text(j0, max(i0 - 1.5, 4.0), f"{k} {seen.candidates.kinds[k]}",
                       fontsize=7.5 if k == choice else 6.5, va="bottom", ha="left",
                       fontweight="bold" if k == choice else "normal", color="black")  # fmt: skip
        text.set_path_effects([patheffects.withStroke(linewidth=2.5, foreground="white")])
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xlabel("column (pixel)", fontsize=8)
    ax.set_ylabel("row (pixel)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"“{_short(command)}”", fontsize=9)
    return ax


def _rectangle(x, y, width, height, style):
    from matplotlib.patches import Rectangle

    patch = Rectangle((x, y), width, height, fill=False, **style)
    if style is CHOSEN:
        patch.set_path_effects([*_HALO, patheffects.Normal()])
    return patch


def _short(text: str, size: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def draw_scores(ax, attempt, threshold=None, grounder: str | None = None) -> Axes:
    """The grounder's score of each candidate of ``attempt``, horizontal bars, on ``ax``.

    Bars are labelled ``"0: mug (red)"`` (index, predicted kind, colour); the chosen one is
    vermilion and hatched, the others sky blue. ``threshold`` (the embedding's, below which
    the answer is "nothing matches") is drawn as a dashed line. When every score is NaN
    (no word of the command is known) the panel says so instead.
    """
    ax, attempt = _check_ax(ax), _check_attempt(attempt)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
            raise TypeError(f"threshold must be a number or None, got {threshold!r}")
        if not math.isfinite(float(threshold)):
            raise ValueError(f"threshold must be finite, got {threshold!r}")
        threshold = float(threshold)
    if grounder is not None:
        check_choice(grounder, "grounder", robot.GROUNDERS)
    scores = np.asarray(attempt.grounding.scores, dtype=float)
    choice = attempt.grounding.choice
    n = len(scores)
    labels = [candidate_label(attempt, k) for k in range(n)]
    xlabel = {"embedding": "cosine similarity", "keywords": "attributes matched"}.get(
        grounder, "score"
    )
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("candidate", fontsize=8)
    ax.tick_params(labelsize=7)
    if n == 0 or np.isnan(scores).all():
        why = "perception found no object" if n == 0 else "no word of the command is known"
        ax.text(0.5, 0.5, f"{why}:\nno scores, nothing matches", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)  # fmt: skip
        ax.set_yticks(range(n), labels)
        ax.set_ylim(n - 0.5 if n else 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.set_title("grounding scores", fontsize=9)
        return ax
    finite = np.where(np.isfinite(scores), scores, 0.0)
    colours = [BAR_CHOSEN if k == choice else BAR_OTHER for k in range(n)]
    bars = ax.barh(range(n), finite, color=colours, edgecolor="black", linewidth=0.6)
    if choice is not None:
        bars[choice].set_hatch("//")
    for k, value in enumerate(scores):
        text = "NaN" if not np.isfinite(value) else f"{value:.2f}"
        ax.text(max(finite[k], 0.0), k, f" {text}", va="center", ha="left", fontsize=7)
    ax.set_yticks(range(n), labels)
    ax.set_ylim(n - 0.5, -0.5)
    low = min(0.0, float(finite.min()), threshold if threshold is not None else 0.0)
    floor = 1.0 if grounder == "keywords" else 1e-9  # attributes come in whole numbers
    high = max(float(finite.max()), threshold if threshold is not None else 0.0, floor)
    span = high - low
    ax.set_xlim(low - 0.05 * span, high + 0.22 * span)
    ax.axvline(0, color="black", linewidth=0.6)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1.2,
                   label=f"threshold {threshold:.2f}")  # fmt: skip
        ax.legend(fontsize=7, loc="lower right")
    answer = "nothing matches" if choice is None else f"chose {choice}"
    ax.set_title(f"grounding scores: {answer}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return ax


def draw_strip(axes: Sequence, frames, stages) -> list:
    """``frames[k]`` (H, W, 3) of a pick in ``axes[k]``, titled with ``stages[k]``.

    ``axes``, ``frames`` and ``stages`` have the same length (``Pick.frames``,
    ``Pick.stages``, or a selection of them).
    """
    axes, frames, stages = list(axes), list(frames), list(stages)
    for k, ax in enumerate(axes):
        _check_ax(ax, f"axes[{k}]")
    if not (len(axes) == len(frames) == len(stages)):
        raise ValueError(f"axes, frames and stages must have the same length, got {len(axes)}, "
                         f"{len(frames)} and {len(stages)}")  # fmt: skip
    for k, (ax, frame, stage) in enumerate(zip(axes, frames, stages, strict=True)):
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames[{k}] must be an RGB image (H, W, 3), got {frame.shape}")
        ax.imshow(frame, interpolation="nearest")
        ax.set_title(str(stage), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("camera view", fontsize=7)
    return axes


def _pick_frames(attempt, wanted=FIGURE_STAGES):
    """The frames of ``wanted`` stages of ``attempt.pick`` (those it has, in order)."""
    if attempt.pick is None or not attempt.pick.frames:
        return [], []
    keep = [k for k, s in enumerate(attempt.pick.stages) if s in wanted]
    return [attempt.pick.frames[k] for k in keep], [attempt.pick.stages[k] for k in keep]


def outcome(attempt) -> str:
    """What happened, in a few words: ``"lifted 19.9 cm: success"``, ``"not picked"``..."""
    attempt = _check_attempt(attempt)
    if attempt.pick is None:
        return "nothing matches: the arm does not move" if attempt.chosen is None else (
            "not picked: " + (attempt.reason or "the arm did not move"))  # fmt: skip
    lift = 100 * attempt.judgement.lift if attempt.judgement is not None else float("nan")
    verdict = "success" if attempt.success else f"failed: {attempt.reason}"
    return f"lifted {lift:.1f} cm, {verdict}"


def robot_figure(examples) -> Figure:
    """The static figure of chapter 12's command explorer: one row per example.

    Each example is ``(command, attempt, threshold)``: the command (str), its
    :class:`dlcv.robot.Attempt` (run with ``frames_camera``), and the embedding's
    threshold, or ``None`` for the keyword grounder. Columns: the camera image with the
    choice, the grounding scores, and three frames of the pick (:data:`FIGURE_STAGES`),
    or one panel saying the arm did not move.
    """
    examples = list(examples) if not isinstance(examples, (str, bytes)) else None
    if not examples:
        raise ValueError("examples must be a non-empty list of (command, attempt, threshold)")
    for k, example in enumerate(examples):
        if not isinstance(example, tuple) or len(example) != 3:
            raise TypeError(f"examples[{k}] must be a tuple (command, attempt, threshold), "
                            f"got {example!r:.80}")  # fmt: skip
        _check_attempt(example[1])
    n = len(examples)
    fig = Figure(figsize=(12.5, 2.7 * n + 0.5), layout="constrained")
    grid = fig.add_gridspec(n, 5, width_ratios=[1.35, 1.35, 1, 1, 1])
    for r, (command, attempt, threshold) in enumerate(examples):
        draw_choice(fig.add_subplot(grid[r, 0]), attempt, command)
        grounder = "keywords" if threshold is None else "embedding"
        draw_scores(fig.add_subplot(grid[r, 1]), attempt, threshold, grounder)
        frames, stages = _pick_frames(attempt)
        if frames:
            axes = [fig.add_subplot(grid[r, 2 + k]) for k in range(len(frames))]
            draw_strip(axes, frames, stages)
            axes[0].set_ylabel(outcome(attempt), fontsize=7.5)
        else:
            ax = fig.add_subplot(grid[r, 2:])
            ax.set_xticks([])
            ax.set_yticks([])
            text = ("nothing matches: the arm does not move" if attempt.chosen is None
                    else f"the arm does not move ({attempt.reason or 'not picked'})")  # fmt: skip
            ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, transform=ax.transAxes)
            ax.set_title("the pick", fontsize=8)
    fig.suptitle("Command → camera and candidates (chosen: thick box) → grounding scores → "
                 "the pick (frames above the object, gripper closed, holding)",
                 fontsize=10)  # fmt: skip
    return fig


def robot_examples(models, cases, camera=None) -> list:
    """The examples of :func:`robot_figure`, run now: one per ``(seed, which, perception,
    grounder)`` case, ``which`` 0 (the scene's command naming one object) or 1 (naming
    nothing), from :func:`dlcv.robot.commands_for`, judged against its known target
    (:func:`dlcv.robot.attempt`), frames rendered with ``camera`` (160 x 120 by default)."""
    if not isinstance(models, robot.Models):
        raise TypeError(f"models must be a dlcv.robot.Models (robot.load_models()), "
                        f"got {type(models).__name__}")  # fmt: skip
    cases = list(cases)
    if not cases:
        raise ValueError("cases must be a non-empty list of (seed, which, perception, grounder)")
    camera = Camera(160, 120) if camera is None else camera
    examples = []
    for k, case in enumerate(cases):
        if not isinstance(case, tuple) or len(case) != 4:
            raise TypeError(f"cases[{k}] must be (seed, which, perception, grounder), "
                            f"got {case!r}")  # fmt: skip
        seed, which, perception, grounder = case
        seed, which = check_int(seed, f"cases[{k}] seed", 0), check_int(which, "which", 0)
        if which > 1:
            raise ValueError(f"cases[{k}]: which must be 0 (a command naming one object) or 1 "
                             f"(naming none), got {which}")  # fmt: skip
        check_choice(perception, "perception", robot.PERCEPTIONS)
        check_choice(grounder, "grounder", robot.GROUNDERS)
        with make_scene(seed) as scene:
            command = robot.commands_for(scene, seed)[which]
            target = None if command.target is None else scene.objects[command.target].body
            result = robot.attempt(scene, command.text, target, perception, grounder,
                                   models=models, frames_camera=camera)  # fmt: skip
        threshold = models.embedding.threshold if grounder == "embedding" else None
        examples.append((command.text, result, threshold))
    return examples
