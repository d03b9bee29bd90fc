"""dlcv.fewshot: episodes, prototypes, and the prototypical loss's gradient checked numerically."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import fewshot
from dlcv.fewshot import (
    mean_confidence_interval,
    prototype_logits,
    prototypes,
    prototypical_loss,
    sample_episode,
)
from dlcv.gradcheck import numerical_gradient, relative_error


def test_the_module_examples_hold():
    assert doctest.testmod(fewshot).failed == 0


def test_an_episode_draws_disjoint_examples_of_the_chosen_classes():
    labels = np.repeat(np.arange(10), 20)
    ep = sample_episode(labels, [5, 6, 7, 8, 9], n_way=5, k_shot=3, n_query=4, rng=0)
    assert sorted(ep.classes) == [5, 6, 7, 8, 9]
    assert len(ep.support) == 15 and len(ep.query) == 20
    assert not set(ep.support) & set(ep.query)
    np.testing.assert_array_equal(labels[ep.support], np.repeat(ep.classes, 3))
    np.testing.assert_array_equal(labels[ep.query], np.repeat(ep.classes, 4))
    again = sample_episode(labels, [5, 6, 7, 8, 9], 5, 3, 4, rng=0)
    np.testing.assert_array_equal(ep.support, again.support)


def test_logits_are_negative_squared_distances_to_class_means():
    rng = np.random.default_rng(0)
    support, labels = rng.normal(size=(6, 3)), np.array([2, 0, 2, 1, 0, 1])
    queries = rng.normal(size=(4, 3))
    classes, protos = prototypes(support, labels)
    np.testing.assert_array_equal(classes, [0, 1, 2])
    np.testing.assert_allclose(protos[2], support[[0, 2]].mean(axis=0))
    logits = prototype_logits(support, labels, queries)
    for i in range(4):
        for c in range(3):
            assert logits[i, c] == pytest.approx(-np.sum((queries[i] - protos[c]) ** 2))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_way=st.integers(2, 4), k=st.integers(1, 3))
def test_the_loss_gradient_matches_centred_differences(seed, n_way, k):
    rng = np.random.default_rng(seed)
    support = rng.normal(size=(n_way * k, 3))
    s_labels = np.repeat(np.arange(n_way), k)
    queries = rng.normal(size=(2 * n_way, 3))
    q_labels = np.tile(np.arange(n_way), 2)
    loss, acc, (ds, dq) = prototypical_loss(support, s_labels, queries, q_labels)
    f = lambda: prototypical_loss(support, s_labels, queries, q_labels)[0]  # noqa: E731
    assert relative_error(ds, numerical_gradient(f, support)) < 1e-6
    assert relative_error(dq, numerical_gradient(f, queries)) < 1e-6
    assert 0 <= acc <= 1 and loss > 0


def test_the_interval_is_the_normal_one():
    mean, half = mean_confidence_interval([0.5, 0.7, 0.6, 0.8])
    assert mean == pytest.approx(0.65)
    assert half == pytest.approx(1.96 * np.std([0.5, 0.7, 0.6, 0.8], ddof=1) / 2)
    assert mean_confidence_interval([0.9]) == (0.9, 0.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sample_episode(np.zeros(10, int), [0], 2, 1, 1), "n_way 2 is more than the 1"),
        (lambda: sample_episode(np.zeros(3, int), [0], 1, 2, 2), "class 0 has 3 examples"),
        (lambda: sample_episode(np.zeros(3, int), [0], 1, 0, 2), "k_shot must be at least 1"),
        (lambda: prototypes(np.ones(3), np.zeros(3, int)), "support must be finite float"),
        (lambda: prototypes(np.ones((3, 2)), np.zeros(2, int)), "support_labels must be 3"),
        (lambda: prototype_logits(np.ones((2, 2)), [0, 1], np.ones((1, 3))), "queries have 3"),
        (
            lambda: prototypical_loss(
                np.ones((2, 2)), np.array([0, 1]), np.ones((1, 2)), np.array([5])
            ),  # fmt: skip
            "query_labels must index the 2 support classes",
        ),
        (lambda: mean_confidence_interval([]), "values must be a non-empty"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
