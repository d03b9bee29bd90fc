"""Command explorer (chapter 12): type a command, watch the arm carry it out.

Choose a table top (a scene of :data:`dlcv.robot.SCENE_SEEDS`, none of which any model
saw), type a command or take a suggestion, and choose how the pipeline perceives
(:data:`dlcv.robot.PERCEPTIONS`) and grounds (:data:`dlcv.robot.GROUNDERS`). The widget
runs :func:`dlcv.robot.carry_out` on a fresh scene and shows:

* the camera image with every candidate perception found (its box, index and predicted
  kind), the grounder's choice thick (:func:`dlcv.robot_plot.draw_choice`);
* the grounder's score of each candidate, with the embedding's threshold
  (:func:`dlcv.robot_plot.draw_scores`);
* the pick, frame by frame (:func:`dlcv.robot_plot.draw_strip`), when the arm moves;
* in words: what was chosen and why, the pick's verdict and how far the object rose.

The suggestions are the scene's two commands of the experiment
(:func:`dlcv.robot.commands_for`: one naming an object, one naming nothing on the table),
for which the widget also says whether the choice was the object meant, and a few free
commands of a learner's kind. With "move the arm" off the widget only grounds the command
in what perception saw of the scene, which it keeps per scene and perception (it does not
depend on the command), and draws.

An empty command (or spaces only) is refused with a message; a command whose words no
grounder knows is not an error: the answer is "nothing matches" and the arm stays still.
Each setting is computed once (kept by scene, command, perception, grounder and arm).

Update times, measured alone on the course's 2-core machine with
``python benchmarks/bench_widgets.py -k command --repeats 20`` (a new command each time):
arm off, median 107 ms (within the course's 150 ms budget); arm on, median 586 ms, over
it, since a fresh scene (80 ms) and the simulated grasp and lift (about 0.3 s) come before
any picture; a setting seen before, about 1 ms.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcv import robot
from dlcv.render import figure_png
from dlcv.robot_plot import candidate_label, draw_choice, draw_scores, draw_strip, outcome
from dlcv.tabletop import Camera, make_scene, render
from dlcv.validate import check_choice
from dlcv.widgets.base import Explorer, Picture, panel, row

__all__ = ["FREE_COMMANDS", "MAX_COMMAND", "SEEDS", "CommandExplorer", "CommandResult"]

SEEDS = tuple(robot.SCENE_SEEDS[:20])
"""The scenes the explorer offers."""

FREE_COMMANDS = (
    "hand me the thing to drink from",
    "the toy animal on the left",
    "pick up the red cube",
    "the ball on the right",
    "give me the purple duck",
)
"""Suggestions in a learner's words, offered on every scene (they may name nothing there)."""

MAX_COMMAND = 200
"""The longest command accepted, in characters."""

CAMERA = Camera()  # what perception sees with (the default camera)
FRAMES_CAMERA = Camera(160, 120)
LONG = {"width": "520px", "max_width": "100%"}  # the command's controls, narrower on a phone
_CACHE = 24


class CommandResult(NamedTuple):
    """What :meth:`CommandExplorer.compute` returns: the setting, the
    :class:`dlcv.robot.Attempt` (with ``pick`` ``None`` when the arm did not move), the
    generated command's meaning (``meant``: ``"unknown"`` for a command not generated for
    this scene, else the body it names or ``None`` for nothing), the embedding's threshold
    (``None`` for the keywords) and the three pictures as PNG with their text alternatives."""

    seed: int
    command: str
    perception: str
    grounder: str
    arm: bool
    attempt: robot.Attempt
    meant: object
    meant_name: str
    threshold: float | None
    pngs: tuple  # choice, scores, strip
    alts: tuple


class CommandExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    models : dlcv.robot.Models, optional
        The shipped models by default (:func:`dlcv.robot.load_models`).
    seed : int
        The first scene, one of :data:`SEEDS`.
    perception, grounder : str
        The first choices, of :data:`dlcv.robot.PERCEPTIONS` and :data:`dlcv.robot.GROUNDERS`.
    dpi : float
        Resolution of the pictures.

    Attributes
    ----------
    seed, suggestions, perception, grounder : ipywidgets.Dropdown
    command : ipywidgets.Text
        The command (updates on Enter or when it loses focus).
    arm : ipywidgets.Checkbox
        Move the arm (off: perceive and ground only).
    choice, scores, strip : Picture
        The camera image with the candidates, the scores, the pick's frames (PNG).
    summary : ipywidgets.HTML
        What was chosen and why, and what the arm did.
    """

    def __init__(self, models=None, seed: int = SEEDS[0], perception: str = "cnn",
                 grounder: str = "embedding", dpi: float = 96):  # fmt: skip
        if models is None:
            models = robot.load_models()
        if not isinstance(models, robot.Models):
            raise TypeError(f"models must be a dlcv.robot.Models (robot.load_models()), "
                            f"got {type(models).__name__}")  # fmt: skip
        if seed not in SEEDS:
            raise ValueError(f"seed must be one of the explorer's scenes {SEEDS[0]}-{SEEDS[-1]}, "
                             f"got {seed!r}")  # fmt: skip
        check_choice(perception, "perception", robot.PERCEPTIONS)
        check_choice(grounder, "grounder", robot.GROUNDERS)
        super().__init__()
        self.models, self._dpi = models, dpi
        self._results: dict[tuple, CommandResult] = {}
        self._perceived: dict[tuple, robot.Seen] = {}
        self._notes: dict[str, bytes] = {}
        self._commands: dict[int, tuple] = {}
        wide = {"description_width": "initial"}
        self.seed = widgets.Dropdown(options=list(SEEDS), value=seed, description="scene",
                                     layout=widgets.Layout(width="180px"))  # fmt: skip
        generated = self._generated(seed)
        self.suggestions = widgets.Dropdown(options=self._suggestion_options(seed),
                                            value=generated[0][0], description="suggestions",
                                            layout=widgets.Layout(**LONG))  # fmt: skip
        self.command = widgets.Text(value=generated[0][0], description="command",
                                    continuous_update=False, placeholder="type a command",
                                    layout=widgets.Layout(**LONG))  # fmt: skip
        self.perception = widgets.Dropdown(options=list(robot.PERCEPTIONS), value=perception,
                                           description="perception", style=wide,
                                           layout=widgets.Layout(width="200px"))  # fmt: skip
        self.grounder = widgets.Dropdown(options=list(robot.GROUNDERS), value=grounder,
                                         description="grounder", style=wide,
                                         layout=widgets.Layout(width="200px"))  # fmt: skip
        self.arm = widgets.Checkbox(value=True, description="move the arm", indent=False)
        self.choice = Picture(format="png")
        self.scores = Picture(format="png")
        self.strip = Picture(format="png")
        self.summary = widgets.HTML()
        self.children = [
            row(self.seed, self.suggestions),
            row(self.command),
            row(self.perception, self.grounder, self.arm),
            self.message,
            row(panel("what the camera saw, and the choice", self.choice),
                panel("the grounder's scores", self.scores), align_items="flex-start"),
            panel("the pick", self.strip),
            self.summary,
        ]  # fmt: skip
        self.watch(self.perception, self.grounder, self.arm)
        self.watch(self.seed, handler=self._on_seed)
        self.watch(self.suggestions, handler=self._on_suggestion)
        self.watch(self.command, handler=self._on_command)
        self.update()

    # ------------------------------------------------------------------ controls
    def _generated(self, seed: int) -> tuple:
        """The scene's generated commands: ``((text, body or None, name), ...)``, kept."""
        if seed not in self._commands:
            with make_scene(seed) as scene:
                found = []
                for c in robot.commands_for(scene, seed):
                    if c.target is None:
                        found.append((c.text, None, "nothing on the table"))
                    else:
                        o = scene.objects[c.target]
                        found.append((c.text, o.body, f"the {o.colour} {o.kind}"))
            self._commands[seed] = tuple(found)
        return self._commands[seed]

    def _suggestion_options(self, seed: int) -> list:
        named, nothing = self._generated(seed)
        free = [(text, text) for text in FREE_COMMANDS if text not in (named[0], nothing[0])]
        return [(f"{named[0]}  (names one object)", named[0]),
                (f"{nothing[0]}  (names nothing here)", nothing[0]), *free]  # fmt: skip

    def _on_seed(self, change) -> None:
        old = [text for text, _, _ in self._generated(change["old"])]
        new = [text for text, _, _ in self._generated(change["new"])]
        with self.quiet():
            if self.command.value in old:  # a suggestion of the old scene: the new one's
                self.command.value = new[old.index(self.command.value)]
            options = self._suggestion_options(change["new"])
            self.suggestions.options = options
            self._sync_suggestion()
        self.update()

    def _sync_suggestion(self) -> None:
        values = [v for _, v in self.suggestions.options]
        self.suggestions.value = self.command.value if self.command.value in values else None

    def _on_suggestion(self, change) -> None:
        if change["new"] is None or change["new"] == self.command.value:
            return
        with self.quiet():
            self.command.value = change["new"]
        self.update()

    def _on_command(self, change) -> None:
        with self.quiet():
            self._sync_suggestion()
        self.update()

    # ------------------------------------------------------------------ compute and draw
    def _key(self) -> tuple:
        command = self.command.value
        if not isinstance(command, str):
            raise TypeError(f"the command must be text, got {type(command).__name__}")
        command = " ".join(command.split())
        if not command:
            raise ValueError("The command is empty: type what the arm should pick up, e.g. "
                             "“the red mug”, or take a suggestion")  # fmt: skip
        if len(command) > MAX_COMMAND:
            raise ValueError(f"The command is {len(command)} characters long: keep it under "
                             f"{MAX_COMMAND}, a sentence naming one object")  # fmt: skip
        if self.seed.value not in SEEDS:
            raise ValueError(f"The scene must be one of {SEEDS[0]}-{SEEDS[-1]}, "
                             f"got {self.seed.value!r}")  # fmt: skip
        perception = check_choice(self.perception.value, "perception", robot.PERCEPTIONS)
        grounder = check_choice(self.grounder.value, "grounder", robot.GROUNDERS)
        return (int(self.seed.value), command, perception, grounder, bool(self.arm.value))

    def compute(self) -> CommandResult:
        """Carry out the command on a fresh scene (kept per setting); the pictures as PNG."""
        key = self._key()
        if key not in self._results:
            self._results[key] = self._run(*key)
            while len(self._results) > _CACHE:
                del self._results[next(iter(self._results))]
        return self._results[key]

    def _seen(self, seed, perception) -> robot.Seen:
        """What ``perception`` sees in a fresh scene ``seed``, kept: it does not depend on
        the command, so a new command with the arm off needs no new scene."""
        key = (seed, perception)
        if key not in self._perceived:
            with make_scene(seed) as scene:
                frame = render(scene, CAMERA)
                self._perceived[key] = robot.perceive(scene, frame, perception, CAMERA,
                                                      self.models)  # fmt: skip
            while len(self._perceived) > _CACHE:
                del self._perceived[next(iter(self._perceived))]
        return self._perceived[key]

    def _run(self, seed, command, perception, grounder, arm) -> CommandResult:
        models = self.models
        if arm:
            with make_scene(seed) as scene:
                attempt = robot.carry_out(scene, command, perception, grounder, CAMERA,
                                          models, frames_camera=FRAMES_CAMERA)  # fmt: skip
        else:
            attempt = robot.decide(command, self._seen(seed, perception), grounder, models)
        meant, meant_name = "unknown", ""
        for text, body, name in self._generated(seed):
            if " ".join(text.split()) == command:
                meant, meant_name = body, name
        threshold = models.embedding.threshold if grounder == "embedding" else None
        pngs, alts = self._pictures(seed, command, grounder, arm, attempt, threshold)
        return CommandResult(seed, command, perception, grounder, arm, attempt, meant, meant_name,
                             threshold, pngs, alts)  # fmt: skip

    def _pictures(self, seed, command, grounder, arm, attempt, threshold):
        c, g = attempt.seen.candidates, attempt.grounding
        h, w = attempt.seen.frame.rgb.shape[:2]
        fig = Figure(figsize=(4.2, 3.4))  # fixed margins: a constrained layout costs ~20 ms
        fig.subplots_adjust(left=0.14, right=0.98, bottom=0.13, top=0.91)
        draw_choice(fig.add_subplot(), attempt, command)
        choice_png = figure_png(fig, self._dpi)
        listed = ", ".join(f"{k} {kind}" for k, kind in enumerate(c.kinds)) or "none"
        chosen = "nothing chosen"
        if g.choice is not None:
            chosen = f"chosen: candidate {candidate_label(attempt, g.choice)}, the thick box"
        choice_alt = (f"Camera image of scene {seed}, {w} by {h} pixels, for the command "
                      f"“{command}”, with {len(c.kinds)} candidate boxes ({listed}); "
                      f"{chosen}.")  # fmt: skip
        fig = Figure(figsize=(4.2, 3.4))
        fig.subplots_adjust(left=0.36, right=0.97, bottom=0.14, top=0.91)
        draw_scores(fig.add_subplot(), attempt, threshold, grounder)
        scores_png = figure_png(fig, self._dpi)
        if len(g.scores) == 0 or np.isnan(g.scores).all():
            listed = "no scores: no word of the command is known, nothing matches"
        else:
            listed = "; ".join(f"{candidate_label(attempt, k)} {s:.2f}"
                               for k, s in enumerate(g.scores))  # fmt: skip
        line = f", threshold {threshold:.2f}" if threshold is not None else ""
        scores_alt = (f"Bar chart of the {grounder} grounder's score per candidate for "
                      f"“{command}” in scene {seed}: {listed}{line}; {chosen}.")  # fmt: skip
        if attempt.pick is not None and attempt.pick.frames:
            frames, stages = attempt.pick.frames, attempt.pick.stages
            fig = Figure(figsize=(1.55 * len(frames), 1.75), layout="constrained")
            draw_strip(fig.subplots(1, len(frames), squeeze=False)[0], frames, stages)
            strip_png = figure_png(fig, self._dpi)
            strip_alt = (f"{len(frames)} camera frames of the pick in scene {seed} for "
                         f"“{command}”: {', '.join(stages)}; {outcome(attempt)}.")  # fmt: skip
        else:
            if not arm:
                why = "“move the arm” is off"
            elif attempt.chosen is None:
                why = "nothing matches"
            else:
                why = f"the choice is no object ({attempt.reason})"
            text = f"The arm did not move: {why}."
            if text not in self._notes:  # the same few sentences: drawn once each
                fig = Figure(figsize=(6.0, 0.6))
                fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=10)
                self._notes[text] = figure_png(fig, self._dpi)
            strip_png = self._notes[text]
            strip_alt = f"{text} Scene {seed}, command “{command}”."
        return (choice_png, scores_png, strip_png), (choice_alt, scores_alt, strip_alt)

    def draw(self, result: CommandResult) -> None:
        summary = _summary(result)
        for picture, png, alt in zip((self.choice, self.scores, self.strip), result.pngs,
                                     result.alts, strict=True):  # fmt: skip
            picture.alt = alt
            picture.value = png
        self.summary.value = summary


