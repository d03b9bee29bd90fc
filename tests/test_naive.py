"""dlcv.naive: the obvious loops agree with the fast kernels on many random cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import naive
from dlcv.conv import conv2d, convolve2d, correlate2d
from dlcv.pool import avg_pool2d, max_pool2d

paddings = st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    padding=paddings,
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
    flip=st.booleans(),
)
def test_correlate_and_convolve_match_the_fast_kernels(
    h, w, kh, kw, padding, stride, dilation, seed, flip
):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    fast, slow = (convolve2d, naive.convolve2d) if flip else (correlate2d, naive.correlate2d)
    try:
        expected = fast(image, kernel, padding, stride, dilation)
    except ValueError:  # the kernel does not fit: the naive loop must say so too
        with pytest.raises(ValueError):
            slow(image, kernel, padding, stride, dilation)
        return
    np.testing.assert_allclose(
        slow(image, kernel, padding, stride, dilation), expected, rtol=1e-12, atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    f=st.integers(1, 3),
    size=st.integers(3, 7),
    k=st.integers(1, 3),
    padding=st.integers(0, 1),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_matches_the_fast_kernel(n, c, f, size, k, padding, stride, dilation, bias, seed):
    rng = np.random.default_rng(seed)
    x, weight = rng.normal(size=(n, c, size, size)), rng.normal(size=(f, c, k, k))
    b = rng.normal(size=f) if bias else None
    if size + 2 * padding < dilation * (k - 1) + 1:
        return
    np.testing.assert_allclose(
        naive.conv2d(x, weight, b, stride, padding, dilation),
        conv2d(x, weight, b, stride, padding, dilation),
        rtol=1e-12,
        atol=1e-12,
    )


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from([(5, 7), (2, 6, 5), (2, 1, 7, 7)]),
    k=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 2),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_pools_match_the_fast_kernels(shape, k, stride, padding, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=shape).astype(float) if ties else rng.normal(size=shape)
    if 2 * padding > k or min(shape[-2:]) + 2 * padding < k:
        return
    np.testing.assert_array_equal(
        naive.max_pool2d(x, k, stride, padding), max_pool2d(x, k, stride, padding)
    )
    np.testing.assert_allclose(
        naive.avg_pool2d(x, k, stride, padding),
        avg_pool2d(x, k, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(3, 6),
    k=st.integers(1, 3),
    padding=st.sampled_from([0, 1, "same"]),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_conv2d_backward_matches_the_fast_kernel(size, k, padding, stride, dilation, seed):
    from dlcv.conv import conv2d_backward

    rng = np.random.default_rng(seed)
    x, weight = rng.normal(size=(2, 2, size, size)), rng.normal(size=(3, 2, k, k))
    if padding == 0 and size < dilation * (k - 1) + 1:
        return
    out = conv2d(x, weight, None, stride, padding, dilation)
    g = rng.normal(size=out.shape)
    for slow, fast in zip(
        naive.conv2d_backward(g, x, weight, stride, padding, dilation),
        conv2d_backward(g, x, weight, stride, padding, dilation),
        strict=True,
    ):
        np.testing.assert_allclose(slow, fast, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 30),
    threshold=st.sampled_from([0.1, 1 / 3, 0.5, 0.8, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_box_iou_and_nms_match_dlcv_detect(n, threshold, seed):
    from dlcv.detect import box_iou, nms

    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 12, (n, 2))  # a coarse grid: duplicates, ties, touching boxes
    boxes = np.concatenate([corners, corners + rng.integers(0, 6, (n, 2))], axis=1)
    scores = rng.integers(0, 4, n)  # many equal scores
    np.testing.assert_allclose(naive.box_iou(boxes, boxes), box_iou(boxes, boxes), atol=1e-15)
    assert naive.nms(boxes, scores, threshold).tolist() == nms(boxes, scores, threshold).tolist()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="image must have shape"):
        naive.correlate2d(np.ones(4), np.ones((2, 2)))
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints"):
        naive.correlate2d(np.ones((4, 4)), np.ones((2, 2)), stride=1.5)
    with pytest.raises(ValueError, match="does not fit"):
        naive.correlate2d(np.ones((2, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="padding .* must be at most half"):
        naive.max_pool2d(np.ones((4, 4)), 2, padding=2)
    with pytest.raises(ValueError, match=r"scores must have shape \(2,\)"):
        naive.nms(np.ones((2, 4)), [1.0])
