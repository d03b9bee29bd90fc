"""Tests of dlcv.conv against SciPy, PyTorch (when installed) and a direct formula."""

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as signal
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from skimage import data

from dlcv import conv2d, convolve2d, correlate2d, naive, output_size
from dlcv.conv import conv2d_backward
from dlcv.gradcheck import numerical_gradient

SETTINGS = settings(max_examples=60, deadline=None, database=None)
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


# ---------------------------------------------------------------- references


def ref_pads(padding, k, d):
    """The documented padding rule for one axis: (before, after)."""
    span = d * (k - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return span - 1, span - 1
    if padding == "same":
        return (span - 1) // 2, span - 1 - (span - 1) // 2
    return padding, padding


def ref_correlate(image, kernel, pads, stride, dilation):
    """The obvious loop (dlcv.naive) on the image padded by this file's own rule (float64)."""
    padded = np.pad(np.asarray(image, np.float64), pads)
    return naive.correlate2d(padded, np.asarray(kernel, np.float64), "valid", stride, dilation)


def ref_conv2d(x, weight, bias, pads, stride, dilation):
    """dlcv.naive.conv2d on the input padded by this file's own rule."""
    padded = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), *pads))
    return naive.conv2d(padded, np.asarray(weight, np.float64), bias, stride, 0, dilation)


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300)


def camera(size=64):
    """A crop of a real photograph (scikit-image's camera), as float64 in [0, 1]."""
    return data.camera()[200 : 200 + size, 220 : 220 + size] / 255.0


# ---------------------------------------------------------------- strategies