def _summary(result: CommandResult) -> str:
    a, e = result.attempt, html.escape
    c, g = a.seen.candidates, a.grounding
    lines = [f"Perception (<b>{e(result.perception)}</b>) found {len(c.kinds)} candidate"
             f"{'s' if len(c.kinds) != 1 else ''}."]  # fmt: skip
    if g.choice is None:
        lines.append(f"The <b>{e(result.grounder)}</b> grounder answers <b>nothing matches</b>: "
                     f"{e(g.reason)}.")  # fmt: skip
    else:
        lines.append(f"The <b>{e(result.grounder)}</b> grounder chose <b>candidate "
                     f"{e(candidate_label(a, g.choice))}</b>: {e(g.reason)}.")  # fmt: skip
    if len(g.scores) and not np.isnan(g.scores).all():
        scores = ", ".join(f"{k}: {s:.2f}" for k, s in enumerate(g.scores))
        line = f" (threshold {result.threshold:.2f})" if result.threshold is not None else ""
        lines.append(f"Scores: {e(scores)}{line}.")
    if a.pick is not None:
        j = a.judgement
        verdict = ("<b>success</b>: it rose and nothing else moved" if a.success else
                   f"<b>failed</b> ({e(a.reason)})")  # fmt: skip
        lines.append(f"The arm picked it: the object rose <b>{100 * j.lift:.1f} cm</b>, the "
                     f"others moved at most {100 * j.others_moved:.1f} cm: {verdict}. "
                     "<small>Judged against the grounder's own choice: whether the arm did "
                     "what the system decided.</small>")  # fmt: skip
    elif not result.arm:
        lines.append("The arm did not move (“move the arm” is off).")
    else:
        lines.append("The arm did not move.")
    if result.meant != "unknown":
        if result.meant is None:
            right = a.chosen is None
            verdict = "right ✓" if right else "wrong ✗"
            lines.append("This suggestion names nothing on the table: “nothing matches” "
                         f"is the right answer, so the pipeline was {verdict}.")  # fmt: skip
        else:
            right = a.chosen == result.meant
            verdict = "that object ✓" if right else "not that object ✗"
            lines.append(f"This suggestion was generated to name {e(result.meant_name)}: the "
                         f"choice is {verdict}.")  # fmt: skip
    return "<br>".join(lines)
