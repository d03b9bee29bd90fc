"""dlcv.adversarial: input gradients checked numerically, FGSM and PGD against their definitions."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from dlcv import adversarial
from dlcv.adversarial import fgsm, input_gradient, loss_per_example, pgd
from dlcv.gradcheck import numerical_gradient, relative_error
from dlcv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential


def small_net(seed=0, dtype=np.float64) -> Sequential:
    layers = [
        Conv2D(1, 3, 3, padding=1, rng=seed, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(3 * 4 * 4, 4, rng=seed + 1, dtype=dtype),
    ]
    return Sequential(layers)


def linear_model(n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((60, 1, 4, 4))
    y = np.arange(60) % n_classes
    x[np.arange(60), 0, y % 4, y % 4] += 1.0  # something to learn
    return LogisticRegression(max_iter=2000).fit(x.reshape(60, -1), y), np.clip(x, 0, 1), y


def test_the_module_examples_hold():
    assert doctest.testmod(adversarial).failed == 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_network_input_gradient_matches_centred_differences(seed):
    rng = np.random.default_rng(seed)
    model = small_net(seed % 100)
    x = rng.random((3, 1, 8, 8))
    labels = rng.integers(0, 4, 3)
    grad = input_gradient(model, x, labels)
    for n in range(3):  # each row is that example's own loss gradient
        xn = x[n : n + 1].copy()
        yn = labels[n : n + 1]
        numeric = numerical_gradient(
            lambda xn=xn, yn=yn: float(loss_per_example(model, xn, yn)[0]), xn
        )
        assert relative_error(grad[n : n + 1], numeric) < 1e-6


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_logistic_regression_input_gradient_matches_centred_differences(n_classes):
    clf, x, y = linear_model(n_classes)
    grad = input_gradient(clf, x[:5], y[:5])
    for n in range(5):
        xn = x[n : n + 1].copy()
        yn = y[n : n + 1]
        numeric = numerical_gradient(
            lambda xn=xn, yn=yn: float(loss_per_example(clf, xn, yn)[0]), xn
        )
        assert relative_error(grad[n : n + 1], numeric) < 1e-7
    # the loss is scikit-learn's own cross-entropy of predict_proba
    p = clf.predict_proba(x.reshape(len(x), -1))
    expected = -np.log(p[np.arange(len(x)), np.searchsorted(clf.classes_, y)])
    np.testing.assert_allclose(loss_per_example(clf, x, y), expected, rtol=1e-10)


@pytest.mark.parametrize("make", ["network", "linear"])
def test_fgsm_is_its_formula_and_raises_the_loss(make):
    if make == "network":
        model = small_net(3)
        x = np.random.default_rng(1).random((20, 1, 8, 8))
        y = np.random.default_rng(2).integers(0, 4, 20)
    else:
        model, x, y = linear_model(3)
    epsilon = 0.05
    adv = fgsm(model, x, y, epsilon)
    expected = np.clip(x + epsilon * np.sign(input_gradient(model, x, y)), 0, 1)
    np.testing.assert_array_equal(adv, expected)
    assert np.abs(adv - x).max() <= epsilon + 1e-12
    assert loss_per_example(model, adv, y).mean() > loss_per_example(model, x, y).mean()
    np.testing.assert_array_equal(fgsm(model, x, y, 0.0), x)


def test_pgd_stays_in_the_ball_and_beats_fgsm_on_average():
    model = small_net(5)
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 1, 8, 8)), rng.integers(0, 4, 30)
    epsilon = 0.1
    adv = pgd(model, x, y, epsilon, steps=10, rng=0)
    assert np.abs(adv - x).max() <= epsilon + 1e-12 and adv.min() >= 0 and adv.max() <= 1
    assert (
        loss_per_example(model, adv, y).mean()
        >= loss_per_example(model, fgsm(model, x, y, epsilon), y).mean()
    )
    np.testing.assert_array_equal(
        pgd(model, x, y, epsilon, rng=4), pgd(model, x, y, epsilon, rng=4)
    )
    # without a random start, one step of size epsilon is FGSM
    one = pgd(model, x, y, epsilon, steps=1, step_size=epsilon, random_start=False)
    np.testing.assert_array_equal(one, fgsm(model, x, y, epsilon))


def test_float32_networks_keep_their_dtype():
    model = small_net(0, np.float32)
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 3])
    assert fgsm(model, x, y, 0.1).dtype == np.float32
    assert pgd(model, x, y, 0.1, steps=2).dtype == np.float32


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m, x, y: fgsm(object(), x, y, 0.1), TypeError, "model must be a dlcv.layers"),
        (lambda m, x, y: fgsm(m, x, y, -0.1), ValueError, "epsilon must be a finite number >= 0"),
        (lambda m, x, y: fgsm(m, x, y, "big"), TypeError, "epsilon must be a number"),
        (lambda m, x, y: fgsm(m, x, y[:2], 0.1), ValueError, "labels must be 4 integer classes"),
        (lambda m, x, y: fgsm(m, x, y + 10, 0.1), ValueError, r"labels must be classes 0\.\.3"),
        (lambda m, x, y: fgsm(m, x * np.nan, y, 0.1), ValueError, "finite pixel values"),
        (lambda m, x, y: fgsm(m, x.astype(int), y, 0.1), ValueError, "x must be a float array"),
        (lambda m, x, y: pgd(m, x, y, 0.1, steps=0), ValueError, "steps must be at least 1"),
        (lambda m, x, y: pgd(m, x, y, 0.1, step_size=-1), ValueError, "step_size must be"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    model = small_net(0)
    x, y = np.random.default_rng(0).random((4, 1, 8, 8)), np.array([0, 1, 2, 3])
    with pytest.raises(error, match=match):
        call(model, x, y)


def test_a_linear_model_of_other_pixels_is_refused():
    clf, x, y = linear_model(3)
    with pytest.raises(ValueError, match="x has 64 pixels per image, the model 16"):
        input_gradient(clf, np.zeros((2, 1, 8, 8)), y[:2])
    with pytest.raises(ValueError, match="labels must be among the model's classes"):
        input_gradient(clf, x[:2], np.array([0, 7]))