paddings = st.one_of(
    st.sampled_from(["valid", "same", "full"]),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
pairs = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


def as_pair(v):
    return v if isinstance(v, tuple) else (v, v)


def axis_padding(padding, axis):
    return padding if isinstance(padding, str) else as_pair(padding)[axis]


@st.composite
def filter_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    image = rng.standard_normal((h, w)).astype(dtype)
    kernel = rng.standard_normal((kh, kw)).astype(dtype)
    return image, kernel, draw(paddings), draw(pairs), draw(pairs)


# ---------------------------------------------------------------- correlate2d / convolve2d


@SETTINGS
@given(filter_cases())
def test_correlate2d_matches_direct_formula_and_output_size(case):
    image, kernel, padding, stride, dilation = case
    stride, dilation = as_pair(stride), as_pair(dilation)
    pads = tuple(ref_pads(axis_padding(padding, a), kernel.shape[a], dilation[a]) for a in (0, 1))
    fits = all(
        image.shape[a] + sum(pads[a]) >= dilation[a] * (kernel.shape[a] - 1) + 1 for a in (0, 1)
    )
    if not fits:
        with pytest.raises(ValueError, match="larger than the padded image"):
            correlate2d(image, kernel, padding, stride, dilation)
        return
    original = image.copy()
    got = correlate2d(image, kernel, padding, stride, dilation)
    expected = ref_correlate(image, kernel.astype(np.float64), pads, stride, dilation)
    np.testing.assert_array_equal(image, original)  # the input is never written to
    assert got.dtype == image.dtype
    assert got.shape == tuple(
        output_size(
            image.shape[a], kernel.shape[a], stride[a], axis_padding(padding, a), dilation[a]
        )
        for a in (0, 1)
    )
    np.testing.assert_allclose(got, expected, rtol=RTOL[image.dtype.type], atol=1e-5)


@SETTINGS
@given(filter_cases())
def test_convolve2d_is_correlate2d_with_the_flipped_kernel(case):
    image, kernel, padding, stride, dilation = case
    try:
        expected = correlate2d(image, kernel[::-1, ::-1], padding, stride, dilation)
    except ValueError:
        assume(False)
    np.testing.assert_array_equal(convolve2d(image, kernel, padding, stride, dilation), expected)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 5), (7, 7), (2, 2), (4, 4), (3, 4), (2, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_matches_scipy_ndimage_on_a_photo(shape, dtype):
    image = camera().astype(dtype)
    kernel = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    # ndimage centres a kernel of size k on tap k // 2; our "same" puts the extra
    # padding pixel at the bottom/right, i.e. centres on (k - 1) // 2.
    origin = [(k - 1) // 2 - k // 2 for k in shape]
    expected = ndi.correlate(image, kernel, mode="constant", origin=origin)
    np.testing.assert_allclose(correlate2d(image, kernel, "same"), expected, rtol=1e-4, atol=1e-5)
    # ndimage.convolve already shifts even kernels that way, so origin 0 matches.
    expected = ndi.convolve(image, kernel, mode="constant")
    np.testing.assert_allclose(convolve2d(image, kernel, "same"), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (4, 4), (1, 6)])
@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_matches_scipy_signal(shape, mode):
    image = camera(40)
    kernel = np.random.default_rng(3).standard_normal(shape)
    np.testing.assert_allclose(
        correlate2d(image, kernel, mode), signal.correlate2d(image, kernel, mode), atol=1e-12
    )
    if mode != "same":
        np.testing.assert_allclose(
            convolve2d(image, kernel, mode), signal.convolve2d(image, kernel, mode), atol=1e-12
        )
        return
    # signal.convolve2d(mode="same") centres the full output at (k - 1) // 2, we at k // 2:
    # the same for odd kernels, one pixel apart for even ones.
    full = signal.convolve2d(image, kernel, "full")
    (kh, kw), (h, w) = shape, image.shape
    expected = full[kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]
    np.testing.assert_allclose(convolve2d(image, kernel, mode), expected, atol=1e-12)
    if kh % 2 and kw % 2:
        np.testing.assert_allclose(
            convolve2d(image, kernel, mode), signal.convolve2d(image, kernel, mode), atol=1e-12
        )


@pytest.mark.parametrize(("stride", "dilation"), [(1, 2), (2, 1), ((2, 3), (3, 1)), (3, 2)])
def test_dilation_and_stride_match_ndimage_with_a_spread_kernel(stride, dilation):
    image = camera(50)
    kernel = np.random.default_rng(4).standard_normal((3, 4))
    stride, dilation = as_pair(stride), as_pair(dilation)
    spread = np.zeros([d * (k - 1) + 1 for k, d in zip(kernel.shape, dilation, strict=True)])
    spread[:: dilation[0], :: dilation[1]] = kernel
    origin = [(k - 1) // 2 - k // 2 for k in spread.shape]
    expected = ndi.correlate(image, spread, mode="constant", origin=origin)
    got = correlate2d(image, kernel, "same", stride, dilation)
    np.testing.assert_allclose(got, expected[:: stride[0], :: stride[1]], atol=1e-12)


@SETTINGS
@given(filter_cases())
def test_strided_same_is_the_stride_1_output_subsampled(case):
    image, kernel, _, stride, dilation = case
    stride = as_pair(stride)
    full_res = correlate2d(image, kernel, "same", 1, dilation)
    got = correlate2d(image, kernel, "same", stride, dilation)
    np.testing.assert_array_equal(got, full_res[:: stride[0], :: stride[1]])
    assert got.shape == (
        math.ceil(image.shape[0] / stride[0]),
        math.ceil(image.shape[1] / stride[1]),
    )


@pytest.mark.parametrize("padding", ["valid", "same", 2])
def test_multichannel_applies_the_kernel_to_each_channel(padding):
    image = data.astronaut()[100:160, 180:230] / 255.0  # real RGB photo, (60, 50, 3)
    kernel = np.random.default_rng(5).standard_normal((3, 5))
    got = correlate2d(image, kernel, padding, stride=(1, 2))
    assert got.shape[2] == 3
    for c in range(3):
        np.testing.assert_array_equal(
            got[..., c], correlate2d(image[..., c], kernel, padding, (1, 2))
        )
    if padding == "same":
        # the (3, 5) kernel is odd in both axes, so ndimage's default centre matches
        expected = ndi.correlate(image, kernel[:, :, None], mode="constant")
        np.testing.assert_allclose(got, expected[:, ::2], atol=1e-12)


@SETTINGS
@given(filter_cases(), st.floats(-3, 3), st.floats(-3, 3))
def test_linear_in_the_image_and_in_the_kernel(case, a, b):
    image, kernel, padding, stride, dilation = case
    image, kernel = image.astype(np.float64), kernel.astype(np.float64)
    rng = np.random.default_rng(0)
    other_image, other_kernel = rng.standard_normal(image.shape), rng.standard_normal(kernel.shape)
    try:
        f = lambda im, k: correlate2d(im, k, padding, stride, dilation)  # noqa: E731
        left = f(a * image + b * other_image, kernel)
    except ValueError:
        assume(False)
    np.testing.assert_allclose(left, a * f(image, kernel) + b * f(other_image, kernel), atol=1e-9)
    left = f(image, a * kernel + b * other_kernel)
    np.testing.assert_allclose(left, a * f(image, kernel) + b * f(image, other_kernel), atol=1e-9)


@SETTINGS
@given(st.integers(0, 5), st.integers(0, 5), st.integers(1, 5), st.integers(1, 5))
def test_shift_equivariance_away_from_the_borders(dy, dx, kh, kw):
    image = camera(32)
    kernel = np.random.default_rng(kh * 10 + kw).standard_normal((kh, kw))
    shifted = np.roll(image, (dy, dx), axis=(0, 1))  # rows/columns that wrap land at the top/left
    out, out_shifted = correlate2d(image, kernel), correlate2d(shifted, kernel)
    ho, wo = out.shape
    np.testing.assert_allclose(out_shifted[dy:, dx:], out[: ho - dy, : wo - dx], atol=1e-12)


# ---------------------------------------------------------------- dtypes and special values


@pytest.mark.parametrize(
    ("image_dtype", "kernel_dtype", "expected"),
    [
        (np.float32, np.float32, np.float32),
        (np.float32, np.float64, np.float32),
        (np.float32, np.int64, np.float32),
        (np.float64, np.float32, np.float64),
        (np.float16, np.float16, np.float32),
        (np.uint8, np.float32, np.float64),
        (np.int32, np.int32, np.float64),
        (np.bool_, np.bool_, np.float64),
    ],
)
def test_output_dtype_follows_the_image(image_dtype, kernel_dtype, expected):
    image = (data.camera()[:20, :20] // 64).astype(image_dtype)
    kernel = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]).astype(kernel_dtype)
    got = correlate2d(image, kernel, "same")
    assert got.dtype == expected
    exact = ndi.correlate(image.astype(np.float64), kernel.astype(np.float64), mode="constant")
    np.testing.assert_allclose(got, exact, rtol=1e-3 if expected == np.float32 else 1e-12)


def test_nan_and_inf_propagate_to_the_windows_that_see_them():
    image = camera(16)
    image[5, 7] = np.nan
    image[12, 2] = np.inf
    got = correlate2d(image, np.ones((3, 2)), "same")
    seen_nan = correlate2d(np.isnan(image), np.ones((3, 2)), "same") > 0
    seen_inf = correlate2d(np.isinf(image), np.ones((3, 2)), "same") > 0
    np.testing.assert_array_equal(np.isnan(got), seen_nan)
    np.testing.assert_array_equal(np.isposinf(got), seen_inf)
    assert np.isfinite(got[~(seen_nan | seen_inf)]).all()


def test_accepts_numpy_integers_and_arrays_as_sizes():
    image, kernel = camera(20), np.ones((3, 2))
    expected = correlate2d(image, kernel, padding=(1, 0), stride=(2, 1), dilation=(1, 2))
    got = correlate2d(image, kernel, np.array([1, 0]), (np.int64(2), np.uint8(1)), np.array([1, 2]))
    np.testing.assert_array_equal(got, expected)


def test_accepts_lists_and_non_contiguous_views():
    image = camera(20)
    kernel = [[1, 2], [3, 4]]
    view = image[::2, ::-1]
    expected = ref_correlate(view, np.array(kernel), ((0, 0), (0, 0)), (1, 1), (1, 1))
    np.testing.assert_allclose(correlate2d(view, kernel), expected)


# ---------------------------------------------------------------- bad input

IMAGE, KERNEL = np.zeros((5, 6)), np.ones((3, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"image": np.zeros(5)},
            ValueError,
            r"image must have shape \(H, W\) or \(H, W, C\), got 1-D shape \(5,\)",
        ),
        ({"image": np.zeros((2, 3, 4, 5))}, ValueError, r"image must have shape .* got 4-D"),
        (
            {"kernel": np.ones(3)},
            ValueError,
            r"kernel must have shape \(kh, kw\), got 1-D shape \(3,\)",
        ),
        ({"kernel": np.ones((3, 3, 3))}, ValueError, r"kernel must have shape \(kh, kw\), got 3-D"),
        ({"image": np.zeros((0, 4))}, ValueError, r"image must not be empty, got shape \(0, 4\)"),
        ({"image": np.zeros((4, 4, 0))}, ValueError, r"image must not be empty"),
        ({"kernel": np.ones((0, 3))}, ValueError, r"kernel must not be empty, got shape \(0, 3\)"),
        (
            {"image": np.array([["a", "b"]])},
            TypeError,
            r"image must hold real numbers .* non-numeric dtype <U1",
        ),
        (
            {"image": np.zeros((3, 3), object)},
            TypeError,
            r"image must hold real numbers .* dtype object",
        ),
        (
            {"kernel": np.ones((2, 2), complex)},
            TypeError,
            r"kernel must hold real numbers .* complex dtype",
        ),
        ({"image": [[1, 2], [3]]}, TypeError, r"image must be a numeric array"),
        (
            {"kernel": np.ones((6, 3))},
            ValueError,
            r"kernel of size \(6, 3\) with dilation \(1, 1\) spans \(6, 3\) pixels, larger than "
            r"the padded image \(5, 6\)",
        ),
        (
            {"dilation": 3},
            ValueError,
            r"spans \(7, 7\) pixels, larger than the padded image \(5, 6\)",
        ),
        (
            {"kernel": np.ones((8, 3)), "padding": 1},
            ValueError,
            r"larger than the padded image \(7, 8\) \(image \(5, 6\) with padding",
        ),
        ({"stride": 0}, ValueError, r"stride must be at least 1, got 0"),
        ({"stride": (1, -2)}, ValueError, r"stride must be at least 1, got \(1, -2\)"),
        ({"stride": 1.5}, TypeError, r"stride must be an int or a pair of ints, got 1.5"),
        ({"stride": (1, 2, 3)}, TypeError, r"stride must be an int or a pair of ints"),
        ({"stride": True}, TypeError, r"stride must be an int or a pair of ints, got True"),
        ({"dilation": 0}, ValueError, r"dilation must be at least 1, got 0"),
        ({"dilation": 2.0}, TypeError, r"dilation must be an int or a pair of ints"),
        ({"padding": -1}, ValueError, r"padding must be at least 0, got -1"),
        ({"padding": (1, -1)}, ValueError, r"padding must be at least 0"),
        (
            {"padding": "circular"},
            ValueError,
            r"padding must be one of \('valid', 'same', 'full'\), an int or a pair, got 'circular'",
        ),
        ({"padding": "SAME"}, ValueError, r"padding must be one of"),
        ({"padding": 1.0}, TypeError, r"padding must be an int or a pair of ints, got 1.0"),
        ({"padding": None}, TypeError, r"padding must be an int or a pair of ints, got None"),
    ],
)
@pytest.mark.parametrize("function", [correlate2d, convolve2d])
def test_bad_input_raises_a_clear_error(function, kwargs, error, match):
    args = {"image": IMAGE, "kernel": KERNEL} | kwargs
    with pytest.raises(error, match=match):
        function(**args)


