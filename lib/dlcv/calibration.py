"""Is a classifier's confidence honest? Reliability diagrams and calibration errors.

A classifier that says "90 %" should be right 9 times out of 10 on the images where it
says so. To check, take each image's *confidence* (the largest predicted probability)
and *prediction* (the class of that probability, ``argmax``; ties go to the lowest
class index), sort the images into ``n_bins`` equal-width bins of confidence on [0, 1],
and compare, bin by bin, the mean confidence with the accuracy:

* :func:`reliability` -- the numbers behind a reliability diagram (bin edges, mean
  confidence, accuracy and count per bin);
* :func:`expected_calibration_error` -- ECE, the gap averaged over the images:
  ``sum over bins of (count / N) * |accuracy - confidence|``, from 0 (calibrated) to 1;
* :func:`maximum_calibration_error` -- MCE, the largest gap of any non-empty bin.

Both are defined as in Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern
Neural Networks", ICML, with 15 bins by default as there.

Binning convention
------------------
The edges are ``np.linspace(0, 1, n_bins + 1)`` and the bins are closed on the right,
like the usual ECE implementations: bin ``b`` holds the confidences ``c`` with
``edges[b] < c <= edges[b + 1]``. A confidence of exactly 0 would go into the first bin
(it cannot happen: the largest of K probabilities that sum to 1 is at least 1 / K).

ECE depends on the number of bins and, for few images, is biased upward (a perfectly
calibrated classifier still shows a gap of order ``sqrt(n_bins / N)`` by chance):
compare ECEs only at the same ``n_bins`` and similar ``N``.

>>> import numpy as np
>>> from dlcv.calibration import expected_calibration_error, reliability
>>> probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.65, 0.35], [0.25, 0.75]])
>>> labels = np.array([0, 1, 0, 1])
>>> r = reliability(probabilities, labels, n_bins=5)
>>> r.counts
array([0, 0, 0, 2, 2])
>>> r.accuracy
array([nan, nan, nan, 1. , 0.5])
>>> r.confidence.round(3)
array([nan, nan, nan, 0.7, 0.9])
>>> round(expected_calibration_error(probabilities, labels, n_bins=5), 3)  # (2*0.3 + 2*0.4)/4
0.35
>>> reliability([[0.6, 0.4]], [0], n_bins=5).counts  # 0.6 is an edge: it is in (0.4, 0.6]
array([0, 0, 1, 0, 0])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcv.validate import as_float_array, check_int

__all__ = [
    "SUM_TOLERANCE",
    "Reliability",
    "expected_calibration_error",
    "maximum_calibration_error",
    "reliability",
]

SUM_TOLERANCE = 1e-3
"""How far from 1 a row of ``probabilities`` may sum (float16 and float32 softmax
outputs are well within it; logits or unnormalised scores are not)."""


class Reliability(NamedTuple):
    """The numbers behind a reliability diagram (see :func:`reliability`)."""

    edges: np.ndarray
    """(n_bins + 1,) float64: bin edges, ``np.linspace(0, 1, n_bins + 1)``."""
    confidence: np.ndarray
    """(n_bins,) float64: mean confidence of the images in each bin, NaN if it is empty."""
    accuracy: np.ndarray
    """(n_bins,) float64: fraction of them classified correctly, NaN if it is empty."""
    counts: np.ndarray
    """(n_bins,) int64: how many images fall into each bin; they sum to N."""


def _check(probabilities, labels, n_bins):
    """Validated ``(probabilities (N, K) float, labels (N,) int64, n_bins int)``."""
    n_bins = check_int(n_bins, "n_bins", 1)
    p = as_float_array(probabilities, "probabilities", (2,), "(N, K), one row per image")
    n, k = p.shape
    if not np.isfinite(p).all():
        row = int(np.flatnonzero(~np.isfinite(p).all(axis=1))[0])
        raise ValueError(
            f"probabilities must be finite, got NaN or infinity in row {row} of shape {p.shape}"
        )
    if p.min() < 0 or p.max() > 1:
        row = int(np.flatnonzero(((p < 0) | (p > 1)).any(axis=1))[0])
        raise ValueError(
            f"probabilities must lie in [0, 1], got row {row} = {p[row].tolist()} of shape "
            f"{p.shape}; are these logits? use scipy.special.softmax(logits, axis=1)"
        )
    sums = p.sum(axis=1)
    bad = np.abs(sums - 1) > SUM_TOLERANCE
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        hint = (
            "; for a binary classifier's p(class 1) pass np.stack([1 - p, p], axis=1)"
            if k == 1
            else "; are these logits or scores? use scipy.special.softmax(logits, axis=1)"
        )
        raise ValueError(
            f"each row of probabilities must sum to 1 (within {SUM_TOLERANCE:g}), got "
            f"{np.count_nonzero(bad)} of {n} rows that do not, the first row {row} summing "
            f"to {sums[row]:.6g}{hint}"
        )
    try:
        y = np.asarray(labels)
    except (TypeError, ValueError) as err:
        raise TypeError(f"labels must be an array of class indices (N,); {err}") from None
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"labels must be integer class indices, got dtype {y.dtype} with shape {y.shape}"
            + ("; for float labels use labels.astype(int)" if y.dtype.kind == "f" else "")
        )
    if y.shape != (n,):
        hint = "; one-hot labels? use labels.argmax(axis=1)" if y.shape == p.shape else ""
        raise ValueError(
            f"labels must have shape (N,) = ({n},), one class index per row of probabilities "
            f"{p.shape}, got shape {y.shape}{hint}"
        )
    if y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"labels must be class indices from 0 to {k - 1} (probabilities has K = {k} "
            f"columns), got labels from {y.min()} to {y.max()}"
        )
    return p, y.astype(np.int64, copy=False), n_bins


def reliability(probabilities, labels, n_bins: int = 15) -> Reliability:
    """Mean confidence, accuracy and count in each of ``n_bins`` bins of confidence.

    Parameters
    ----------
    probabilities : array_like, shape (N, K)
        Predicted class probabilities, one row per image (softmax outputs): entries in
        [0, 1], each row summing to 1 within :data:`SUM_TOLERANCE`.
    labels : array_like of int, shape (N,)
        The true class of each image, from 0 to K - 1.
    n_bins : int, default 15
        Number of equal-width bins on [0, 1], at least 1.

    Returns
    -------
    Reliability
        ``edges`` (n_bins + 1,), ``confidence`` (n_bins,), ``accuracy`` (n_bins,) and
        ``counts`` (n_bins,): bin ``b`` holds the images whose confidence ``c`` (the row's
        maximum) satisfies ``edges[b] < c <= edges[b + 1]`` (``c = 0`` in bin 0).
        Empty bins have NaN confidence and accuracy and a count of 0.

    Raises
    ------
    TypeError
        Non-numeric ``probabilities``, labels that are not integers, ``n_bins`` not an int.
    ValueError
        ``probabilities`` not (N, K), empty, with NaN, entries outside [0, 1] or rows
        not summing to 1; ``labels`` of another shape or out of range; ``n_bins < 1``.

    Examples
    --------
    >>> r = reliability([[0.8, 0.2], [0.3, 0.7]], [0, 0], n_bins=2)
    >>> r.edges, r.counts
    (array([0. , 0.5, 1. ]), array([0, 2]))
    >>> r.confidence, r.accuracy
    (array([ nan, 0.75]), array([nan, 0.5]))
    """
    p, y, n_bins = _check(probabilities, labels, n_bins)
    confidence = p.max(axis=1).astype(np.float64)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted(side="left") gives i with edges[i - 1] < c <= edges[i]: bin i - 1
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    mean_confidence = np.full(n_bins, np.nan)
    accuracy = np.full(n_bins, np.nan)
    mean_confidence[filled] = np.bincount(bins, confidence, n_bins)[filled] / counts[filled]
    accuracy[filled] = np.bincount(bins, correct, n_bins)[filled] / counts[filled]
    return Reliability(edges, mean_confidence, accuracy, counts.astype(np.int64))


def _gaps(result: Reliability) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, |accuracy - confidence|)`` of the non-empty bins."""
    filled = result.counts > 0
    weights = result.counts[filled] / result.counts.sum()
    return weights, np.abs(result.accuracy[filled] - result.confidence[filled])


