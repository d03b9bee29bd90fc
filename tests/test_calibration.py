"""dlcv.calibration: the bins, ECE and MCE agree with a plain double loop; a calibrated
classifier scores near 0, a sure-and-always-wrong one exactly 1; every bad argument is
refused by name."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import calibration
from dlcv.calibration import (
    SUM_TOLERANCE,
    Reliability,
    expected_calibration_error,
    maximum_calibration_error,
    reliability,
)


def loop_reference(probabilities, labels, n_bins):
    """Bins, ECE and MCE by the definition, one image and one bin at a time."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    n = len(probabilities)
    confidence = [max(row) for row in probabilities]
    correct = [
        int(np.argmax(row)) == label for row, label in zip(probabilities, labels, strict=True)
    ]
    counts, mean_conf, accuracy = [], [], []
    ece, mce = 0.0, 0.0
    for b in range(n_bins):
        members = []
        for i in range(n):
            c = confidence[i]
            if edges[b] < c <= edges[b + 1] or (b == 0 and c == 0):
                members.append(i)
        counts.append(len(members))
        if not members:
            mean_conf.append(np.nan)
            accuracy.append(np.nan)
            continue
        conf_b = sum(confidence[i] for i in members) / len(members)
        acc_b = sum(correct[i] for i in members) / len(members)
        mean_conf.append(conf_b)
        accuracy.append(acc_b)
        ece += len(members) / n * abs(acc_b - conf_b)
        mce = max(mce, abs(acc_b - conf_b))
    return edges, np.array(mean_conf), np.array(accuracy), np.array(counts), ece, mce


@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n, k, n_bins = draw(st.integers(1, 80)), draw(st.integers(1, 6)), draw(st.integers(1, 20))
    kind = draw(st.sampled_from(["smooth", "on edges", "one-hot", "mixed"]))
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        raw = rng.gamma(rng.choice([0.2, 1.0, 5.0]), size=(n, k)) + 1e-12
    elif kind == "on edges":  # small whole numbers: 1/2, 1/3, 3/4... land on bin edges
        raw = rng.integers(0, 4, size=(n, k)).astype(float)
        raw[raw.sum(axis=1) == 0, 0] = 1.0
    elif kind == "one-hot":
        raw = np.eye(k)[rng.integers(0, k, n)]
    else:
        raw = np.where(rng.random((n, k)) < 0.5, rng.random((n, k)), 0.0)
        raw[raw.sum(axis=1) == 0, -1] = 1.0
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    return probabilities, labels, n_bins


@given(cases())
@settings(max_examples=400, deadline=None)
def test_reliability_ece_and_mce_agree_with_a_plain_double_loop(case):
    probabilities, labels, n_bins = case
    edges, conf, acc, counts, ece, mce = loop_reference(probabilities, labels, n_bins)
    r = reliability(probabilities, labels, n_bins)
    assert isinstance(r, Reliability)
    assert r.edges.shape == (n_bins + 1,) and r.counts.shape == (n_bins,)
    np.testing.assert_array_equal(r.edges, edges)
    np.testing.assert_array_equal(r.counts, counts)
    assert r.counts.dtype == np.int64 and r.counts.sum() == len(labels)
    np.testing.assert_allclose(r.confidence, conf, rtol=1e-12, atol=1e-15)  # NaN = NaN
    np.testing.assert_allclose(r.accuracy, acc, rtol=1e-12, atol=1e-15)
    assert np.array_equal(np.isnan(r.confidence), counts == 0)
    got_ece = expected_calibration_error(probabilities, labels, n_bins)
    got_mce = maximum_calibration_error(probabilities, labels, n_bins)
    assert isinstance(got_ece, float) and isinstance(got_mce, float)
    assert got_ece == pytest.approx(ece, rel=1e-12, abs=1e-15)
    assert got_mce == pytest.approx(mce, rel=1e-12, abs=1e-15)
    assert 0 <= got_ece <= got_mce + 1e-15 <= 1 + 1e-15


