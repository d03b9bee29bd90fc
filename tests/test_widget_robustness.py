"""The robustness explorer of chapter 13 (dlcv.widgets.robustness.RobustnessExplorer)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv.adversarial import fgsm, pgd
from dlcv.challenges import PGD_STEPS, mnist_parts, pixel_logreg, probabilities
from dlcv.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from dlcv.models import load_lenet_mnist
from dlcv.widgets.robustness import CHANGES, MAX_EPSILON, RobustnessExplorer


def _digits(n=12):
    parts = mnist_parts()
    return parts.x_test[:n], parts.y_test[:n]


@pytest.fixture(scope="module")
def explorer():
    x, y = _digits()
    return RobustnessExplorer({"LeNet": load_lenet_mnist(), "logistic": pixel_logreg()}, x, y)


def test_the_attacks_are_the_librarys_on_the_chosen_model(explorer):
    x, y = explorer.x, explorer.y
    for name in ("LeNet", "logistic"):
        model = explorer.models[name]
        explorer.model.value, explorer.index.value = name, 3
        explorer.change.value, explorer.strength.value = "FGSM", 0.15
        result = explorer.compute()
        np.testing.assert_allclose(result.changed, fgsm(model, x[3:4], y[3:4], 0.15)[0, 0])
        np.testing.assert_allclose(
            result.after, probabilities(model, fgsm(model, x[3:4], y[3:4], 0.15))[0]
        )
        np.testing.assert_allclose(result.before, probabilities(model, x[3:4])[0])
        explorer.change.value = "PGD"
        explorer.strength.value = 0.15
        result = explorer.compute()
        expected = pgd(model, x[3:4], y[3:4], 0.15, steps=PGD_STEPS, rng=0)
        np.testing.assert_allclose(result.changed, expected[0, 0])
        assert np.abs(result.difference).max() <= 0.15 + 1e-9


def test_the_corruptions_are_the_librarys_at_the_slider_severity(explorer):
    explorer.model.value, explorer.index.value = "LeNet", 5
    for kind in CORRUPTIONS:
        explorer.change.value = kind
        sweep = SEVERITIES[kind].sweep
        assert (explorer.strength.min, explorer.strength.max) == (min(sweep), max(sweep))
        explorer.strength.value = sweep[-2]
        assert explorer.error is None, explorer.error
        severity = int(sweep[-2]) if kind == "thicken" else sweep[-2]
        expected = corrupt(explorer.x[5:6], kind, severity, rng=0)[0, 0]
        np.testing.assert_allclose(explorer.compute().changed, expected)


def test_the_strength_slider_follows_the_change(explorer):
    explorer.change.value = "rotate"
    assert explorer.strength.max == max(SEVERITIES["rotate"].sweep)
    explorer.change.value = "FGSM"
    assert (explorer.strength.min, explorer.strength.max) == (0.0, MAX_EPSILON)
    explorer.change.value = "thicken"
    assert explorer.strength.step == 1.0 and explorer.strength.value == 3.0
    assert set(CHANGES) == {"FGSM", "PGD", *CORRUPTIONS}


def test_report_and_alt_say_what_happened(explorer):
    explorer.model.value, explorer.index.value = "LeNet", 0
    explorer.change.value, explorer.strength.value = "FGSM", 0.0
    result = explorer.compute()
    np.testing.assert_array_equal(result.before, result.after)  # epsilon 0 changes nothing
    assert "still right" in explorer.report.value or "wrong already" in explorer.report.value
    explorer.change.value = "PGD"
    explorer.strength.value = 0.3
    label = int(explorer.y[0])
    assert f"a handwritten {label}" in explorer.digits.alt
    assert "PGD, epsilon 0.30" in explorer.digits.alt
    assert "class probabilities" in explorer.probabilities.value
    assert explorer.probabilities.value.count("<tr>") == 11  # a header and ten classes
    assert explorer.compute().after.argmax() != label  # PGD at 0.3 fools LeNet on this digit


@pytest.mark.parametrize(
    "args, error, match",
    [
        (({}, *_digits()), TypeError, "models must be a non-empty dict"),
        (({"m": None}, np.zeros((3, 28, 28)), np.zeros(3)), ValueError,
         r"x must have shape \(N, 1, 28, 28\)"),
        (({"m": None}, np.zeros((3, 1, 28, 28)), np.zeros(2)), ValueError,
         r"y must have shape \(3,\)"),
    ],
    ids=["no models", "flat digits", "labels of another length"],
)  # fmt: skip
def test_bad_arguments_are_refused_by_name(args, error, match):
    with pytest.raises(error, match=match):
        RobustnessExplorer(*args)