# ---------------------------------------------------------------- output_size


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3)
)
def test_output_size_counts_the_window_positions(n, k, s, p, d):
    span = d * (k - 1) + 1
    positions = len(range(0, n + 2 * p - span + 1, s))  # window starts inside the padded input
    if positions == 0:
        with pytest.raises(ValueError, match="more than the padded input"):
            output_size(n, k, s, p, d)
        return
    assert output_size(n, k, s, p, d) == positions == (n + 2 * p - d * (k - 1) - 1) // s + 1
    assert output_size(n, k, s, "same", d) == math.ceil(n / s)
    assert output_size(n, k, s, "full", d) == (n + span - 2) // s + 1
    if n >= span:
        assert output_size(n, k, s, "valid", d) == output_size(n, k, s, 0, d)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 3), ValueError, r"n must be at least 1, got 0"),
        ((5, 0), ValueError, r"kernel must be at least 1, got 0"),
        ((5, 3, 0), ValueError, r"stride must be at least 1, got 0"),
        ((5, 3, 1, -1), ValueError, r"padding must be at least 0, got -1"),
        ((5, 3, 1, 0, 0), ValueError, r"dilation must be at least 1, got 0"),
        ((5.0, 3), TypeError, r"n must be an integer, got 5.0"),
        ((5, (3, 3)), TypeError, r"kernel must be an integer, got \(3, 3\)"),
        ((5, 3, 1, (1, 1)), TypeError, r"padding must be an integer, got \(1, 1\)"),
        ((5, 3, 1, "half"), ValueError, r"padding must be one of"),
        ((5, 3, True), TypeError, r"stride must be an integer, got True"),
        (
            (4, 6),
            ValueError,
            r"kernel of size 6 with dilation 1 spans 6 samples, more than the padded input \(4 \+ "
            r"0 \+ 0 = 4\)",
        ),
        ((4, 3, 1, 0, 2), ValueError, r"spans 5 samples, more than the padded input"),
    ],
)
def test_output_size_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        output_size(*args)