def test_a_confidence_on_an_edge_goes_to_the_bin_below_it():
    # right-closed bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]: each confidence
    # below sits on an edge (0.4, 0.6, 0.8, 1.0) and goes into the bin it closes
    rows = [[0.4, 0.3, 0.3], [0.6, 0.4, 0.0], [0.8, 0.1, 0.1], [1.0, 0.0, 0.0]]
    r = reliability(rows, [0, 0, 0, 0], n_bins=5)
    np.testing.assert_array_equal(r.counts, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(r.confidence[1:], [0.4, 0.6, 0.8, 1.0])
    r = reliability([[0.5, 0.5]], [0], n_bins=2)  # 0.5 is edges[1]: the first bin
    np.testing.assert_array_equal(r.counts, [1, 0])


def test_a_calibrated_classifier_has_a_small_ece():
    # Labels drawn from the predicted probabilities themselves: calibrated by construction.
    # With N = 200,000 and 15 bins the chance gap is about sqrt(2 / pi) * sqrt(15 / N) / 2
    # ~ 0.002; we allow 0.01.
    rng = np.random.default_rng(0)
    n, k = 200_000, 10
    probabilities = rng.dirichlet(np.full(k, 0.3), size=n)
    cumulative = probabilities.cumsum(axis=1)
    labels = np.minimum((rng.random((n, 1)) > cumulative).sum(axis=1), k - 1)
    r = reliability(probabilities, labels)
    assert (r.counts > 0).sum() >= 12  # the confidences spread over most bins
    assert expected_calibration_error(probabilities, labels) < 0.01
    filled = r.counts > 1000
    np.testing.assert_allclose(r.accuracy[filled], r.confidence[filled], atol=0.03)
    # ... and the test has teeth: the same classifier made overconfident (temperature 0.5)
    sharp = probabilities**2 / (probabilities**2).sum(axis=1, keepdims=True)
    assert expected_calibration_error(sharp, labels) > 0.05
    r = reliability(sharp, labels)
    filled = r.counts > 1000
    assert (r.accuracy[filled] < r.confidence[filled]).all()  # overconfident in every bin


@pytest.mark.parametrize("k", [1, 2, 10])
def test_always_sure_and_always_wrong_gives_exactly_one(k):
    labels = np.arange(60) % k
    if k == 1:  # with one class the prediction is always right: ECE 0, exactly
        assert expected_calibration_error(np.ones((60, 1)), labels) == 0.0
        return
    probabilities = np.eye(k)[(labels + 1) % k]  # all mass on a wrong class
    assert expected_calibration_error(probabilities, labels) == 1.0
    assert maximum_calibration_error(probabilities, labels) == 1.0
    assert expected_calibration_error(np.eye(k)[labels], labels) == 0.0  # sure and right


@given(st.integers(0, 2**32 - 1), st.integers(1, 200), st.integers(2, 8))
@settings(max_examples=60, deadline=None)
def test_one_bin_is_the_gap_between_accuracy_and_mean_confidence(seed, n, k):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    labels = rng.integers(0, k, n)
    gap = abs((probabilities.argmax(1) == labels).mean() - probabilities.max(1).mean())
    assert expected_calibration_error(probabilities, labels, n_bins=1) == pytest.approx(gap)
    assert maximum_calibration_error(probabilities, labels, n_bins=1) == pytest.approx(gap)
    r = reliability(probabilities, labels, n_bins=1)
    np.testing.assert_array_equal(r.edges, [0.0, 1.0])
    assert r.counts.tolist() == [n]


def test_order_dtype_and_plain_lists_do_not_matter():
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(4), size=300)
    labels = rng.integers(0, 4, 300)
    ece = expected_calibration_error(probabilities, labels)
    order = rng.permutation(300)
    assert expected_calibration_error(probabilities[order], labels[order]) == pytest.approx(ece)
    p32 = probabilities.astype(np.float32)
    assert expected_calibration_error(p32, labels.astype(np.uint8)) == pytest.approx(ece, abs=1e-6)
    assert expected_calibration_error(probabilities.tolist(), labels.tolist()) == pytest.approx(ece)
    p16 = probabilities.astype(np.float16)  # rows sum to 1 only within float16's rounding
    assert expected_calibration_error(p16, labels) == pytest.approx(ece, abs=2e-3)
    # rows may be off 1 by up to SUM_TOLERANCE (rounding), not more
    assert reliability([[0.5, 0.5 + SUM_TOLERANCE / 2]], [1], n_bins=4).counts.tolist() == [
        0,
        0,
        1,
        0,
    ]
    with pytest.raises(ValueError, match="must sum to 1"):
        reliability([[0.5, 0.5 + 2 * SUM_TOLERANCE]], [1])


def test_reliability_has_a_value_per_bin_and_nan_only_where_empty():
    r = reliability([[0.95, 0.05], [0.55, 0.45]], [0, 1], n_bins=10)
    assert r.counts.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert np.isnan(r.confidence).sum() == 8 and np.isnan(r.accuracy).sum() == 8
    assert r.confidence[5] == 0.55 and r.accuracy[5] == 0.0
    assert r.confidence[9] == 0.95 and r.accuracy[9] == 1.0
    assert r.edges.dtype == r.confidence.dtype == r.accuracy.dtype == np.float64


