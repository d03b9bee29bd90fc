"""Chapter 15's fairness explorer (dlcv.widgets.fairness), its pictures (dlcv.fairness_plot)
and the test it reports (dlcv.fairness.EthicsResults.compare)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.stats import ttest_ind

from dlcv.fairness import CONDITIONS, REPRESENTATION_CELLS, load_ethics_results
from dlcv.fairness_plot import draw_representation, representation_figure
from dlcv.widgets.fairness import GROUP_OPTIONS, FairnessExplorer


@pytest.fixture(scope="module")
def results():
    return load_ethics_results()


def _seeds(results, attribute, rare, condition, part):
    rows = results.rows("representation", attribute=attribute, rare=rare, condition=condition)
    return np.array([r[f"{part}_rare"] for r in rows])


@pytest.mark.parametrize(("attribute", "rare"), REPRESENTATION_CELLS)
@pytest.mark.parametrize("part", ["val", "test"])
def test_compare_is_welchs_test_on_the_seeds(results, attribute, rare, part):
    for condition in CONDITIONS:
        for against in CONDITIONS:
            got = results.compare(attribute, rare, condition, against, part)
            a = _seeds(results, attribute, rare, condition, part)
            b = _seeds(results, attribute, rare, against, part)
            assert got["difference"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
            if condition == against:
                assert got["p"] == pytest.approx(1.0) and not got["established"]
                continue
            want = ttest_ind(a, b, equal_var=False).pvalue
            assert got["p"] == pytest.approx(want, rel=1e-9)
            assert got["established"] is bool(want < 0.05)


def test_compare_refuses_bad_names(results):
    with pytest.raises(ValueError, match="condition must be one of"):
        results.compare("slant", "right", "oversampled")
    with pytest.raises(ValueError, match="against must be one of"):
        results.compare("slant", "right", "balanced", against="none")
    with pytest.raises(ValueError, match="part must be one of"):
        results.compare("slant", "right", "balanced", part="train")


def test_the_bars_are_the_means_over_seeds(results):
    fig = Figure()
    ax = draw_representation(fig.add_subplot(), results, "slant", "right", "val",
                             highlight="augmented")  # fmt: skip
    bars = [p for p in ax.patches if p.get_width() > 0 and p.get_height() > 50]
    assert len(bars) == 2 * len(CONDITIONS)
    for k, condition in enumerate(CONDITIONS):
        rare, others = bars[2 * k], bars[2 * k + 1]
        rows = results.rows("representation", attribute="slant", rare="right", condition=condition)
        assert rare.get_height() == pytest.approx(100 * np.mean([r["val_rare"] for r in rows]))
        assert others.get_height() == pytest.approx(100 * np.mean([r["val_others"] for r in rows]))
        # the highlighted mix is drawn in full, the others faded
        assert (rare.get_alpha() == 1.0) is (condition == "augmented")
    assert ax.get_ylabel() == "validation accuracy (%)" and ax.get_xlabel() == "training mix"


def test_the_static_figure_has_a_panel_per_rare_group(results):
    fig = representation_figure(results, "test")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == len(REPRESENTATION_CELLS)
    assert titles[0].startswith("thick digits rare") and "right-leaning" in titles[2]


def test_the_pictures_refuse_bad_input(results):
    ax = Figure().add_subplot()
    with pytest.raises(TypeError, match="results must be EthicsResults"):
        draw_representation(ax, {}, "slant", "right")
    with pytest.raises(ValueError, match="part must be one of"):
        draw_representation(ax, results, "slant", "right", part="train")
    with pytest.raises(ValueError, match="highlight must be one of"):
        draw_representation(ax, results, "slant", "right", highlight="all")
    with pytest.raises(TypeError, match="results must be EthicsResults"):
        representation_figure(None)
    with pytest.raises(TypeError, match="results must be EthicsResults"):
        FairnessExplorer([])


def test_every_setting_shows_the_files_numbers(results):
    w = FairnessExplorer(results)
    for _, cell in GROUP_OPTIONS:
        for condition in CONDITIONS:
            for part in ("val", "test"):
                w.group.value, w.mix.value, w.part.value = cell, condition, part
                assert w.error is None
                got = w.compute()
                mean, std, n = results.representation(*cell, part)[condition]["rare"]
                assert got.summary[condition]["rare"] == (mean, std, n)
                assert f"{100 * mean:.1f} ± {100 * std:.1f} %" in w.report.value
                assert (condition == "balanced") is ("Against the balanced" not in w.report.value)
                assert bool(got.versus_under) is (condition in ("reweighted", "augmented"))
                assert w.picture.value and w.picture.alt.endswith(
                    f"{condition} mix is highlighted."
                )


def test_it_says_when_validation_and_test_disagree(results):
    w = FairnessExplorer(results)
    w.group.value, w.mix.value = ("slant", "right"), "under-represented"
    got = w.compute()
    disagree = (
        got.versus_balanced["val"]["established"] != got.versus_balanced["test"]["established"]
    )
    assert ("part disagrees" in w.report.value) is disagree
    w.group.value = ("thickness", "thick")  # no difference established on either part
    assert "part disagrees" not in w.report.value and "not established" in w.report.value


def test_pictures_are_drawn_once_per_setting(results):
    w = FairnessExplorer(results)
    first = w.picture.value
    w.mix.value = "balanced"
    w.mix.value = "under-represented"
    assert w.picture.value is first or bytes(w.picture.value) == bytes(first)
    assert len(w._pictures) == 2
