"""From words and a camera image to a lifted object: chapter 12's pipeline, end to end.

The three steps of the chapter, chained and judged:

1. **Perceive** (:func:`perceive`): the candidates on the table, each with a crop, its
   column in the image, a kind name and a grasp point. ``"perfect"`` perception reads the
   segmentation mask and the simulator's true kinds and centres (the upper bound);
   ``"cnn"`` and ``"histogram"`` find the objects in RGB and depth alone
   (:func:`dlcv.perception.propose`) and name their kinds with the shipped CNN or the
   colour-histogram baseline.
2. **Ground** (:func:`ground`): the candidate the command means, by the keyword baseline
   (:func:`dlcv.grounding.keyword_ground`) or the CLIP-style embedding
   (:class:`dlcv.grounding.GroundingModel`), or "nothing matches".
3. **Act** (:func:`attempt`): the arm picks the chosen candidate at its grasp point
   (:func:`dlcv.tabletop.pick`); :func:`dlcv.tabletop.judge` decides from where the
   objects ended up, never from what the planner said.

A failure is put down to the first step that went wrong (:data:`REASONS`): the named object
was not among the candidates (``"not found"``), the grounder said "nothing matches"
(``"nothing chosen"``) or chose another candidate (``"wrong object"``, also when the arm
lifted another object), then the pick's own failures. A command that names nothing on the
table succeeds when the answer is "nothing matches", and no arm moves.

``scripts/robot_experiment.py`` runs every combination of :data:`PERCEPTIONS` and
:data:`GROUNDERS` on the scenes of :data:`SCENE_SEEDS` (disjoint from those the models
were trained and chosen on) and writes ``robot_results.csv``, one row per attempt
(:data:`RESULTS_COLUMNS`), read back by :func:`load_results`; any row can be re-run
(:func:`run_row`) and gives the same values.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from dlcv.grid import check_rows, read_results
from dlcv.grounding import (
    HELD_OUT_COMBINATIONS,
    Candidates,
    Grounding,
    GroundingModel,
    generate_commands,
    keyword_ground,
    load_grounding_model,
    scene_candidates,
)
from dlcv.perception import (
    HistogramNamer,
    as_candidates,
    load_histogram_namer,
    load_kind_cnn,
    match_proposals,
    name_kinds,
    propose,
)
from dlcv.tabletop import (
    Camera,
    Frame,
    Judgement,
    Pick,
    Scene,
    judge,
    make_scene,
    pick,
    render,
    world_to_pixel,
)
from dlcv.validate import check_choice, check_int

__all__ = [
    "GROUNDERS",
    "PERCEPTIONS",
    "REASONS",
    "RESULTS_COLUMNS",
    "RESULTS_FILE",
    "SCENE_SEEDS",
    "Attempt",
    "Models",
    "Seen",
    "attempt",
    "carry_out",
    "commands_for",
    "decide",
    "ground",
    "load_models",
    "load_results",
    "perceive",
    "paired_test",
    "run_row",
    "success_table",
]

PERCEPTIONS = ("perfect", "cnn", "histogram")
"""Where the candidates come from: the mask and the true kinds, or RGB + depth with the
kind CNN or with the colour-histogram baseline."""

GROUNDERS = ("embedding", "keywords")
"""How the command is grounded: the CLIP-style embedding or the keyword table."""

REASONS = ("not found", "nothing chosen", "wrong object", "unreachable", "missed grasp",
           "other object moved", "picked for nothing")  # fmt: skip
"""Why an attempt failed, the first step that went wrong: perception missed the named
object; grounding said "nothing matches", or chose another candidate; then the pick's
failures (:data:`dlcv.tabletop.FAILURES`); and, for a command naming nothing on the
table, a choice where "nothing matches" was right."""

SCENE_SEEDS = range(10000, 10200)
"""The end-to-end scenes: disjoint from :data:`dlcv.grounding.SCENE_SEEDS`,
:data:`dlcv.perception.SCENE_SEEDS` and the tests' 9000s, so no model saw them."""


class Models(NamedTuple):
    """The shipped models the pipeline uses (:func:`load_models`)."""

    cnn: object
    histogram: HistogramNamer
    embedding: GroundingModel


def load_models() -> Models:
    """The shipped kind CNN, colour-histogram namer and grounding embedding."""
    return Models(load_kind_cnn(), load_histogram_namer(), load_grounding_model())


