"""dlcv.contrastive.info_nce against a plain loop and its gradient against centred differences."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import contrastive
from dlcv.contrastive import info_nce
from dlcv.gradcheck import numerical_gradient, relative_error


def loop_loss(h1, h2, tau):
    h = np.concatenate([h1, h2])
    z = h / np.linalg.norm(h, axis=1, keepdims=True)
    n2, n = len(h), len(h1)
    total = 0.0
    for i in range(n2):
        partner = (i + n) % n2
        denominator = sum(np.exp(z[i] @ z[k] / tau) for k in range(n2) if k != i)
        total += -np.log(np.exp(z[i] @ z[partner] / tau) / denominator)
    return total / n2


def test_the_module_examples_hold():
    assert doctest.testmod(contrastive).failed == 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), d=st.integers(1, 5),
       tau=st.sampled_from([0.1, 0.5, 1.0, 2.0]))  # fmt: skip
def test_the_loss_is_the_plain_loop_and_its_gradient_is_right(seed, n, d, tau):
    rng = np.random.default_rng(seed)
    h1, h2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    loss, (g1, g2) = info_nce(h1, h2, tau)
    assert loss == pytest.approx(loop_loss(h1, h2, tau), rel=1e-10)
    n1 = numerical_gradient(lambda: info_nce(h1, h2, tau)[0], h1)
    n2 = numerical_gradient(lambda: info_nce(h1, h2, tau)[0], h2)
    assert relative_error(g1, n1) < 1e-6 and relative_error(g2, n2) < 1e-6


def test_the_loss_does_not_depend_on_the_length_of_the_embeddings():
    rng = np.random.default_rng(0)
    h1, h2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    scaled = info_nce(3.0 * h1, 0.2 * h2)[0]
    assert scaled == pytest.approx(info_nce(h1, h2)[0], rel=1e-12)
    # perfect partners far from the others give a loss near log(1) = 0 at low temperature
    eye = np.eye(4)
    assert info_nce(eye, eye, 0.05)[0] < 1e-6


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.ones((1, 3)), np.ones((1, 3))), ValueError, "N >= 2"),
        ((np.ones((3, 3)), np.ones((2, 3))), ValueError, "same shape"),
        ((np.ones(3), np.ones(3)), ValueError, "h1 must be finite float embeddings"),
        ((np.ones((2, 2)), np.full((2, 2), np.nan)), ValueError, "h2 must be finite"),
        ((np.zeros((2, 2)), np.ones((2, 2))), ValueError, "embedding of h1 or h2 is zero"),
        ((np.ones((2, 2)), np.ones((2, 2)), 0.0), ValueError, "temperature must be > 0"),
        ((np.ones((2, 2)), np.ones((2, 2)), "hot"), TypeError, "temperature must be a number"),
    ],
)
def test_bad_input_names_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        info_nce(*args)