# ---------------------------------------------------------------- conv2d


@st.composite
def conv2d_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w, kh, kw = (draw(st.integers(1, 7)), draw(st.integers(1, 7)),
                    draw(st.integers(1, 3)), draw(st.integers(1, 3)))  # fmt: skip
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((f, c, kh, kw))
    bias = draw(st.sampled_from([None, rng.standard_normal(f)]))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                             st.sampled_from(["valid", "same"])))  # fmt: skip
    return x, weight, bias, padding, draw(pairs), draw(pairs)


@SETTINGS
@given(conv2d_cases())
def test_conv2d_matches_direct_formula(case):
    x, weight, bias, padding, stride, dilation = case
    stride, dilation = as_pair(stride), as_pair(dilation)
    pads = tuple(
        ref_pads(axis_padding(padding, a), weight.shape[2 + a], dilation[a]) for a in (0, 1)
    )
    try:
        got = conv2d(x, weight, bias, stride, padding, dilation)
    except ValueError as err:
        assert "larger than the padded x" in str(err)
        assume(False)
    expected = ref_conv2d(x, weight, bias, pads, stride, dilation)
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_keeps_float32_and_casts_weights_to_x():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    weight, bias = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    got = conv2d(x, weight, bias, padding=1)
    assert got.dtype == np.float32
    expected = conv2d(
        x.astype(np.float64), weight.astype(np.float32), bias.astype(np.float32), padding=1
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert conv2d(x.astype(np.uint8), weight).dtype == np.float64


def test_conv2d_on_a_real_image_equals_correlate2d_per_channel():
    image = data.astronaut()[::8, ::8] / 255.0  # (64, 64, 3)
    x = image.transpose(2, 0, 1)[None]  # (1, 3, 64, 64)
    kernel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    weight = np.stack([kernel, kernel, kernel])[None]  # one filter summing the channels
    expected = correlate2d(image, kernel, "same").sum(axis=2)
    np.testing.assert_allclose(conv2d(x, weight, padding="same")[0, 0], expected, atol=1e-12)


torch_cases = [
    dict(stride=1, padding=0, dilation=1),
    dict(stride=2, padding=1, dilation=1),
    dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
    dict(stride=1, padding="same", dilation=1),
    dict(stride=1, padding="same", dilation=2),
    dict(stride=3, padding="valid", dilation=1),
]


@pytest.mark.parametrize("kwargs", torch_cases)
@pytest.mark.parametrize("kernel", [(3, 3), (4, 2), (5, 5)])
def test_conv2d_matches_torch(kwargs, kernel):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (it is optional)")
    rng = np.random.default_rng(1)
    x, weight, bias = (
        rng.standard_normal((2, 3, 13, 11)),
        rng.standard_normal((4, 3, *kernel)),
        rng.standard_normal(4),
    )
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias), **kwargs
    ).numpy()
    np.testing.assert_allclose(conv2d(x, weight, bias, **kwargs), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"x": np.zeros((3, 8, 8))},
            ValueError,
            r"x must have shape \(N, C, H, W\), got 3-D shape \(3, 8, 8\)",
        ),
        (
            {"weight": np.zeros((3, 3, 3))},
            ValueError,
            r"weight must have shape \(F, C, kh, kw\), got 3-D",
        ),
        (
            {"weight": np.zeros((4, 2, 3, 3))},
            ValueError,
            r"channel mismatch: x has shape \(2, 3, 8, 8\) with C=3 channels, but weight has "
            r"shape \(4, 2, 3, 3\) and expects C=2",
        ),
        (
            {"bias": np.zeros(3)},
            ValueError,
            r"bias must have shape \(F,\) = \(4,\) to match weight \(4, 3, 3, 3\), got \(3,\)",
        ),
        ({"bias": np.zeros((4, 1))}, ValueError, r"bias must have shape \(F,\), got 2-D"),
        ({"x": np.zeros((0, 3, 8, 8))}, ValueError, r"x must not be empty"),
        (
            {"weight": np.zeros((4, 3, 9, 3))},
            ValueError,
            r"weight of size \(9, 3\) .* larger than the padded x \(8, 8\)",
        ),
        ({"x": np.zeros((2, 3, 8, 8), complex)}, TypeError, r"x must hold real numbers"),
        ({"stride": 0}, ValueError, r"stride must be at least 1"),
        ({"padding": -2}, ValueError, r"padding must be at least 0"),
        ({"padding": "half"}, ValueError, r"padding must be one of"),
        ({"dilation": (1, 0)}, ValueError, r"dilation must be at least 1"),
    ],
)
def test_conv2d_bad_input_raises_a_clear_error(kwargs, error, match):
    args = {"x": np.zeros((2, 3, 8, 8)), "weight": np.zeros((4, 3, 3, 3)), "bias": None} | kwargs
    with pytest.raises(error, match=match):
        conv2d(**args)


