"""dlcv.saliency: each map against a direct computation (numerical gradients, patch by patch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv.gradcheck import numerical_gradient, relative_error
from dlcv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, softmax
from dlcv.saliency import (
    deletion_curve,
    gradient_map,
    gradient_times_input,
    integrated_gradients,
    occlusion_map,
    randomise_layers,
)


def net(seed=0, channels=2) -> Sequential:
    return Sequential(
        [
            Conv2D(channels, 4, 3, padding=1, rng=seed, dtype=np.float64),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(4 * 4 * 4, 3, rng=seed + 1, dtype=np.float64),
        ]
    )


def logit(model, x, label) -> float:
    return float(model.forward(x[None])[0, label])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), label=st.integers(0, 2))
def test_gradient_maps_are_the_logits_gradient(seed, label):
    model = net(seed)
    x = np.random.default_rng(seed).random((2, 8, 8))
    probe = x.copy()
    numeric = numerical_gradient(lambda: logit(model, probe, label), probe)
    g = gradient_map(model, x, label)
    assert relative_error(g, np.abs(numeric).sum(axis=0)) < 1e-6
    gi = gradient_times_input(model, x, label)
    assert relative_error(gi, (x * numeric).sum(axis=0)) < 1e-6


def test_integrated_gradients_add_up_to_the_change_of_the_logit():
    model, x = net(3), np.random.default_rng(3).random((2, 8, 8))
    for label in range(3):
        ig = integrated_gradients(model, x, label, steps=400)
        change = logit(model, x, label) - logit(model, np.zeros_like(x), label)
        assert ig.sum() == pytest.approx(change, rel=1e-3, abs=1e-6)
    # with a baseline equal to the image, nothing changes
    assert np.all(integrated_gradients(model, x, 0, baseline=x) == 0)


def test_occlusion_is_the_drop_of_each_patch():
    model, x = net(1), np.random.default_rng(1).random((2, 8, 8))
    label = 2
    occ = occlusion_map(model, x, label, patch=4, stride=4, fill=0.5)  # four disjoint patches
    p = softmax(model.forward(x[None]))[0, label]
    for i in (0, 4):
        for j in (0, 4):
            hidden = x.copy()
            hidden[:, i : i + 4, j : j + 4] = 0.5
            drop = p - softmax(model.forward(hidden[None]))[0, label]
            np.testing.assert_allclose(occ[i : i + 4, j : j + 4], drop, rtol=1e-12)
    overlapping = occlusion_map(model, x, label, patch=4, stride=2)
    assert overlapping.shape == (8, 8) and np.isfinite(overlapping).all()


def test_the_deletion_curve_deletes_the_most_salient_pixels_first():
    model, x = net(2), np.random.default_rng(2).random((2, 8, 8))
    saliency = np.arange(64.0).reshape(8, 8)  # the last pixel is the most salient
    fractions, probs, area = deletion_curve(model, x, 1, saliency, steps=4, fill=0.0)
    np.testing.assert_allclose(fractions, [0, 0.25, 0.5, 0.75, 1.0])
    p = lambda im: softmax(model.forward(im[None]))[0, 1]  # noqa: E731
    assert probs[0] == pytest.approx(p(x)) and probs[-1] == pytest.approx(p(np.zeros_like(x)))
    half = x.copy()
    half[:, 4:, :] = 0.0  # the 32 most salient pixels are the bottom half
    assert probs[2] == pytest.approx(p(half))
    assert area == pytest.approx(np.trapezoid(probs, fractions))


def test_randomising_layers_changes_those_and_nothing_else():
    model = net(0)
    before = [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]
    other = randomise_layers(model, [4], rng=1)
    for layer, saved in zip(model.layers, before, strict=True):  # the original is untouched
        for k, v in saved.items():
            np.testing.assert_array_equal(layer.params[k], v)
    np.testing.assert_array_equal(
        other.layers[0].params["weight"], model.layers[0].params["weight"]
    )
    assert not np.allclose(other.layers[4].params["weight"], model.layers[4].params["weight"])
    assert np.all(other.layers[4].params["bias"] == 0)
    std = model.layers[4].params["weight"].std()
    assert other.layers[4].params["weight"].std() == pytest.approx(std, rel=0.2)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m, x: gradient_map(object(), x, 0), TypeError, "model must be a dlcv.layers"),
        (lambda m, x: gradient_map(m, x[0], 0), ValueError, r"image must be one finite float"),
        (lambda m, x: gradient_map(m, x * np.nan, 0), ValueError, "image must be one finite"),
        (lambda m, x: gradient_map(m, x, 3), ValueError, r"label must be a class 0\.\.2"),
        (lambda m, x: gradient_map(m, x, 1.5), TypeError, "label must be an integer"),
        (lambda m, x: occlusion_map(m, x, 0, patch=9), ValueError, "patch .* is larger"),
        (lambda m, x: deletion_curve(m, x, 0, np.ones((4, 4))), ValueError, "saliency must be"),
        (lambda m, x: deletion_curve(m, x, 0, np.ones((8, 8)), steps=0), ValueError, "steps"),
        (
            lambda m, x: integrated_gradients(m, x, 0, baseline=np.zeros((2, 4, 4))),
            ValueError,
            "baseline must have the image's shape",
        ),
        (lambda m, x: randomise_layers(m, [9]), ValueError, "layers must index the model's 5"),
        (lambda m, x: randomise_layers(m, [1]), ValueError, "layer 1 .* has no weights"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(net(0), np.random.default_rng(0).random((2, 8, 8)))