class Seen(NamedTuple):
    """What perception hands on: the ``candidates`` (their ``bodies`` say which object each
    stands for, found from the mask, for evaluation only; -1 for none), each one's grasp
    ``points`` (N, 3) in metres and crop ``boxes`` (N, 4) ``(i0, j0, i1, j1)`` in the
    ``frame`` it was seen in."""

    candidates: Candidates
    points: np.ndarray
    boxes: np.ndarray
    frame: Frame


def _mask_boxes(segmentation: np.ndarray, bodies, pad: int = 2) -> np.ndarray:
    """The padded bounding boxes of the bodies' mask pixels, as scene_candidates crops."""
    h, w = segmentation.shape
    boxes = []
    for body in bodies:
        rows, cols = np.nonzero(segmentation == body)
        boxes.append((max(rows.min() - pad, 0), max(cols.min() - pad, 0),
                      min(rows.max() + 1 + pad, h), min(cols.max() + 1 + pad, w)))  # fmt: skip
    return np.array(boxes, dtype=np.int64).reshape(-1, 4)


def _check_models(models) -> Models:
    if models is None:
        return load_models()
    if not isinstance(models, Models):
        raise TypeError(f"models must be a Models (from load_models), got {type(models).__name__}")
    return models


def perceive(scene, frame, perception="cnn", camera=None, models=None) -> Seen:
    """The candidates in ``frame``, the camera's view of ``scene``, by ``perception``.

    ``"perfect"``: the objects' mask crops (:func:`dlcv.grounding.scene_candidates`), true
    kinds and true centres as grasp points. ``"cnn"`` / ``"histogram"``: proposals from
    ``frame.rgb`` and ``frame.depth`` (:func:`dlcv.perception.propose`, the grasp rule
    chosen on validation, stored in the CNN's metadata), kinds named by that namer; the
    mask only labels which object each proposal stands for, for scoring.
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a dlcv.tabletop.Scene, got {type(scene).__name__}")
    if not isinstance(frame, Frame):
        raise TypeError(f"frame must be a dlcv.tabletop.Frame (render), got {type(frame).__name__}")
    check_choice(perception, "perception", PERCEPTIONS)
    camera = Camera() if camera is None else camera
    if perception == "perfect":
        cands = scene_candidates(scene, camera)
        points = np.array([scene.object(b).position for b in cands.bodies]).reshape(-1, 3)
        return Seen(cands, points, _mask_boxes(frame.segmentation, cands.bodies), frame)
    models = _check_models(models)
    found = propose(frame.rgb, frame.depth, camera, grasp=models.cnn.metadata.get("grasp", "top"))
    bodies = [o.body for o in scene.objects]
    positions = [o.position for o in scene.objects]
    match = match_proposals(found, frame.segmentation, bodies, positions)
    if len(found.crops) == 0:
        kinds = ()
    elif perception == "cnn":
        kinds = name_kinds(models.cnn, found.crops)[0]
    else:
        kinds = models.histogram.predict(found.crops)
    return Seen(as_candidates(found, kinds, match.assigned), found.points, found.boxes, frame)


def ground(command, seen, grounder="embedding", models=None) -> Grounding:
    """The candidate of ``seen`` that ``command`` means, by ``grounder`` (:data:`GROUNDERS`).
    With no candidate at all the answer is "nothing matches"."""
    if not isinstance(seen, Seen):
        raise TypeError(f"seen must be a Seen (from perceive), got {type(seen).__name__}")
    check_choice(grounder, "grounder", GROUNDERS)
    if not isinstance(command, str):
        raise TypeError(f"command must be a string, got {type(command).__name__}")
    c = seen.candidates
    if len(c.crops) == 0:
        return Grounding(np.zeros(0), None, "perception found no object on the table")
    if grounder == "keywords":
        return keyword_ground(command, c.crops, c.columns, c.kinds)
    return _check_models(models).embedding.ground(command, c.crops, c.columns)


class Attempt(NamedTuple):
    """One command carried out: what was ``seen``, the ``grounding``, the body ``chosen``
    (``None`` for "nothing matches", -1 for a proposal that is no object), the ``pick``
    (``None`` when nothing was picked) and its ``judgement``, the ``success`` and the
    ``reason`` of a failure (one of :data:`REASONS`; ``""`` on success)."""

    seen: Seen
    grounding: Grounding
    chosen: int | None
    pick: Pick | None
    judgement: Judgement | None
    success: bool
    reason: str


def attempt(scene, command, target, perception="cnn", grounder="embedding", camera=None,
            models=None, frames_camera=None) -> Attempt:  # fmt: skip
    """Carry out ``command`` on ``scene``: render, perceive, ground, pick, judge.

    Parameters
    ----------
    scene : dlcv.tabletop.Scene
        A fresh scene (a pick moves things: make a new one for the next attempt).
    command : str
    target : int or None
        The body id the command names (for judging), ``None`` when it names nothing.
    perception, grounder : str
        Of :data:`PERCEPTIONS` and :data:`GROUNDERS`.
    camera : dlcv.tabletop.Camera, optional
        The camera perception sees with (the default camera).
    models : Models, optional
        The shipped models by default (load them once with :func:`load_models`).
    frames_camera : dlcv.tabletop.Camera, optional
        When given, the pick renders a frame at every stage with it (for the strip).
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a dlcv.tabletop.Scene, got {type(scene).__name__}")
    if target is not None:
        target = scene.object(target).body  # a ValueError naming the scene's bodies
    seen = _see(scene, perception, camera, models)
    decided = decide(command, seen, grounder, models)
    answer, chosen, bodies = decided.grounding, decided.chosen, seen.candidates.bodies
    if target is None:
        ok = chosen is None
        return Attempt(seen, answer, chosen, None, None, ok, "" if ok else "picked for nothing")
    if chosen is None:
        reason = "not found" if target not in bodies else "nothing chosen"
        return Attempt(seen, answer, None, None, None, False, reason)
    done = pick(scene, seen.points[answer.choice], camera=frames_camera)
    verdict = judge(scene, done.before, done.after, target, done.reachable)
    if verdict.success:
        reason = ""
    elif target not in bodies:
        reason = "not found"
    elif chosen != target:
        reason = "wrong object"
    else:
        reason = verdict.reason
    return Attempt(seen, answer, chosen, done, verdict, verdict.success, reason)