def expected_calibration_error(probabilities, labels, n_bins: int = 15) -> float:
    """Expected calibration error: the confidence-accuracy gap, weighted by bin size.

    ``ECE = sum over bins b of (counts[b] / N) * |accuracy[b] - confidence[b]|`` with the
    bins of :func:`reliability` (empty bins add nothing); Guo et al. (2017), eq. 3.

    Parameters
    ----------
    probabilities : array_like, shape (N, K)
        Predicted class probabilities, rows summing to 1.
    labels : array_like of int, shape (N,)
        True classes, from 0 to K - 1.
    n_bins : int, default 15
        Number of equal-width confidence bins.

    Returns
    -------
    float
        From 0 (confidence matches accuracy in every bin) to 1 (always sure, always
        wrong).

    Raises
    ------
    TypeError, ValueError
        As :func:`reliability`.

    Examples
    --------
    >>> expected_calibration_error([[1.0, 0.0], [0.0, 1.0]], [1, 0])  # sure and wrong
    1.0
    >>> expected_calibration_error([[0.5, 0.5], [0.5, 0.5]], [0, 1])  # 50 %, right half the time
    0.0
    """
    weights, gaps = _gaps(reliability(probabilities, labels, n_bins))
    return float(np.sum(weights * gaps))


def maximum_calibration_error(probabilities, labels, n_bins: int = 15) -> float:
    """Maximum calibration error: the largest confidence-accuracy gap of a non-empty bin.

    ``MCE = max over non-empty bins b of |accuracy[b] - confidence[b]|`` (Guo et al.,
    2017, eq. 5). It weighs a bin of one image as much as a bin of thousands, so it is
    noisy for small ``N``; it matters where every confident decision must be trusted.

    Parameters
    ----------
    probabilities : array_like, shape (N, K)
        Predicted class probabilities, rows summing to 1.
    labels : array_like of int, shape (N,)
        True classes, from 0 to K - 1.
    n_bins : int, default 15
        Number of equal-width confidence bins.

    Returns
    -------
    float
        From 0 to 1; always at least the ECE.

    Raises
    ------
    TypeError, ValueError
        As :func:`reliability`.

    Examples
    --------
    >>> p = [[0.9, 0.1], [0.9, 0.1], [0.65, 0.35], [0.65, 0.35]]
    >>> round(maximum_calibration_error(p, [0, 1, 0, 0], n_bins=5), 3)  # 0.9 vs 0.5
    0.4
    """
    _, gaps = _gaps(reliability(probabilities, labels, n_bins))
    return float(gaps.max())
