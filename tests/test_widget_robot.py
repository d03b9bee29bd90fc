"""Chapter 12's command explorer (dlcv.widgets.robot) and its pictures (dlcv.robot_plot)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcv import robot
from dlcv.robot_plot import (
    draw_choice,
    draw_scores,
    draw_strip,
    robot_examples,
    robot_figure,
)
from dlcv.tabletop import Camera, make_scene
from dlcv.widgets.robot import SEEDS, CommandExplorer


@pytest.fixture(scope="module")
def models():
    return robot.load_models()


@pytest.fixture(scope="module")
def explorer(models):
    return CommandExplorer(models)


@pytest.fixture(scope="module")
def examples(models):
    return robot_examples(models, [(SEEDS[0], 0, "cnn", "embedding"),
                                   (SEEDS[0], 1, "cnn", "keywords")])  # fmt: skip


def test_the_choice_is_carry_outs(explorer, models):
    w = explorer
    w.seed.value, w.perception.value, w.grounder.value, w.arm.value = (
        SEEDS[0],
        "cnn",
        "embedding",
        True,
    )
    command = w.suggestions.options[0][1]  # the scene's generated command naming an object
    w.command.value = command
    assert w.error is None, w.error
    got = w.compute().attempt
    with make_scene(SEEDS[0]) as scene:
        want = robot.carry_out(scene, command, "cnn", "embedding",
                               models=models, frames_camera=Camera(160, 120))  # fmt: skip
    assert got.chosen == want.chosen and got.grounding.choice == want.grounding.choice
    np.testing.assert_allclose(got.grounding.scores, want.grounding.scores)
    assert (got.success, got.reason) == (want.success, want.reason)
    assert got.pick is not None and got.pick.stages == want.pick.stages
    assert f"{100 * want.judgement.lift:.1f} cm" in w.summary.value
    assert want.grounding.reason in w.summary.value
    assert w.strip.alt.startswith(f"{len(want.pick.frames)} camera frames of the pick")


def test_switching_the_grounder_changes_the_scores(explorer):
    w = explorer
    w.seed.value, w.arm.value = SEEDS[1], False
    w.command.value = "the red cube"
    w.grounder.value = "embedding"
    embedding = w.compute()
    alt = w.scores.alt
    w.grounder.value = "keywords"
    keywords = w.compute()
    assert w.error is None and keywords.grounder == "keywords"
    assert not np.allclose(embedding.attempt.grounding.scores, keywords.attempt.grounding.scores)
    assert w.scores.alt != alt and "keywords grounder" in w.scores.alt
    assert embedding.threshold is not None and keywords.threshold is None


def test_arm_off_only_perceives_and_grounds(explorer, models):
    w = explorer
    w.seed.value, w.grounder.value, w.arm.value = SEEDS[2], "embedding", True
    w.command.value = "the toy animal on the left"
    moved = w.compute()
    w.arm.value = False
    still = w.compute()
    assert w.error is None and still.attempt.pick is None
    assert still.attempt.chosen == moved.attempt.chosen
    np.testing.assert_allclose(still.attempt.grounding.scores, moved.attempt.grounding.scores)
    assert w.strip.alt.startswith("The arm did not move: “move the arm” is off.")
    assert "move the arm” is off" in w.summary.value


def test_a_command_naming_nothing_leaves_the_arm_still(explorer):
    w = explorer
    w.seed.value, w.arm.value, w.grounder.value = SEEDS[0], True, "embedding"
    nothing = w.suggestions.options[1][1]  # the scene's generated command naming nothing
    w.suggestions.value = nothing
    assert w.command.value == nothing and w.error is None
    result = w.compute()
    assert result.meant is None
    if result.attempt.chosen is None:  # the shipped embedding refuses it (see the summary)
        assert "nothing matches" in w.summary.value and "was right ✓" in w.summary.value
        assert w.strip.alt.startswith("The arm did not move: nothing matches.")
        assert result.attempt.pick is None


def test_unknown_words_are_an_answer_not_an_error(explorer):
    w = explorer
    w.arm.value = True
    for grounder in robot.GROUNDERS:
        w.grounder.value = grounder
        w.command.value = "xylophone quux zorb"
        assert w.error is None and w.message.value == ""
        result = w.compute()
        assert result.attempt.chosen is None and result.attempt.pick is None
        assert np.isnan(result.attempt.grounding.scores).all()
        assert "nothing matches" in w.summary.value
        assert w.strip.alt.startswith("The arm did not move: nothing matches.")
        assert "no word of the command is known" in w.scores.alt


@pytest.mark.parametrize("bad", ["", "   ", "\t\n", "x" * 300])
def test_a_bad_command_is_shown_and_the_widget_keeps_working(explorer, bad):
    w = explorer
    w.command.value = "the ball on the right"
    assert w.error is None
    pictures = [bytes(p.value) for p in w.pictures()]
    w.command.value = bad  # as a learner does: must not raise
    assert w.error and ("empty" in w.error or "characters long" in w.error)
    assert w.message.value.startswith("<div style=")
    assert [bytes(p.value) for p in w.pictures()] == pictures
    w.command.value = "the ball on the right"
    assert w.error is None and w.message.value == ""


def test_a_new_scene_brings_its_own_suggestions(explorer):
    w = explorer
    w.seed.value = SEEDS[3]
    w.suggestions.value = w.suggestions.options[0][1]
    first = w.command.value
    w.seed.value = SEEDS[4]  # the old scene's suggestion becomes the new scene's
    with make_scene(SEEDS[4]) as scene:
        texts = [c.text for c in robot.commands_for(scene, SEEDS[4])]
    assert w.command.value == texts[0] != first and w.error is None
    assert [v for _, v in w.suggestions.options][:2] == texts
    w.command.value = "my own words about a duck"
    assert w.suggestions.value is None and w.compute().meant == "unknown"


def test_the_constructor_refuses_bad_arguments(models):
    with pytest.raises(TypeError, match="models must be a dlcv.robot.Models"):
        CommandExplorer(models={})
    with pytest.raises(ValueError, match="seed must be one of"):
        CommandExplorer(models, seed=3)
    with pytest.raises(ValueError, match="grounder must be one of"):
        CommandExplorer(models, grounder="clip")


def test_the_pictures_have_labelled_axes(examples, models):
    command, attempt, threshold = examples[0]
    fig = Figure()
    ax = draw_choice(fig.add_subplot(1, 2, 1), attempt, command)
    assert ax.get_xlabel() and ax.get_ylabel() and command in ax.get_title()
    thick = [p for p in ax.patches if p.get_linewidth() > 2]
    assert len(ax.patches) == len(attempt.seen.boxes) and len(thick) == 1
    ax = draw_scores(fig.add_subplot(1, 2, 2), attempt, threshold, "embedding")
    assert ax.get_xlabel() == "cosine similarity" and ax.get_ylabel() == "candidate"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    c = attempt.seen.candidates
    assert labels == [f"{k}: {c.kinds[k]} ({c.colours[k]})" for k in range(len(c.kinds))]
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths, attempt.grounding.scores)
    assert any(np.allclose(line.get_xdata(), threshold) for line in ax.lines)
    assert ax.patches[attempt.grounding.choice].get_hatch() == "//"
    axes = Figure().subplots(1, len(attempt.pick.frames))
    draw_strip(axes, attempt.pick.frames, attempt.pick.stages)
    assert [a.get_title() for a in axes] == list(attempt.pick.stages)
    assert all(a.get_xlabel() for a in axes)


def test_nan_scores_are_said_not_drawn(models):
    with make_scene(SEEDS[0]) as scene:
        a = robot.carry_out(scene, "xylophone quux", "perfect", "keywords", models=models)
    ax = draw_scores(Figure().add_subplot(), a)
    assert not ax.patches and any("no word of the command is known" in t.get_text()
                                  for t in ax.texts)  # fmt: skip
    assert ax.get_xlabel() and ax.get_ylabel()


def test_the_static_figure_has_a_row_per_example(examples):
    fig = robot_figure(examples)
    moved = sum(a.pick is not None for _, a, _ in examples)
    # camera and scores per row; three frames when the arm moved, one panel when it did not
    assert len(fig.axes) == 2 * len(examples) + 3 * moved + (len(examples) - moved)
    assert fig._suptitle is not None
    assert examples[0][1].pick is not None  # the command naming an object is carried out
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[2:5] == ["above", "closed", "held"]


def test_the_pictures_refuse_bad_input(examples, models):
    ax = Figure().add_subplot()
    command, attempt, _ = examples[0]
    with pytest.raises(TypeError, match="attempt must be a dlcv.robot.Attempt"):
        draw_choice(ax, None, command)
    with pytest.raises(TypeError, match="command must be a string"):
        draw_choice(ax, attempt, 3)
    with pytest.raises(TypeError, match="ax must be a Matplotlib Axes"):
        draw_scores("ax", attempt)
    with pytest.raises(ValueError, match="threshold must be finite"):
        draw_scores(ax, attempt, float("nan"))
    with pytest.raises(ValueError, match="same length"):
        draw_strip([ax], attempt.pick.frames, attempt.pick.stages)
    with pytest.raises(ValueError, match="examples must be a non-empty list"):
        robot_figure([])
    with pytest.raises(TypeError, match=r"examples\[0\] must be a tuple"):
        robot_figure([(command, attempt)])
    with pytest.raises(TypeError, match="models must be a dlcv.robot.Models"):
        robot_examples(None, [(SEEDS[0], 0, "cnn", "embedding")])
    with pytest.raises(ValueError, match="which must be 0"):
        robot_examples(models, [(SEEDS[0], 2, "cnn", "embedding")])
    with pytest.raises(ValueError, match="perception must be one of"):
        robot_examples(models, [(SEEDS[0], 0, "eyes", "embedding")])