def _see(scene, perception, camera, models) -> Seen:
    camera = Camera() if camera is None else camera
    return perceive(scene, render(scene, camera), perception, camera, _check_models(models))


def decide(command, seen, grounder="embedding", models=None) -> Attempt:
    """Ground ``command`` in what was ``seen`` (:func:`perceive`), without moving the arm.

    The :class:`Attempt` has no pick: ``success`` False, ``reason`` "nothing chosen" when
    nothing matches, "wrong object" when the choice is a proposal that is no object, else
    empty. What :func:`carry_out` answers with ``act=False``, from a perception kept for
    several commands (the command explorer keeps one per scene and perception).
    """
    answer = ground(command, seen, grounder, models)
    chosen = None if answer.choice is None else int(seen.candidates.bodies[answer.choice])
    reason = "nothing chosen" if chosen is None else "wrong object" if chosen < 0 else ""
    return Attempt(seen, answer, chosen, None, None, False, reason)


def carry_out(scene, command, perception="cnn", grounder="embedding", camera=None,
              models=None, frames_camera=None, act=True) -> Attempt:  # fmt: skip
    """Carry out a command whose meaning nobody told us (a learner's own words).

    As :func:`attempt`, but judged against the grounder's own choice: success means the
    chosen object rose :data:`dlcv.tabletop.LIFT_HEIGHT` and nothing else moved, which says
    whether the arm did what the system decided, not whether the system understood. No
    choice ("nothing matches") or a proposal that is no object is not picked. With
    ``act=False`` the arm never moves: perceive and ground only (``success`` False, and
    ``reason`` empty when there was something to pick).
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a dlcv.tabletop.Scene, got {type(scene).__name__}")
    if not isinstance(act, (bool, np.bool_)):
        raise TypeError(f"act must be True or False, got {act!r}")
    decided = decide(command, _see(scene, perception, camera, models), grounder, models)
    if decided.chosen is None or decided.chosen < 0 or not act:
        return decided  # nothing to pick, or the arm is not to move
    seen, answer, chosen = decided.seen, decided.grounding, decided.chosen
    done = pick(scene, seen.points[answer.choice], camera=frames_camera)
    verdict = judge(scene, done.before, done.after, chosen, done.reachable)
    return Attempt(seen, answer, chosen, done, verdict, verdict.success, verdict.reason)


def commands_for(scene, seed, camera=None) -> list:
    """The two commands of the experiment for ``scene``: one naming exactly one object, one
    naming nothing on the table, phrased with :data:`dlcv.grounding.HELD_OUT_TEMPLATES`
    (no grounder was trained on those phrasings) and drawn by ``seed``. Each is a
    :class:`dlcv.grounding.Command` whose ``target`` is an index into ``scene.objects``."""
    camera = Camera() if camera is None else camera
    objects = [(o.kind, o.colour) for o in scene.objects]
    columns = [float(world_to_pixel(camera, o.position)[0]) / camera.width for o in scene.objects]
    columns = [min(max(c, 0.0), 1.0) for c in columns]
    named = generate_commands(objects, columns, 1, seed, "held_out", "all", 0.0)
    nothing = generate_commands(objects, columns, 1, seed, "held_out", "all", 1.0)
    return named + nothing


# --- The experiment's results -------------------------------------------------------------

RESULTS_FILE = "robot_results.csv"
"""The end-to-end table (``scripts/robot_experiment.py``) in ``lib/dlcv/assets``."""

RESULTS_COLUMNS = ["seed", "perception", "grounder", "command", "target", "target_kind",
                   "target_colour", "held_out_pair", "candidates", "found", "kind_right",
                   "chosen", "reachable", "lift", "others_moved", "success", "reason",
                   "seconds"]  # fmt: skip
"""One row per attempt: the scene ``seed``, the combination, the ``command``, the
``target``'s index in ``Scene.objects`` (-1: the command names nothing), its kind and
colour (blank for none) and whether that pair is one of
:data:`dlcv.grounding.HELD_OUT_COMBINATIONS` (0/1); how many ``candidates`` perception
gave, whether the target was ``found`` among them and its kind named right (0/1; blank
without a target); the ``chosen`` object's index (-1: none chosen, -2: a proposal that is no
object); the pick's ``reachable`` (0/1, blank when nothing was picked), the target's
``lift`` and the most any other object moved (m, blank when nothing was picked); the
``success`` (0/1), the ``reason`` (blank on success) and the wall time."""

_SCRIPT = "scripts/robot_experiment.py"


def run_row(seed, perception, grounder, which, models=None) -> dict:
    """Run one attempt of the experiment: scene ``seed``, ``which`` of its two commands
    (0: names one object, 1: names nothing) by ``perception`` and ``grounder``, in a fresh
    scene; the row, keyed by :data:`RESULTS_COLUMNS`."""
    seed = check_int(seed, "seed", 0)
    which = check_int(which, "which", 0)
    if which > 1:
        raise ValueError(f"which must be 0 (a command naming one object) or 1 (naming none), "
                         f"got {which}")  # fmt: skip
    models = _check_models(models)
    start = time.perf_counter()
    with make_scene(seed) as scene:
        command = commands_for(scene, seed)[which]
        index = {o.body: i for i, o in enumerate(scene.objects)}
        body = None if command.target is None else scene.objects[command.target].body
        result = attempt(scene, command.text, body, perception, grounder, models=models)
        objects = scene.objects
    c = result.seen.candidates
    row = {"seed": seed, "perception": perception, "grounder": grounder,
           "command": command.text, "target": -1, "target_kind": "", "target_colour": "",
           "held_out_pair": 0, "candidates": len(c.crops), "found": "", "kind_right": "",
           "chosen": -1 if result.chosen is None else index.get(result.chosen, -2),
           "reachable": "", "lift": "", "others_moved": "", "success": int(result.success),
           "reason": result.reason}  # fmt: skip
    if body is not None:
        target = objects[command.target]
        where = [i for i, b in enumerate(c.bodies) if b == body]
        row.update(target=command.target, target_kind=target.kind, target_colour=target.colour,
                   held_out_pair=int((target.kind, target.colour) in HELD_OUT_COMBINATIONS),
                   found=int(bool(where)),
                   kind_right=int(bool(where) and c.kinds[where[0]] == target.kind))  # fmt: skip
    if result.pick is not None:
        row.update(reachable=int(result.pick.reachable),
                   lift=round(result.judgement.lift, 4),
                   others_moved=round(result.judgement.others_moved, 4))  # fmt: skip
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def load_results(folder=None) -> tuple[list[dict], list[str]]:
    """The rows and header lines of :data:`RESULTS_FILE` (package assets by default),
    refused with a ``ValueError`` naming the row when damaged: a wrong kind of value
    (:func:`dlcv.grid.check_rows`), a combination or reason outside the known ones, a
    success with a reason or a failure without one."""
    [(rows, header)] = read_results([RESULTS_FILE], _SCRIPT, folder)
    text, maybe, name = ("text",), ("number", "blank"), ("text", "blank")
    kinds = {"perception": text, "grounder": text, "command": text, "target_kind": name,
             "target_colour": name, "found": maybe, "kind_right": maybe, "reachable": maybe,
             "lift": maybe, "others_moved": maybe, "reason": name}  # fmt: skip
    check_rows(RESULTS_FILE, rows, RESULTS_COLUMNS, kinds, _SCRIPT)
    for number, row in enumerate(rows, start=1):
        bad = None
        if row["perception"] not in PERCEPTIONS or row["grounder"] not in GROUNDERS:
            bad = f"combination {row['perception']!r} x {row['grounder']!r}"
        elif row["success"] not in (0, 1) or bool(row["success"]) == bool(row["reason"]):
            bad = f"success {row['success']!r} with reason {row['reason']!r}"
        elif row["reason"] and row["reason"] not in REASONS:
            bad = f"reason {row['reason']!r}"
        if bad:
            raise ValueError(f"{RESULTS_FILE} is damaged at row {number}: {bad}; run "
                             f"{_SCRIPT} again")  # fmt: skip
    return rows, header


def _wilson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return (float(ci.low), float(ci.high))


def success_table(rows) -> list[dict]:
    """Per combination of :data:`PERCEPTIONS` x :data:`GROUNDERS` (in that order): the
    commands naming an object (``n``), the share carried out (``success``, with its 95 %
    Wilson interval ``low``, ``high``), how many failed for each of :data:`REASONS`, and
    the share of commands naming nothing that got "nothing matches" (``refused``, of
    ``n_nothing``)."""
    table = []
    for perception in PERCEPTIONS:
        for grounder in GROUNDERS:
            mine = [r for r in rows if r["perception"] == perception and r["grounder"] == grounder]
            if not mine:
                continue
            named = [r for r in mine if r["target"] >= 0]
            nothing = [r for r in mine if r["target"] < 0]
            k = sum(r["success"] for r in named)
            low, high = _wilson(k, len(named))
            entry = {"perception": perception, "grounder": grounder, "n": len(named),
                     "success": k / len(named) if named else float("nan"), "low": low,
                     "high": high, "n_nothing": len(nothing),
                     "refused": (sum(r["success"] for r in nothing) / len(nothing)
                                 if nothing else float("nan"))}  # fmt: skip
            entry.update({reason: sum(r["reason"] == reason for r in named) for reason in REASONS
                          if reason != "picked for nothing"})  # fmt: skip
            table.append(entry)
    return table


def paired_test(rows, a, b) -> dict:
    """Do combinations ``a`` and ``b`` (each ``(perception, grounder)``) differ on the same
    commands? The exact McNemar test: among the commands naming an object that one carried
    out and the other did not, a two-sided binomial test of an even split
    (``scipy.stats.binomtest``). Returns both success counts, the discordant counts
    (``only_a``, ``only_b``) and the ``p`` value (1.0 when none is discordant)."""
    from scipy.stats import binomtest

    def outcomes(which):
        perception, grounder = which
        found = {(r["seed"], r["command"]): r["success"] for r in rows if r["target"] >= 0
                 and r["perception"] == perception and r["grounder"] == grounder}  # fmt: skip
        if not found:
            raise ValueError(f"no rows of the combination {which!r}")
        return found

    first, second = outcomes(a), outcomes(b)
    if set(first) != set(second):
        raise ValueError(f"{a!r} and {b!r} were not run on the same commands")
    only_a = sum(first[k] and not second[k] for k in first)
    only_b = sum(second[k] and not first[k] for k in first)
    p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return {"n": len(first), "a": sum(first.values()), "b": sum(second.values()),
            "only_a": only_a, "only_b": only_b, "p": float(p)}  # fmt: skip
