"""dlcv.fairness: the measured attributes of a digit against direct formulas, the groups,
fairlearn's disaggregated accuracy against a direct per-group computation, the bootstrap
against the binomial distribution, the training mixes, and the shipped results (loaded,
damaged files refused, one cell of each table re-run exactly)."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from skimage.measure import moments_central

from dlcv import fairness as fa
from dlcv.challenges import mnist_parts

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ethics_experiment.py"


def _without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


# ---------------------------------------------------------------------- the attributes
@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_the_thickness_of_a_bar_is_its_width(width):
    image = np.zeros((1, 28, 28))
    image[0, 4:24, 10 : 10 + width] = 1.0
    (thickness,) = fa.stroke_thickness(image)
    # ink 20 * width over a skeleton of 20 - (width - 1) or so pixels
    assert width <= thickness <= width * 20 / (20 - width), thickness


def test_thickness_grows_with_dilation_and_an_empty_image_has_none():
    x = mnist_parts().x_val[:50]
    thin, thick = fa.stroke_thickness(x), fa.stroke_thickness(fa.towards("thick", x))
    assert (thick > thin).mean() > 0.9
    assert fa.stroke_thickness(np.zeros((2, 28, 28))).tolist() == [0.0, 0.0]
    assert fa.stroke_thickness(x[:, 0]).tolist() == thin.tolist()  # (N, H, W) too


def test_slant_is_the_direct_moment_formula_on_random_images():
    rng = np.random.default_rng(0)
    for _ in range(30):
        image = rng.random((28, 28)) * (rng.random((28, 28)) < 0.3)
        mu = moments_central(image, order=2)  # mu[i, j]: rows to the i, columns to the j
        expected = math.degrees(math.atan(-mu[1, 1] / mu[2, 0]))
        assert fa.slant(image[None])[0] == pytest.approx(expected, abs=1e-9)
        # a mirror image leans the other way by exactly as much
        assert fa.slant(image[None, :, ::-1])[0] == pytest.approx(-expected, abs=1e-9)


def test_a_line_leaning_right_has_its_angle_and_upright_is_zero():
    for shear in (0.0, 0.25, 0.5, -0.4):
        image = np.zeros((1, 28, 28))
        for row in range(4, 24):
            image[0, row, int(round(13.5 + shear * (13.5 - row)))] = 1.0
        assert fa.slant(image)[0] == pytest.approx(math.degrees(math.atan(shear)), abs=2.5)
    assert fa.slant(np.zeros((1, 28, 28)))[0] == 0.0


def test_towards_moves_digits_into_the_group_it_names():
    x = mnist_parts().x_val[:100]
    assert (fa.slant(fa.towards("right", x)) > fa.slant(x)).mean() > 0.9
    assert (fa.slant(fa.towards("left", x)) < fa.slant(x)).mean() > 0.9
    thinner = fa.towards("thin", x)
    assert (thinner <= x[:, 0] + 1e-12).all() and thinner.shape == (100, 28, 28)
    with pytest.raises(ValueError, match="group must be one of"):
        fa.towards("medium", x)


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        (np.zeros((28, 28)), ValueError, r"shape \(N, H, W\) or \(N, 1, H, W\).*\(28, 28\)"),
        (np.zeros((0, 28, 28)), ValueError, "N >= 1"),
        (np.full((1, 28, 28), np.nan), ValueError, "finite"),
        (np.array([["a"]]), TypeError, "array of numbers"),
    ],
)
def test_bad_images_are_refused_by_name(images, error, match):
    for function in (fa.stroke_thickness, fa.slant):
        with pytest.raises(error, match=match):
            function(images)
    with pytest.raises(ValueError, match="attribute must be one of"):
        fa.measure("brightness", np.zeros((1, 28, 28)))


# -------------------------------------------------------------------------- the groups
def test_assign_groups_is_digitize_and_an_edge_goes_up():
    rng = np.random.default_rng(1)
    for _ in range(50):
        values = rng.normal(size=40).round(1)
        edges = np.sort(rng.choice(values, 2, replace=False))
        names = ("a", "b", "c")
        got = fa.assign_groups(values, edges, names)
        expected = np.array(names)[np.digitize(values, edges, right=False)]
        assert got.tolist() == expected.tolist()
    assert fa.assign_groups([1.0, 2.0], [2.0], ("low", "high")).tolist() == ["low", "high"]
    with pytest.raises(ValueError, match="increasing"):
        fa.assign_groups([1.0], [2.0, 1.0], ("a", "b", "c"))
    with pytest.raises(ValueError, match="3 different names for 2 edges"):
        fa.assign_groups([1.0], [1.0, 2.0], ("a", "b"))
    with pytest.raises(ValueError, match="finite 1-d"):
        fa.assign_groups([np.nan], [1.0], ("a", "b"))


@pytest.mark.parametrize("attribute", fa.ATTRIBUTES)
def test_the_edges_are_the_training_terciles(attribute):
    counts = {g: int(np.sum(fa.subgroups(attribute, "train") == g)) for g in fa.GROUPS[attribute]}
    assert all(abs(c - 3500 / 3) <= 2 for c in counts.values()), counts
    low, high = fa.group_edges(attribute)
    values = fa.measure(attribute, mnist_parts().x_train)
    assert (low, high) == tuple(np.quantile(values, [1 / 3, 2 / 3]))
    test = fa.subgroups(attribute, "test")
    assert len(test) == 1000 and set(test) == set(fa.GROUPS[attribute])
    with pytest.raises(ValueError, match="part must be one of"):
        fa.subgroups(attribute, "holdout")


def test_group_examples_come_from_their_group_sorted():
    examples = fa.group_examples("slant", "val", per_group=5, seed=1)
    assert list(examples) == list(fa.GROUPS["slant"])
    for group, (images, values) in examples.items():
        assert images.shape == (5, 28, 28) and (np.diff(values) >= 0).all()
        assert (fa.subgroups_of("slant", images) == group).all()
        np.testing.assert_allclose(fa.slant(images), values)


# ------------------------------------------------------------- disaggregated evaluation
def test_disaggregate_agrees_with_a_direct_per_group_computation():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(30, 200))
        y = rng.integers(0, 10, n)
        pred = np.where(rng.random(n) < rng.uniform(0.5, 1), y, rng.integers(0, 10, n))
        groups = rng.choice(["p", "q", "r"], n)
        result = fa.disaggregate(y, pred, groups, n_boot=200, rng=3)
        accuracy = {g: float(np.mean(pred[groups == g] == y[groups == g])) for g in "pqr"}
        assert result.groups == ("p", "q", "r")
        for g in "pqr":
            assert result.accuracy[g] == pytest.approx(accuracy[g], abs=1e-12)
            assert result.error[g] == pytest.approx(1 - accuracy[g], abs=1e-12)
            assert result.count[g] == int(np.sum(groups == g))
            assert result.low[g] <= accuracy[g] <= result.high[g]
        assert result.overall == pytest.approx(np.mean(pred == y), abs=1e-12)
        gap = max(accuracy.values()) - min(accuracy.values())
        assert result.gap == pytest.approx(gap, abs=1e-12)
        assert result.gap_low <= result.gap_high
        assert [r["group"] for r in result.rows()] == ["p", "q", "r"]
    ordered = fa.disaggregate(y, pred, groups, order=["r", "p", "q"], n_boot=10)
    assert ordered.groups == ("r", "p", "q") and "gap" in repr(ordered)


def test_the_bootstrap_interval_is_the_binomial_one():
    """Resampling n right/wrong answers with replacement draws Binomial(n, p_hat) / n."""
    for n, right in [(400, 360), (300, 291), (120, 60)]:
        correct = np.arange(n) < right
        low, high = fa.bootstrap_accuracy(correct, n_boot=20000, rng=4)
        p = right / n
        assert low == pytest.approx(stats.binom.ppf(0.025, n, p) / n, abs=1.5 / n)
        assert high == pytest.approx(stats.binom.ppf(0.975, n, p) / n, abs=1.5 / n)
    assert fa.bootstrap_accuracy(np.ones(10, bool), n_boot=50) == (1.0, 1.0)
    assert fa.bootstrap_accuracy([1, 0, 1, 1], n_boot=50, rng=5) == fa.bootstrap_accuracy(
        [1, 0, 1, 1], n_boot=50, rng=5
    )


def test_disaggregate_and_bootstrap_refuse_bad_input_by_name():
    y = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="one non-zero length.*\\(3,\\), \\(2,\\)"):
        fa.disaggregate(y, y[:2], ["a", "a", "b"])
    with pytest.raises(ValueError, match="order must name every group once"):
        fa.disaggregate(y, y, ["a", "a", "b"], order=["a"])
    with pytest.raises(ValueError, match="order must name every group once"):
        fa.disaggregate(y, y, ["a", "a", "b"], order=["a", "b", "c"])
    with pytest.raises(ValueError, match="level must be a number between 0 and 1"):
        fa.disaggregate(y, y, ["a", "a", "b"], level=95)
    with pytest.raises(ValueError, match="n_boot"):
        fa.bootstrap_accuracy([True], n_boot=0)
    with pytest.raises(ValueError, match="True/False"):
        fa.bootstrap_accuracy([0.5, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-d"):
        fa.bootstrap_accuracy([])


# ------------------------------------------------------------------------- the mixes
@pytest.mark.parametrize(("attribute", "rare"), fa.REPRESENTATION_CELLS)
def test_the_four_mixes_hold_what_they_say(attribute, rare):
    groups = fa.subgroups(attribute, "train")
    n_group = int(np.sum(groups == rare))
    kept = round(fa.RARE_FRACTION * n_group)
    mixes = {c: fa.training_mix(attribute, rare, c, seed=0) for c in fa.CONDITIONS}
    cut = 3500 - n_group + kept
    assert len(mixes["under-represented"][0]) == len(mixes["balanced"][0]) == cut
    assert mixes["under-represented"][2] == {"n_rare": kept, "n_synthetic": 0}
    assert fa.subgroups_of(attribute, mixes["under-represented"][0]).tolist().count(rare) == kept
    # balanced: about the natural third of the rare group
    assert abs(mixes["balanced"][2]["n_rare"] - cut / 3) < 0.1 * cut
    # reweighted: the same few digits, drawn again up to the group's natural count
    x, _, info = mixes["reweighted"]
    assert len(x) == 3500 and info["n_rare"] == n_group
    rare_images = {im.tobytes() for im in x[fa.subgroups_of(attribute, x) == rare]}
    assert len(rare_images) == kept
    # augmented: changed digits of other groups that do land in the rare group
    x, y, info = mixes["augmented"]
    synthetic = x[cut:]
    assert info["n_synthetic"] == len(synthetic) > 0.8 * (n_group - kept)
    assert (fa.subgroups_of(attribute, synthetic) == rare).all()
    assert len(x) == len(y) == cut + info["n_synthetic"]
    again = fa.training_mix(attribute, rare, "augmented", seed=0)
    np.testing.assert_array_equal(again[0], x)
    other = fa.training_mix(attribute, rare, "under-represented", seed=1)[0]
    assert not np.array_equal(other, mixes["under-represented"][0])


def test_the_mix_and_the_run_refuse_bad_settings_by_name():
    with pytest.raises(ValueError, match="rare must be one of"):
        fa.training_mix("thickness", "right", "balanced", 0)
    with pytest.raises(ValueError, match="condition must be one of"):
        fa.training_mix("slant", "right", "oversampled", 0)
    with pytest.raises(ValueError, match=r"fraction must be a number in \(0, 1\]"):
        fa.training_mix("slant", "right", "balanced", 0, fraction=0)
    with pytest.raises(ValueError, match="seed"):
        fa.representation_run("slant", "right", "balanced", -1)
    with pytest.raises(ValueError, match="table must be one of"):
        fa.run_cell("speed")


# ------------------------------------------------------------------------ the script
def test_the_script_plans_every_cell_once_and_saves_one_network(tmp_path):
    spec = importlib.util.spec_from_file_location("ethics_experiment", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    configs = script.plan([0, 1, 2], tmp_path)
    kinds = [c["table"] for c in configs]
    assert kinds.count("representation") == len(fa.REPRESENTATION_CELLS) * 4 * 3
    assert kinds.count("membership") == 9 and kinds.count("shipped_membership") == 3
    assert kinds.count("subgroups") == 4
    saved = [c for c in configs if "save_to" in c]
    assert len(saved) == 1 and {k: saved[0][k] for k in fa.LIVE_CONFIG} == fa.LIVE_CONFIG
    assert all(set(c) - {"table"} <= set(fa.RUNS[c["table"]].__code__.co_varnames)
               for c in configs)  # fmt: skip


# ------------------------------------------------------------------------ the results
@pytest.fixture(scope="module")
def results():
    return fa.load_ethics_results()


def test_the_shipped_files_load_with_their_commit(results):
    assert re.fullmatch(r"dlcv at commit [0-9a-f]{7,40}", results.commit), results.commit
    rows = results.rows("representation")
    assert {(r["attribute"], r["rare"]) for r in rows} == set(fa.REPRESENTATION_CELLS)
    assert {r["condition"] for r in rows} == set(fa.CONDITIONS)
    assert {r["seed"] for r in rows} == {0, 1, 2}
    mean, spread, n = results.summary("representation", "test_rare", attribute="slant",
                                      rare="right", condition="balanced")  # fmt: skip
    assert n == 3 and 0 < mean <= 1 and spread >= 0
    with pytest.raises(ValueError, match="column must be one of"):
        results.rows("membership", colour=1)
    with pytest.raises(ValueError, match="no row"):
        results.summary("membership", "auc", per_class=7)


def test_the_representation_summary_is_the_mean_over_seeds(results):
    view = results.representation("slant", "right")
    assert list(view) == list(fa.CONDITIONS) and view["balanced"]["drop"] == 0.0
    for condition, cell in view.items():
        rows = results.rows("representation", attribute="slant", rare="right",
                            condition=condition)  # fmt: skip
        rare = [r["test_rare"] for r in rows]
        assert cell["rare"] == (pytest.approx(np.mean(rare)), pytest.approx(np.std(rare, ddof=1)),
                                3)  # fmt: skip
        assert cell["drop"] == pytest.approx(view["balanced"]["rare"][0] - np.mean(rare))
    assert results.representation("thickness", "thin", "val")["balanced"]["gap"][2] == 3
    with pytest.raises(ValueError, match="rare must be one of"):
        results.representation("slant", "thick")
    with pytest.raises(ValueError, match="part must be one of"):
        results.representation("slant", "right", "train")


def test_one_cell_of_each_table_re_runs_exactly(results):
    assert _without_seconds([fa.representation_cell()]) == _without_seconds(
        results.rows("representation", **fa.LIVE_CONFIG)
    )
    assert fa.run_cell("subgroups", attribute="slant", part="test") == results.rows(
        "subgroups", attribute="slant", part="test"
    )
    assert _without_seconds(fa.run_cell("shipped_membership", seed=0)) == _without_seconds(
        results.rows("membership", model="shipped LeNet", seed=0)
    )


def _copy(tmp_path):
    from dlcv.data import asset_path

    for name, _ in fa.FILES.values():
        (tmp_path / name).write_text(asset_path(name).read_text())
    return tmp_path / fa.FILES["representation"][0]


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda t: t.replace(",test_gap,", ",gap,"), "expected the columns"),
        (lambda t: t.replace(",balanced,", ",,", 1), "row 1: condition = ''"),
        (lambda t: t.replace(",balanced,0,", ",balanced,zero,", 1), "row 1: seed = 'zero'"),
        (lambda t: "\n".join(line for line in t.splitlines() if line.startswith("#")
                             or line.startswith("attribute")), "expected the columns"),
        (lambda t: t.replace(",balanced,0,", ",balanced,nan,", 1), "row 1: seed = nan"),
    ],
)  # fmt: skip
def test_the_loader_refuses_a_damaged_file(tmp_path, damage, match):
    path = _copy(tmp_path)
    path.write_text(damage(path.read_text()))
    with pytest.raises(ValueError, match=match):
        fa.load_ethics_results(tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="scripts/ethics_experiment.py"):
        fa.load_ethics_results(tmp_path)


def test_a_model_without_its_record_is_refused():
    from dlcv.models import load_lenet_mnist

    with pytest.raises(ValueError, match="no 'config' in its record"):
        fa.representation_cell(load_lenet_mnist())
