"""dlcv.corruptions: each corruption is the SciPy call it says, image by image; severity 0
(1 for thicken) changes nothing; shape, dtype and [0, 1] are kept; noise is seeded and has
the asked-for spread; invert and rotate do what their names say; every bad argument is
refused by name."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from dlcv import corruptions
from dlcv.corruptions import CORRUPTIONS, SEVERITIES, Severity, corrupt
from dlcv.data import load_mnist

RNG = np.random.default_rng(0)
BATCH = RNG.random((4, 1, 9, 9)).astype(np.float32)


@pytest.fixture(scope="module")
def digits():
    """32 real MNIST digits (N, 1, 28, 28) float32 in [0, 1]."""
    return load_mnist().x_test[:32]


# --- each kind is the SciPy call it wraps, per image ------------------------------------------
def reference(image, kind, severity, noise=None):
    """The documented computation on one image (H, W) float32/float64, written out."""
    if kind == "rotate":
        out = ndimage.rotate(
            image, severity, reshape=False, order=1, mode="grid-constant", cval=0.0
        )
    elif kind == "blur":
        out = ndimage.gaussian_filter(image, severity)
    elif kind == "thicken":
        out = ndimage.grey_dilation(image, size=(severity, severity))
    elif kind == "invert":
        out = (1 - severity) * image + severity * (1 - image)
    else:
        out = image + noise
    return np.clip(out, 0.0, 1.0).astype(image.dtype)


SEVERITY_STRATEGY = {
    "rotate": st.floats(0, 360),
    "blur": st.floats(0, 4),
    "noise": st.floats(0, 1),
    "invert": st.floats(0, 1),
    "thicken": st.integers(1, 7),
}


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(CORRUPTIONS))
    severity = draw(SEVERITY_STRATEGY[kind])
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    layout = draw(st.sampled_from(["NCHW", "NHW", "HW"]))
    return kind, severity, n, h, w, dtype, seed, layout


@given(cases())
@settings(max_examples=300, deadline=None)
def test_each_kind_is_its_scipy_call_applied_image_by_image(case):
    kind, severity, n, h, w, dtype, seed, layout = case
    rng = np.random.default_rng(seed)
    images = rng.random((n, h, w)).astype(dtype)
    images[rng.random((n, h, w)) < 0.3] = 0.0  # some black background, as in digits
    if layout == "HW":
        images = images[:1]
    noise = np.random.default_rng(seed + 1).normal(0.0, severity, images.shape)
    expected = np.stack(
        [reference(im, kind, severity, nz) for im, nz in zip(images, noise, strict=True)]
    )
    given_images = {"NCHW": images[:, None], "NHW": images, "HW": images[0]}[layout]
    out = corrupt(given_images, kind, severity, rng=seed + 1)
    assert out.shape == given_images.shape and out.dtype == dtype
    np.testing.assert_array_equal(out.reshape(expected.shape), expected)


def test_blur_works_on_each_image_not_across_the_batch():
    batch = np.zeros((3, 1, 9, 9))
    batch[1, 0, 4, 4] = 1.0  # one bright pixel in the middle image only
    out = corrupt(batch, "blur", 1.5)
    assert (out[0] == 0).all() and (out[2] == 0).all()  # the neighbours stay black
    np.testing.assert_allclose(out[1].sum(), 1.0, rtol=1e-6)  # the light is only spread out
    across = ndimage.gaussian_filter(batch[:, 0], 1.5)  # what the batch-wide call would do
    assert across[0].max() > 0.01


def test_rotate_by_quarter_turns_is_rot90_and_turns_counter_clockwise(digits):
    # SciPy computes cos and sin of multiples of 90 degrees exactly, so the bilinear
    # weights are exactly 0 and 1 and a quarter turn of a square image is exact.
    for k in (1, 2, 3):
        np.testing.assert_array_equal(
            corrupt(digits, "rotate", 90 * k), np.rot90(digits, k, axes=(2, 3))
        )
    for size, dtype in [(7, np.float64), (8, np.float32), (28, np.float64)]:
        image = RNG.random((size, size)).astype(dtype)
        np.testing.assert_allclose(corrupt(image, "rotate", 90), np.rot90(image), atol=1e-6)
        assert not np.allclose(corrupt(image, "rotate", 90), image.T)  # not the transpose
    dot = np.zeros((9, 9))
    dot[4, 8] = 1.0  # right of the centre
    assert np.unravel_index(corrupt(dot, "rotate", 90).argmax(), dot.shape) == (0, 4)  # on top
    np.testing.assert_allclose(corrupt(digits, "rotate", 360), digits, atol=1e-6)


def test_invert_at_one_is_one_minus_x_and_at_one_half_erases_the_digit(digits):
    np.testing.assert_array_equal(corrupt(digits, "invert", 1.0), 1 - digits)
    np.testing.assert_array_equal(corrupt(digits, "invert", 1), 1 - digits)
    np.testing.assert_array_equal(corrupt(digits, "invert", 0.5), np.full_like(digits, 0.5))
    twice = corrupt(corrupt(digits, "invert", 1.0), "invert", 1.0)
    np.testing.assert_allclose(twice, digits, atol=1e-7)


def test_thicken_spreads_a_pixel_into_a_square_and_never_darkens(digits):
    dot = np.zeros((11, 11), np.float32)
    dot[5, 5] = 0.8
    for size in (3, 5):
        out = corrupt(dot, "thicken", size)
        r = size // 2
        assert np.count_nonzero(out) == size**2 and (out[5 - r : 6 + r, 5 - r : 6 + r] == 0.8).all()
    previous = digits
    for size in SEVERITIES["thicken"].sweep[1:]:
        out = corrupt(digits, "thicken", size)
        assert (out >= previous).all() and (out > previous).any()
        previous = out


# --- identity, range, dtype, layouts ------------------------------------------------------------
@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_the_identity_severity_returns_an_exact_copy(kind, digits):
    identity = SEVERITIES[kind].identity
    if kind == "thicken":
        severities = (1, np.int64(1), np.uint8(1))
    else:
        severities = (0, 0.0, -0.0, np.float32(0), np.int64(0))
    before = digits.copy()
    for severity in severities:
        assert severity == identity
        out = corrupt(digits, kind, severity, rng=123)
        assert out is not digits and out.dtype == digits.dtype
        np.testing.assert_array_equal(out, digits)
        out[...] = 0  # a copy: writing to it leaves the input alone
        np.testing.assert_array_equal(digits, before)


@pytest.mark.parametrize("kind", CORRUPTIONS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_shape_dtype_and_range_are_kept_over_the_whole_sweep_and_beyond(kind, dtype, digits):
    images = digits[:8].astype(dtype)
    before = images.copy()
    strong = {"rotate": 137.5, "blur": 6.0, "noise": 3.0, "invert": 0.9, "thicken": 9}
    for severity in (*SEVERITIES[kind].sweep, strong[kind]):
        for given_images in (images, images[:, 0], images[0, 0]):
            out = corrupt(given_images, kind, severity)
            assert out.shape == given_images.shape and out.dtype == dtype
            assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(images, before)  # the input is never changed


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_the_three_layouts_give_the_same_images(kind, digits):
    severity = SEVERITIES[kind].sweep[2]
    nchw = corrupt(digits[:5], kind, severity, rng=7)
    np.testing.assert_array_equal(corrupt(digits[:5, 0], kind, severity, rng=7), nchw[:, 0])
    np.testing.assert_array_equal(corrupt(digits[0, 0], kind, severity, rng=7), nchw[0, 0])
    assert not np.array_equal(nchw, digits[:5])  # and it did something


def test_the_corruptions_change_real_digits_more_as_severity_grows(digits):
    for kind in CORRUPTIONS:
        sweep = SEVERITIES[kind].sweep
        changes = [np.abs(corrupt(digits, kind, s) - digits).mean() for s in sweep]
        assert changes[0] == 0 and all(c > 0 for c in changes[1:]), (kind, changes)
        if kind != "invert":  # invert's change grows too, but let the other test say how
            assert changes == sorted(changes), (kind, changes)


def test_the_severity_table():
    assert tuple(SEVERITIES) == CORRUPTIONS
    for spec in SEVERITIES.values():
        assert isinstance(spec, Severity) and spec.meaning
        assert spec.sweep[0] == spec.identity and list(spec.sweep) == sorted(set(spec.sweep))
        assert all(s <= spec.maximum for s in spec.sweep)
    assert SEVERITIES["invert"].maximum == 1 and SEVERITIES["invert"].sweep[-1] == 1
    assert all(isinstance(s, int) for s in SEVERITIES["thicken"].sweep)
    assert SEVERITIES["thicken"].identity == 1 and SEVERITIES["rotate"].maximum == math.inf


# --- noise ---------------------------------------------------------------------------------------
def test_noise_is_deterministic_by_seed_and_differs_between_seeds(digits):
    a = corrupt(digits, "noise", 0.2, rng=1)
    np.testing.assert_array_equal(a, corrupt(digits, "noise", 0.2, rng=1))
    np.testing.assert_array_equal(a, corrupt(digits, "noise", 0.2, rng=np.random.default_rng(1)))
    b = corrupt(digits, "noise", 0.2, rng=2)
    assert not np.array_equal(a, b) and np.mean(a != b) > 0.5
    assert corrupt(digits, "noise", 0.2).tolist() == corrupt(digits, "noise", 0.2).tolist()  # rng=0
    g = np.random.default_rng(5)  # a generator moves on: two calls, two draws
    assert not np.array_equal(
        corrupt(digits, "noise", 0.2, rng=g), corrupt(digits, "noise", 0.2, rng=g)
    )
    assert corrupt(digits, "noise", 0.2, rng=None).shape == digits.shape
    for kind in ("rotate", "blur", "invert", "thicken"):  # the other kinds draw nothing
        s = SEVERITIES[kind].sweep[2]
        np.testing.assert_array_equal(
            corrupt(digits, kind, s, rng=1), corrupt(digits, kind, s, rng=2)
        )


@pytest.mark.parametrize("std", [0.01, 0.05, 0.08])
def test_the_measured_noise_std_is_the_requested_one_before_clipping(std):
    grey = np.full((100, 1, 28, 28), 0.5)  # 78,400 pixels, 6 std or more from 0 and 1
    noise = corrupt(grey, "noise", std, rng=3) - grey
    assert (np.abs(noise) < 0.5).all()  # nothing was clipped
    # the sample std of 78,400 normal values is within 1 % of sigma (a 2.8-sigma margin)
    assert abs(noise.std() / std - 1) < 0.01 and abs(noise.mean()) < 3 * std / 280


def test_clipping_makes_strong_noise_measure_less_than_requested(digits):
    noisy = corrupt(digits, "noise", 0.5, rng=0)
    assert (noisy == 0).any() and (noisy == 1).any()
    assert (noisy - digits).std() < 0.45


# --- bad input -----------------------------------------------------------------------------------
IMG = np.zeros((2, 1, 6, 6), np.float32)
NAN = IMG.copy()
NAN[1, 0, 2, 3] = np.nan
BAD = {
    "unknown kind": (lambda: corrupt(IMG, "sharpen", 1), ValueError, "kind must be one of"),
    "kind in capitals": (lambda: corrupt(IMG, "Rotate", 1), ValueError, r"kind .*'rotate'"),
    "kind not a string": (lambda: corrupt(IMG, 0, 1), TypeError, "kind must be a string"),
    "negative rotate": (lambda: corrupt(IMG, "rotate", -10), ValueError, "severity of 'rotate'"),
    "negative blur": (lambda: corrupt(IMG, "blur", -0.5), ValueError, "severity of 'blur'"),
    "negative noise": (lambda: corrupt(IMG, "noise", -0.1), ValueError, "severity of 'noise'"),
    "negative invert": (lambda: corrupt(IMG, "invert", -0.1), ValueError, "severity of 'invert'"),
    "invert above 1": (lambda: corrupt(IMG, "invert", 1.5), ValueError, "from 0 to 1"),
    "thicken 0": (lambda: corrupt(IMG, "thicken", 0), ValueError, "severity of 'thicken'"),
    "thicken -2": (lambda: corrupt(IMG, "thicken", -2), ValueError, "at least 1"),
    "thicken float": (lambda: corrupt(IMG, "thicken", 2.0), TypeError, "must be an integer"),
    "NaN severity": (lambda: corrupt(IMG, "blur", math.nan), ValueError, "severity.*nan"),
    "infinite severity": (lambda: corrupt(IMG, "rotate", math.inf), ValueError, "severity"),
    "string severity": (lambda: corrupt(IMG, "noise", "0.1"), TypeError, "severity.*real number"),
    "bool severity": (lambda: corrupt(IMG, "blur", True), TypeError, "severity"),
    "array severity": (lambda: corrupt(IMG, "blur", np.ones(2)), TypeError, "severity"),
    "1-D images": (lambda: corrupt(np.zeros(6), "blur", 1), ValueError, r"images.*1-D shape"),
    "5-D images": (
        lambda: corrupt(IMG[None], "blur", 1),
        ValueError,
        r"images.*5-D shape \(1, 2, 1, 6, 6\)",
    ),
    "3 channels": (lambda: corrupt(np.zeros((2, 3, 6, 6)), "blur", 1), ValueError, "one .*channel"),
    "channels last": (
        lambda: corrupt(np.zeros((2, 6, 6, 1)), "blur", 1),
        ValueError,
        r"images.*transpose\(0, 3, 1, 2\)",
    ),
    "empty images": (lambda: corrupt(IMG[:0], "blur", 1), ValueError, "images must not be empty"),
    "NaN images": (lambda: corrupt(NAN, "noise", 0.1), ValueError, "images must be finite"),
    "infinite images": (
        lambda: corrupt(np.full((6, 6), np.inf), "blur", 1),
        ValueError,
        "images must be finite",
    ),
    "images above 1": (lambda: corrupt(IMG + 2, "blur", 1), ValueError, r"images .*\[0, 1\]"),
    "images below 0": (lambda: corrupt(IMG - 0.1, "invert", 1), ValueError, r"images .*\[0, 1\]"),
    "uint8 images": (
        lambda: corrupt(np.zeros((6, 6), np.uint8), "blur", 1),
        TypeError,
        "images must be floating point.*/ 255",
    ),
    "string images": (lambda: corrupt(np.full((6, 6), "a"), "blur", 1), TypeError, "images"),
    "complex images": (lambda: corrupt(np.zeros((6, 6), complex), "blur", 1), TypeError, "images"),
    "ragged images": (lambda: corrupt([[0.0, 1.0], [0.0]], "blur", 1), TypeError, "images"),
    "images None": (lambda: corrupt(None, "blur", 1), TypeError, "images"),
    "bad rng": (lambda: corrupt(IMG, "noise", 0.1, rng=1.5), TypeError, "rng must be"),
}


@pytest.mark.parametrize(("call", "error", "match"), BAD.values(), ids=BAD)
def test_bad_arguments_are_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_an_unknown_kind_lists_every_kind():
    with pytest.raises(ValueError) as info:
        corrupt(IMG, "fog", 1)
    assert all(kind in str(info.value) for kind in CORRUPTIONS) and "'fog'" in str(info.value)


def test_the_docstring_examples():
    assert doctest.testmod(corruptions).failed == 0