# --- bad input -----------------------------------------------------------------------------------
P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
Y = np.array([0, 2])
NAN = P.copy()
NAN[1, 1] = np.nan
NEG = np.array([[0.7, 0.4, -0.1], [0.1, 0.1, 0.8]])
BAD = {
    "row sums to 0.9": (
        lambda: reliability(P * 0.9, Y),
        ValueError,
        "row of probabilities must sum to 1",
    ),
    "row sums to 1.01": (
        lambda: reliability([[0.5, 0.51]], [0]),
        ValueError,
        r"row 0 summing to 1\.01",
    ),
    "logits": (lambda: reliability(np.log(P) + 3, Y), ValueError, r"probabilities .*softmax"),
    "negative entry": (
        lambda: reliability(NEG, Y),
        ValueError,
        r"probabilities must lie in \[0, 1\].*row 0",
    ),
    "entry above 1": (
        lambda: reliability([[1.5, -0.5]], [0]),
        ValueError,
        r"probabilities must lie in \[0, 1\]",
    ),
    "NaN entry": (lambda: reliability(NAN, Y), ValueError, "probabilities must be finite.*row 1"),
    "infinite entry": (
        lambda: reliability([[np.inf, 0.0]], [0]),
        ValueError,
        "probabilities must be finite",
    ),
    "1-D probabilities": (
        lambda: reliability(P[0], [0]),
        ValueError,
        r"probabilities must have shape \(N, K\)",
    ),
    "3-D probabilities": (
        lambda: reliability(P[None], Y),
        ValueError,
        r"probabilities must have shape \(N, K\)",
    ),
    "empty probabilities": (
        lambda: reliability(np.zeros((0, 3)), []),
        ValueError,
        "probabilities must not be empty",
    ),
    "string probabilities": (lambda: reliability([["a", "b"]], [0]), TypeError, "probabilities"),
    "binary column": (
        lambda: reliability([[0.3], [0.9]], [0, 1]),
        ValueError,
        r"np\.stack\(\[1 - p, p\]",
    ),
    "too few labels": (
        lambda: reliability(P, [0]),
        ValueError,
        r"labels must have shape \(N,\) = \(2,\).*\(1,\)",
    ),
    "too many labels": (lambda: reliability(P, [0, 1, 2]), ValueError, r"labels .*\(3,\)"),
    "2-D labels": (lambda: reliability(P, Y[:, None]), ValueError, r"labels .*\(2, 1\)"),
    "one-hot labels": (
        lambda: reliability(P, np.eye(3, dtype=int)[Y]),
        ValueError,
        r"labels.*argmax",
    ),
    "scalar label": (lambda: reliability(P[:1], 0), ValueError, r"labels must have shape"),
    "label too big": (lambda: reliability(P, [0, 3]), ValueError, r"labels .*0 to 2.*K = 3"),
    "negative label": (lambda: reliability(P, [-1, 0]), ValueError, r"labels .*from -1"),
    "float labels": (lambda: reliability(P, [0.0, 2.0]), TypeError, "labels must be integer"),
    "bool labels": (lambda: reliability(P, [True, False]), TypeError, "labels must be integer"),
    "string labels": (lambda: reliability(P, ["0", "2"]), TypeError, "labels must be integer"),
    "n_bins 0": (lambda: reliability(P, Y, n_bins=0), ValueError, "n_bins must be at least 1"),
    "n_bins -3": (lambda: expected_calibration_error(P, Y, n_bins=-3), ValueError, "n_bins"),
    "n_bins float": (
        lambda: maximum_calibration_error(P, Y, n_bins=10.0),
        TypeError,
        "n_bins must be an integer",
    ),
    "n_bins None": (lambda: reliability(P, Y, n_bins=None), TypeError, "n_bins"),
}


@pytest.mark.parametrize(("call", "error", "match"), BAD.values(), ids=BAD)
def test_bad_arguments_are_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("function", [expected_calibration_error, maximum_calibration_error])
def test_ece_and_mce_check_like_reliability(function):
    with pytest.raises(ValueError, match="labels"):
        function(P, [0, 5])
    with pytest.raises(ValueError, match="probabilities"):
        function(P * 2, Y)


def test_the_docstring_examples():
    assert doctest.testmod(calibration).failed == 0