# ---------------------------------------------------------------- conv2d_backward


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(stride=1, padding=0, dilation=1),
        dict(stride=2, padding=1, dilation=1),
        dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        dict(stride=3, padding="same", dilation=1),
        dict(stride=1, padding="same", dilation=(2, 1)),
    ],
)
def test_conv2d_backward_matches_centred_differences(kwargs):
    rng = np.random.default_rng(7)
    x, weight, bias = (
        rng.standard_normal((2, 3, 7, 6)),
        rng.standard_normal((4, 3, 3, 2)),
        rng.standard_normal(4),
    )
    grad_out = rng.standard_normal(conv2d(x, weight, bias, **kwargs).shape)

    def loss():
        return float(np.sum(conv2d(x, weight, bias, **kwargs) * grad_out))

    dx, dweight, dbias = conv2d_backward(grad_out, x, weight, **kwargs)
    assert dx.shape == x.shape and dweight.shape == weight.shape and dbias.shape == bias.shape
    for analytic, array in ((dx, x), (dweight, weight), (dbias, bias)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-7


def test_conv2d_backward_keeps_float32_and_checks_grad_out():
    x = np.ones((2, 3, 6, 6), np.float32)
    weight = np.ones((4, 3, 3, 3), np.float32)
    grads = conv2d_backward(np.ones((2, 4, 4, 4), np.float32), x, weight)
    assert [g.dtype for g in grads] == [np.float32] * 3
    np.testing.assert_array_equal(grads[2], np.full(4, 32.0))
    with pytest.raises(
        ValueError,
        match=r"grad_out must have the forward output's shape \(2, 4, 4, 4\), got \(2, 4, 6, 6\)",
    ):
        conv2d_backward(np.ones((2, 4, 6, 6)), x, weight)
    with pytest.raises(ValueError, match=r"channel mismatch"):
        conv2d_backward(np.ones((2, 4, 4, 4)), x, np.ones((4, 2, 3, 3)))
