"""Tests of dlcv.pool against a direct formula, centred differences and PyTorch (if installed)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import data

from dlcv import avg_pool2d, max_pool2d
from dlcv.gradcheck import numerical_gradient, relative_error
from dlcv.pool import avg_pool2d_backward, max_pool2d_backward

SETTINGS = settings(max_examples=60, deadline=None, database=None)


# ---------------------------------------------------------------- references


def ref_windows(hw, kernel, stride, padding):
    """For each output pixel, the input rows and columns its window covers (no padding cells)."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = hw, kernel, stride, padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    for y in range(ho):
        for x in range(wo):
            rows = [r for r in range(y * sh - ph, y * sh - ph + kh) if 0 <= r < h]
            cols = [c for c in range(x * sw - pw, x * sw - pw + kw) if 0 <= c < w]
            yield (y, x), rows, cols


def ref_pool(x, kernel, stride, padding):
    """Direct formula on (..., H, W): max, first argmax (row-major) and mean counting padding."""
    planes = x.reshape(-1, *x.shape[-2:]).astype(np.float64)
    h, w = x.shape[-2:]
    ho, wo = (
        (h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (w + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )
    out_max, out_arg, out_avg = (np.zeros((len(planes), ho, wo)) for _ in range(3))
    for b, plane in enumerate(planes):
        for (y, xx), rows, cols in ref_windows(plane.shape, kernel, stride, padding):
            window = plane[np.ix_(rows, cols)]
            best = int(np.argmax(window))  # first maximum in row-major order; NaN wins
            out_max[b, y, xx] = window.flat[best]
            out_arg[b, y, xx] = rows[best // len(cols)] * w + cols[best % len(cols)]
            out_avg[b, y, xx] = window.sum() / (kernel[0] * kernel[1])
    out_shape = x.shape[:-2] + (ho, wo)
    return out_max.reshape(out_shape), out_arg.reshape(out_shape), out_avg.reshape(out_shape)


def as_pair(v):
    return v if isinstance(v, tuple) else (v, v)


@st.composite
def pool_cases(draw, levels=None):
    """Random (H, W) / (C, H, W) / (N, C, H, W) input and pooling sizes that fit."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kernel = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    k = as_pair(kernel)
    stride = draw(
        st.one_of(st.none(), st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))
    )
    padding = draw(st.tuples(st.integers(0, k[0] // 2), st.integers(0, k[1] // 2)))
    h = draw(st.integers(max(1, k[0] - 2 * padding[0]), 9))
    w = draw(st.integers(max(1, k[1] - 2 * padding[1]), 9))
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = rng.standard_normal(lead + (h, w))
    if levels is not None:  # few distinct values: many ties
        x = np.floor(x * levels)
    return x.astype(dtype), kernel, stride, padding


# ---------------------------------------------------------------- forward


@SETTINGS
@given(pool_cases())
def test_pooling_matches_direct_formula(case):
    x, kernel, stride, padding = case
    geometry = (as_pair(kernel), as_pair(kernel if stride is None else stride), padding)
    expected_max, expected_arg, expected_avg = ref_pool(x, *geometry)
    original = x.copy()
    out_max = max_pool2d(x, kernel, stride, padding)
    out_avg = avg_pool2d(x, kernel, stride, padding)
    out_max2, indices = max_pool2d(x, kernel, stride, padding, return_indices=True)
    assert out_max.dtype == out_avg.dtype == x.dtype and indices.dtype == np.int64
    assert out_max.shape == out_avg.shape == indices.shape == expected_max.shape
    np.testing.assert_array_equal(out_max, expected_max.astype(x.dtype))
    np.testing.assert_array_equal(out_max2, out_max)
    np.testing.assert_array_equal(indices, expected_arg)
    rtol = 1e-6 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out_avg, expected_avg, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(x, original)  # the input is never written to


@SETTINGS
@given(pool_cases(levels=1))
def test_ties_go_to_the_first_maximum_and_indices_gather_the_output(case):
    x, kernel, stride, padding = case
    out, indices = max_pool2d(x, kernel, stride, padding, return_indices=True)
    gathered = np.take_along_axis(
        x.reshape(*x.shape[:-2], -1), indices.reshape(*out.shape[:-2], -1), axis=-1
    )
    np.testing.assert_array_equal(gathered.reshape(out.shape), out)
    geometry = (as_pair(kernel), as_pair(kernel if stride is None else stride), padding)
    np.testing.assert_array_equal(indices, ref_pool(x, *geometry)[1])


def test_stride_defaults_to_the_kernel_and_leftovers_are_dropped():
    x = data.camera()[:7, :9].astype(np.float64)  # 7 x 9 does not tile by 2
    out = max_pool2d(x, 2)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, x[:6, :8].reshape(3, 2, 4, 2).max(axis=(1, 3)))
    np.testing.assert_allclose(avg_pool2d(x, 2), x[:6, :8].reshape(3, 2, 4, 2).mean(axis=(1, 3)))


def test_max_pads_with_minus_infinity_and_avg_counts_the_zero_padding():
    x = -np.ones((2, 2))
    np.testing.assert_array_equal(max_pool2d(x, 3, stride=1, padding=1), -np.ones((2, 2)))
    np.testing.assert_allclose(avg_pool2d(x, 3, stride=1, padding=1), np.full((2, 2), -4 / 9))


def test_all_minus_infinity_windows_still_index_the_input():
    x = np.full((3, 4), -np.inf)
    out, indices = max_pool2d(x, 2, stride=2, padding=1, return_indices=True)
    assert np.all(out == -np.inf)
    np.testing.assert_array_equal(
        indices, [[0, 1, 3], [4, 5, 7]]
    )  # first real pixel of each window


def test_nan_propagates_and_is_selected():
    x = data.camera()[:6, :6].astype(np.float64)
    x[1, 4] = np.nan
    out, indices = max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out[0, 2]) and indices[0, 2] == 1 * 6 + 4
    assert np.isfinite(np.delete(out.ravel(), 2)).all()
    avg = avg_pool2d(x, 3, stride=1)
    assert np.isnan(avg[:2, 2:]).all() and np.isfinite(avg[2:]).all()


DTYPES = [
    (np.uint8, np.float64),
    (np.bool_, np.float64),
    (np.float16, np.float32),
    (np.float32, np.float32),
]


@pytest.mark.parametrize(("dtype", "expected"), DTYPES)
def test_output_dtype(dtype, expected):
    x = (data.camera()[:8, :8] > 100).astype(dtype)
    assert max_pool2d(x, 2).dtype == expected and avg_pool2d(x, 2).dtype == expected
    assert (
        max_pool2d_backward(np.ones((4, 4), dtype), np.zeros((4, 4), int), x.shape).dtype
        == expected
    )


torch_cases = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=4, stride=3, padding=2),
]


@pytest.mark.parametrize("kwargs", torch_cases)
def test_matches_torch(kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (it is optional)")
    x = np.random.default_rng(0).standard_normal((2, 3, 11, 10))
    out, indices = torch.nn.functional.max_pool2d(
        torch.from_numpy(x), return_indices=True, **kwargs
    )
    got, got_indices = max_pool2d(x, return_indices=True, **kwargs)
    np.testing.assert_array_equal(got, out.numpy())
    np.testing.assert_array_equal(got_indices, indices.numpy())
    expected = torch.nn.functional.avg_pool2d(torch.from_numpy(x), **kwargs).numpy()
    np.testing.assert_allclose(avg_pool2d(x, **kwargs), expected, rtol=1e-12)


# ---------------------------------------------------------------- backward


backward_cases = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),  # overlapping windows
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=3, stride=2),  # 7 x 8 input is not tiled
]


@pytest.mark.parametrize("kwargs", backward_cases)
@pytest.mark.parametrize("shape", [(7, 8), (2, 7, 8), (2, 2, 7, 8)])
def test_max_pool2d_backward_matches_centred_differences(kwargs, shape):
    rng = np.random.default_rng(1)
    size = int(np.prod(shape))
    x = (rng.permutation(size) * 0.01).reshape(shape).astype(np.float64)  # distinct, gaps >> eps
    out, indices = max_pool2d(x, return_indices=True, **kwargs)
    grad_out = rng.standard_normal(out.shape)
    dx = max_pool2d_backward(grad_out, indices, x.shape)
    numeric = numerical_gradient(lambda: float(np.sum(max_pool2d(x, **kwargs) * grad_out)), x)
    assert dx.shape == x.shape
    assert relative_error(dx, numeric) < 1e-7


@pytest.mark.parametrize("kwargs", backward_cases)
@pytest.mark.parametrize("shape", [(7, 8), (2, 2, 7, 8)])
def test_avg_pool2d_backward_matches_centred_differences(kwargs, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    grad_out = rng.standard_normal(avg_pool2d(x, **kwargs).shape)
    dx = avg_pool2d_backward(grad_out, x.shape, **kwargs)
    numeric = numerical_gradient(lambda: float(np.sum(avg_pool2d(x, **kwargs) * grad_out)), x)
    assert dx.shape == x.shape
    assert relative_error(dx, numeric) < 1e-7


def test_overlapping_windows_add_their_gradients():
    x = np.array([[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]])
    out, indices = max_pool2d(x, 2, stride=1, return_indices=True)  # 9 wins all four windows
    np.testing.assert_array_equal(indices, np.full((2, 2), 4))
    dx = max_pool2d_backward(np.array([[1.0, 2.0], [3.0, 4.0]]), indices, x.shape)
    np.testing.assert_array_equal(dx, [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"x": np.zeros(5)},
            ValueError,
            r"x must have shape \(H, W\), \(C, H, W\) or \(N, C, H, W\), got 1-D shape \(5,\)",
        ),
        ({"x": np.zeros((1, 2, 3, 4, 5))}, ValueError, r"got 5-D shape"),
        ({"x": np.zeros((0, 4))}, ValueError, r"x must not be empty, got shape \(0, 4\)"),
        ({"x": np.array([["a"]])}, TypeError, r"x must hold real numbers"),
        ({"x": np.zeros((4, 4), complex)}, TypeError, r"complex dtype"),
        ({"kernel_size": 0}, ValueError, r"kernel_size must be at least 1, got 0"),
        ({"kernel_size": 2.5}, TypeError, r"kernel_size must be an int or a pair of ints, got 2.5"),
        ({"kernel_size": (2, 2, 2)}, TypeError, r"kernel_size must be an int or a pair"),
        ({"stride": 0}, ValueError, r"stride must be at least 1, got 0"),
        ({"stride": "2"}, TypeError, r"stride must be an int or a pair of ints"),
        ({"padding": -1}, ValueError, r"padding must be at least 0, got -1"),
        (
            {"padding": 2},
            ValueError,
            r"padding \(2, 2\) must be at most half of kernel_size \(3, 3\) \(at most \(1, 1\)\)",
        ),
        (
            {"kernel_size": (2, 4), "padding": (1, 3)},
            ValueError,
            r"must be at most half of kernel_size \(2, 4\)",
        ),
        (
            {"kernel_size": 9, "padding": 1},
            ValueError,
            r"kernel_size \(9, 9\) is larger than the padded input \(6, 7\) \(input \(4, 5\) with "
            r"padding \(1, 1\)\)",
        ),
    ],
)
@pytest.mark.parametrize("function", [max_pool2d, avg_pool2d])
def test_bad_input_raises_a_clear_error(function, kwargs, error, match):
    args = {"x": np.zeros((2, 4, 5)), "kernel_size": 3, "stride": 1, "padding": 0} | kwargs
    with pytest.raises(error, match=match):
        function(**args)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (
            (np.ones((2, 2)), np.zeros((2, 3), int), (4, 4)),
            ValueError,
            r"indices must be integers with the shape of grad_out \(2, 2\), got dtype int64 and "
            r"shape \(2, 3\)",
        ),
        (
            (np.ones((2, 2)), np.zeros((2, 2)), (4, 4)),
            ValueError,
            r"indices must be integers .* got dtype float64",
        ),
        (
            (np.ones((2, 2)), np.full((2, 2), 16), (4, 4)),
            ValueError,
            r"indices must lie in \[0, H\*W\) = \[0, 16\) for input_shape \(4, 4\), got values "
            r"from 16 to 16",
        ),
        ((np.ones((2, 2)), np.full((2, 2), -1), (4, 4)), ValueError, r"indices must lie in"),
        (
            (np.ones((3, 2, 2)), np.zeros((3, 2, 2), int), (2, 4, 4)),
            ValueError,
            r"input_shape \(2, 4, 4\) does not match grad_out of shape \(3, 2, 2\)",
        ),
        (
            (np.ones((2, 2)), np.zeros((2, 2), int), (1, 4, 4)),
            ValueError,
            r"does not match grad_out",
        ),
        (
            (np.ones((2, 2)), np.zeros((2, 2), int), (4, 4.0)),
            TypeError,
            r"input_shape must be a tuple of ints",
        ),
        (
            (np.ones((2, 2), complex), np.zeros((2, 2), int), (4, 4)),
            TypeError,
            r"grad_out must hold real numbers",
        ),
    ],
)
def test_max_pool2d_backward_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        max_pool2d_backward(*args)


def test_avg_pool2d_backward_bad_input():
    with pytest.raises(
        ValueError,
        match=r"grad_out must have shape \(3, 2, 2\) for input_shape \(3, 4, 5\), got \(3, 2, 3\)",
    ):
        avg_pool2d_backward(np.ones((3, 2, 3)), (3, 4, 5), 2)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half"):
        avg_pool2d_backward(np.ones((3, 2, 2)), (3, 4, 5), 2, padding=2)
    with pytest.raises(
        ValueError, match=r"input_shape \(4, 5\) does not match grad_out of shape \(3, 2, 2\)"
    ):
        avg_pool2d_backward(np.ones((3, 2, 2)), (4, 5), 2)


# ------------------------------------------------------------------ window geometry
@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 8), s=st.integers(1, 8), data=st.data())
def test_coverage_matches_pooling_an_impulse_at_every_pixel(n, k, s, data):
    from dlcv import conv, pool

    p = data.draw(st.integers(0, k // 2))
    if n + 2 * p < k:
        return
    # row c of the batch is an impulse at column c; a pixel is read iff some window sees it
    impulses = np.eye(n)[:, None, None, :]
    pooled = avg_pool2d(impulses, (1, k), stride=(1, s), padding=(0, p))
    measured = pooled.reshape(n, -1).sum(axis=1) > 0
    np.testing.assert_array_equal(pool.coverage(n, k, s, p), measured)
    starts = pool.window_starts(n, k, s, p)
    assert starts.size == conv.output_size(n, k, s, p)
    np.testing.assert_array_equal(starts, np.arange(starts.size) * s - p)


def test_window_owner_gives_each_output_a_tile_of_its_window():
    from dlcv import pool

    # window 3, stride 2, padding 1 on 7 pixels: windows start at -1, 1, 3, 5
    np.testing.assert_array_equal(pool.window_owner(range(-1, 8), 7, 3, 2, 1),
                                  [0, 0, 1, 1, 2, 2, 3, 3, -1])  # fmt: skip
    # window 2, stride 3: the pixel between two windows belongs to no tile
    np.testing.assert_array_equal(pool.window_owner(range(7), 7, 2, 3), [0, 0, -1, 1, 1, -1, -1])
    with pytest.raises(ValueError, match="at most half"):
        pool.window_starts(7, 2, 2, padding=2)
