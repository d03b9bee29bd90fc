"""Tests of dlcv.robot: chapter 12's pipeline end to end, its verdicts and its results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcv import robot as rb
from dlcv.grounding import Grounding, scene_candidates
from dlcv.tabletop import Camera, make_scene, render

SEED = 9100  # fresh scenes: in no part the models were trained or chosen on


@pytest.fixture(scope="module")
def models():
    return rb.load_models()


def test_perfect_perception_is_the_mask_and_the_truth(models):
    with make_scene(SEED) as scene:
        frame = render(scene, Camera())
        seen = rb.perceive(scene, frame, "perfect", models=models)
        ref = scene_candidates(scene)
        truth = {o.body: o for o in scene.objects}
    np.testing.assert_array_equal(seen.candidates.crops, ref.crops)
    assert seen.candidates.kinds == tuple(truth[b].kind for b in seen.candidates.bodies)
    for body, point, box in zip(seen.candidates.bodies, seen.points, seen.boxes, strict=True):
        np.testing.assert_array_equal(point, truth[body].position)
        rows, cols = np.nonzero(frame.segmentation == body)
        assert box[0] <= rows.min() and rows.max() < box[2]
        assert box[1] <= cols.min() and cols.max() < box[3]


@pytest.mark.parametrize("perception", ["cnn", "histogram"])
def test_perception_from_rgb_and_depth(models, perception):
    with make_scene(SEED) as scene:
        frame = render(scene, Camera())
        seen = rb.perceive(scene, frame, perception, models=models)
        bodies = sorted(o.body for o in scene.objects)
        centres = {o.body: o.position for o in scene.objects}
    assert sorted(seen.candidates.bodies) == bodies  # every object found once
    for body, point in zip(seen.candidates.bodies, seen.points, strict=True):
        assert np.linalg.norm(point[:2] - centres[body][:2]) < 0.03
    assert seen.frame is frame and seen.boxes.shape == (len(bodies), 4)


def test_bad_input_is_refused(models):
    with make_scene(SEED) as scene:
        frame = render(scene, Camera())
        with pytest.raises(ValueError, match="perception"):
            rb.perceive(scene, frame, "lidar", models=models)
        with pytest.raises(TypeError, match="frame"):
            rb.perceive(scene, frame.rgb, "cnn", models=models)
        with pytest.raises(TypeError, match="scene"):
            rb.perceive("scene", frame, "cnn", models=models)
        with pytest.raises(TypeError, match="models"):
            rb.perceive(scene, frame, "cnn", models={"cnn": None})
        seen = rb.perceive(scene, frame, "perfect", models=models)
        with pytest.raises(ValueError, match="grounder"):
            rb.ground("the mug", seen, "gpt", models)
        with pytest.raises(TypeError, match="command"):
            rb.ground(["the mug"], seen, "keywords", models)
        with pytest.raises(TypeError, match="seen"):
            rb.ground("the mug", seen.candidates, "keywords", models)
        with pytest.raises(ValueError, match="body"):
            rb.attempt(scene, "the mug", 999, "perfect", "keywords", models=models)
    with pytest.raises(ValueError, match="which"):
        rb.run_row(SEED, "perfect", "keywords", 2, models)


@pytest.mark.parametrize("grounder", rb.GROUNDERS)
def test_a_command_naming_nothing_gets_nothing_matches_and_no_pick(models, grounder):
    with make_scene(SEED) as scene:
        named, nothing = rb.commands_for(scene, SEED)
        assert named.target is not None and nothing.target is None
        result = rb.attempt(scene, nothing.text, None, "perfect", grounder, models=models)
    assert result.grounding.choice is None and result.chosen is None
    assert result.pick is None and result.success and result.reason == ""
    assert result.grounding.reason  # a sentence, not a silent empty answer
    with make_scene(SEED) as scene:
        gibberish = rb.attempt(scene, "zorp blick", None, "cnn", grounder, models=models)
    assert gibberish.grounding.choice is None and "no word" in gibberish.grounding.reason


def test_a_named_object_is_picked_and_judged_by_where_it_ends(models):
    with make_scene(SEED) as scene:
        named, _ = rb.commands_for(scene, SEED)
        body = scene.objects[named.target].body
        result = rb.attempt(scene, named.text, body, "perfect", "keywords", models=models,
                            frames_camera=Camera(80, 60))  # fmt: skip
    assert result.chosen == body and result.pick.reachable
    assert result.success and result.judgement.lift >= 0.1
    assert len(result.pick.frames) == 6 and result.pick.frames[0].shape == (60, 80, 3)


def test_failures_are_put_down_to_the_first_step(models, monkeypatch):
    real_perceive, real_ground = rb.perceive, rb.ground
    with make_scene(SEED) as scene:
        named, _ = rb.commands_for(scene, SEED)
        body = scene.objects[named.target].body

    def blind(scene, frame, perception="cnn", camera=None, models=None):
        seen = real_perceive(scene, frame, perception, camera, models)
        keep = [i for i, b in enumerate(seen.candidates.bodies) if b != body]
        c = seen.candidates
        cands = type(c)(
            c.crops[keep],
            c.columns[keep],
            tuple(c.kinds[i] for i in keep),
            tuple(c.colours[i] for i in keep),
            tuple(c.bodies[i] for i in keep),
        )
        return rb.Seen(cands, seen.points[keep], seen.boxes[keep], seen.frame)  # fmt: skip

    monkeypatch.setattr(rb, "perceive", blind)
    with make_scene(SEED) as scene:
        assert rb.attempt(scene, named.text, body, "perfect", "keywords",
                          models=models).reason == "not found"  # fmt: skip
    monkeypatch.setattr(rb, "perceive", real_perceive)

    def other(command, seen, grounder="embedding", models=None):
        answer = real_ground(command, seen, grounder, models)
        wrong = next(i for i, b in enumerate(seen.candidates.bodies) if b != body)
        return Grounding(answer.scores, wrong, "forced to another candidate")

    monkeypatch.setattr(rb, "ground", other)
    with make_scene(SEED) as scene:
        result = rb.attempt(scene, named.text, body, "perfect", "keywords", models=models)
    assert not result.success and result.reason == "wrong object"
    assert result.judgement.reason == "wrong object"  # the arm lifted the other one

    def refuse(command, seen, grounder="embedding", models=None):
        return Grounding(np.zeros(len(seen.candidates.crops)), None, "forced to refuse")

    monkeypatch.setattr(rb, "ground", refuse)
    with make_scene(SEED) as scene:
        result = rb.attempt(scene, named.text, body, "perfect", "keywords", models=models)
    assert result.reason == "nothing chosen" and result.pick is None


def test_carry_out_judges_the_choice(models):
    with make_scene(SEED) as scene:
        named, nothing = rb.commands_for(scene, SEED)
        result = rb.carry_out(scene, named.text, "cnn", "keywords", models=models)
    assert result.chosen is not None and result.success == result.judgement.success
    with make_scene(SEED) as scene:
        result = rb.carry_out(scene, nothing.text, "perfect", "keywords", models=models)
    assert result.chosen is None and result.reason == "nothing chosen" and result.pick is None
    with make_scene(SEED) as scene:
        still = rb.carry_out(scene, named.text, "perfect", "keywords", models=models, act=False)
        assert still.pick is None and still.reason == "" and still.chosen is not None
        with pytest.raises(TypeError, match="act"):
            rb.carry_out(scene, named.text, "perfect", "keywords", models=models, act="no")


def test_rows_are_deterministic(models):
    a = rb.run_row(SEED, "cnn", "embedding", 0, models)
    b = rb.run_row(SEED, "cnn", "embedding", 0, models)
    a.pop("seconds"), b.pop("seconds")
    assert a == b and set(a) == set(rb.RESULTS_COLUMNS) - {"seconds"}


# --- the shipped results ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return rb.load_results()[0]


def test_shipped_rows_rerun_to_the_same_values(models, shipped):
    rng = np.random.default_rng(0)
    for i in rng.choice(len(shipped), 4, replace=False):
        row = shipped[int(i)]
        which = 0 if row["target"] >= 0 else 1
        again = rb.run_row(row["seed"], row["perception"], row["grounder"], which, models)
        for column in rb.RESULTS_COLUMNS:
            if column != "seconds":
                assert again[column] == row[column] or (
                    isinstance(row[column], float) and math.isclose(again[column], row[column])
                ), (column, again[column], row[column])


def test_shipped_experiment_covers_every_combination(shipped):
    combos = {(r["perception"], r["grounder"]) for r in shipped}
    assert combos == {(p, g) for p in rb.PERCEPTIONS for g in rb.GROUNDERS}
    per = {c: sum(1 for r in shipped if (r["perception"], r["grounder"]) == c and r["target"] >= 0)
           for c in combos}  # fmt: skip
    assert min(per.values()) >= 100  # at least 100 scenes and commands per combination


def test_success_table_counts_and_wilson_interval(shipped):
    table = rb.success_table(shipped)
    assert len(table) == 6
    for entry in table:
        mine = [r for r in shipped if r["perception"] == entry["perception"]
                and r["grounder"] == entry["grounder"] and r["target"] >= 0]  # fmt: skip
        k, n = sum(r["success"] for r in mine), len(mine)
        assert entry["n"] == n and entry["success"] == pytest.approx(k / n)
        assert k + sum(entry[reason] for reason in rb.REASONS[:-1]) == n
        z, p = 1.959963984540054, k / n  # the Wilson score interval, by its formula
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert entry["low"] == pytest.approx(centre - half, abs=1e-9)
        assert entry["high"] == pytest.approx(centre + half, abs=1e-9)


def test_paired_test_is_the_exact_mcnemar_test():
    def rows(outcomes, perception):
        return [{"seed": i, "command": "c", "target": 0, "perception": perception,
                 "grounder": "keywords", "success": s} for i, s in enumerate(outcomes)]  # fmt: skip

    a = [1, 1, 1, 1, 1, 1, 0, 1, 0]
    b = [0, 0, 0, 0, 0, 0, 0, 1, 0]
    out = rb.paired_test(rows(a, "perfect") + rows(b, "cnn"), ("perfect", "keywords"),
                         ("cnn", "keywords"))  # fmt: skip
    assert (out["only_a"], out["only_b"], out["a"], out["b"]) == (6, 0, 7, 1)
    assert out["p"] == pytest.approx(2 * 0.5**6)  # two-sided exact binomial, 6 of 6
    same = rb.paired_test(rows(a, "perfect") + rows(a, "cnn"), ("perfect", "keywords"),
                          ("cnn", "keywords"))  # fmt: skip
    assert same["p"] == 1.0
    with pytest.raises(ValueError, match="same commands"):
        rb.paired_test(rows(a, "perfect") + rows(b[:5], "cnn"), ("perfect", "keywords"),
                       ("cnn", "keywords"))  # fmt: skip
    with pytest.raises(ValueError, match="no rows"):
        rb.paired_test(rows(a, "perfect"), ("perfect", "keywords"), ("cnn", "keywords"))


def _damaged(tmp_path, column, value):
    import csv
    import importlib.resources
    import io

    lines = (importlib.resources.files("dlcv") / "assets" / rb.RESULTS_FILE).read_text()
    lines = lines.splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    records = list(csv.DictReader(io.StringIO("\n".join(body))))
    records[1][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=body[0].split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    (tmp_path / rb.RESULTS_FILE).write_text("\n".join(header) + "\n" + out.getvalue())


@pytest.mark.parametrize(
    "column, value, message",
    [("reason", "bad luck", "reason"), ("perception", "lidar", "combination"),
     ("success", "2", "success"), ("lift", "high", "lift")],
)  # fmt: skip
def test_damaged_results_are_refused(tmp_path, column, value, message):
    _damaged(tmp_path, column, value)
    with pytest.raises(ValueError, match=message):
        rb.load_results(tmp_path)


def test_missing_results_name_the_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="robot_experiment"):
        rb.load_results(tmp_path)


def test_decide_is_carry_out_without_the_arm(models):
    with make_scene(SEED) as scene:
        named, nothing = rb.commands_for(scene, SEED)
        seen = rb.perceive(scene, render(scene, Camera()), "cnn", models=models)
    for text in (named.text, nothing.text, "zorp"):
        kept = rb.decide(text, seen, "embedding", models)
        with make_scene(SEED) as scene:
            fresh = rb.carry_out(scene, text, "cnn", "embedding", models=models, act=False)
        assert (kept.chosen, kept.reason, kept.pick) == (fresh.chosen, fresh.reason, None)
        np.testing.assert_array_equal(kept.grounding.scores, fresh.grounding.scores)
    with pytest.raises(TypeError, match="seen"):
        rb.decide(named.text, seen.candidates, "embedding", models)
