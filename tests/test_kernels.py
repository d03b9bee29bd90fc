"""Tests for dlcv.kernels: sums, symmetries, and agreement with SciPy's filters."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from dlcv import kernels

BLURS = ["box_blur_3x3", "box_blur_5x5", "gaussian_3x3", "gaussian_5x5"]
EDGES = ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "vertical_edge",
         "laplacian_4", "laplacian_8", "outline"]  # fmt: skip
SUM_ONE = ["identity", "sharpen", "emboss"]
# Unchanged by transposition and by flipping either axis.
FULLY_SYMMETRIC = ["identity", "sharpen", "laplacian_4", "laplacian_8", "outline", *BLURS]


def test_names_cover_the_required_presets_in_menu_order():
    assert kernels.names() == tuple(kernels.PRESETS)
    assert set(BLURS + EDGES + SUM_ONE) == set(kernels.names())
    assert kernels.names()[0] == "identity"


@pytest.mark.parametrize("name", kernels.names())
def test_presets_are_square_odd_float64_and_read_only(name):
    k = kernels.PRESETS[name]
    assert k.dtype == np.float64 and k.ndim == 2
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    with pytest.raises(ValueError, match="read-only"):
        k[0, 0] = 99.0


@pytest.mark.parametrize("name", kernels.names())
def test_get_returns_an_independent_writable_copy(name):
    k = kernels.get(name)
    np.testing.assert_array_equal(k, kernels.PRESETS[name])
    k[...] = 7.0
    assert not np.all(kernels.PRESETS[name] == 7.0)
    assert not np.shares_memory(kernels.get(name), kernels.PRESETS[name])


@pytest.mark.parametrize("name", BLURS)
def test_blur_kernels_are_non_negative_and_sum_to_one(name):
    k = kernels.get(name)
    assert np.all(k > 0)
    assert k.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", EDGES)
def test_edge_kernels_sum_to_zero(name):
    assert kernels.get(name).sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("name", SUM_ONE)
def test_brightness_preserving_kernels_sum_to_one(name):
    assert kernels.get(name).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", FULLY_SYMMETRIC)
def test_symmetric_kernels(name):
    k = kernels.get(name)
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_array_equal(k, k[::-1, :])
    np.testing.assert_array_equal(k, k[:, ::-1])


def test_gradient_kernels_are_antisymmetric_along_their_direction():
    for name in ["sobel_x", "prewitt_x", "vertical_edge"]:
        k = kernels.get(name)
        np.testing.assert_array_equal(k[:, ::-1], -k)
        np.testing.assert_array_equal(k[::-1, :], k)
    for name in ["sobel_y", "prewitt_y"]:
        k = kernels.get(name)
        np.testing.assert_array_equal(k[::-1, :], -k)


def test_y_kernels_are_x_kernels_transposed():
    np.testing.assert_array_equal(kernels.get("sobel_x"), kernels.get("sobel_y").T)
    np.testing.assert_array_equal(kernels.get("prewitt_x"), kernels.get("prewitt_y").T)


def test_emboss_is_symmetric_about_the_diagonal_and_antisymmetric_off_centre():
    k = kernels.get("emboss")
    np.testing.assert_array_equal(k, k.T)
    off_centre = k - np.pad([[k[1, 1]]], 1)
    np.testing.assert_array_equal(off_centre[::-1, ::-1], -off_centre)


def test_vertical_edge_is_the_tutorials_kernel_and_minus_prewitt_x():
    np.testing.assert_array_equal(kernels.get("vertical_edge"), [[1, 0, -1]] * 3)
    np.testing.assert_array_equal(kernels.get("vertical_edge"), -kernels.get("prewitt_x"))


def test_laplacians_and_outline():
    np.testing.assert_array_equal(kernels.get("outline"), -kernels.get("laplacian_8"))
    np.testing.assert_array_equal(
        kernels.get("sharpen"), kernels.get("identity") - kernels.get("laplacian_4")
    )


@pytest.mark.parametrize(
    ("name", "scipy_filter"),
    [
        ("sobel_x", lambda im: ndimage.sobel(im, axis=1)),
        ("sobel_y", lambda im: ndimage.sobel(im, axis=0)),
        ("prewitt_x", lambda im: ndimage.prewitt(im, axis=1)),
        ("prewitt_y", lambda im: ndimage.prewitt(im, axis=0)),
        ("laplacian_4", ndimage.laplace),
    ],
)
@pytest.mark.parametrize("seed", range(5))
def test_correlating_with_the_preset_matches_scipys_named_filter(name, scipy_filter, seed):
    image = np.random.default_rng(seed).random((17, 23))
    ours = ndimage.correlate(image, kernels.get(name), mode="reflect")
    np.testing.assert_allclose(ours, scipy_filter(image), atol=1e-12)


def test_sign_convention_on_a_ramp():
    ramp = np.tile(np.arange(8.0), (8, 1))  # brighter to the right
    inner = (slice(1, -1), slice(1, -1))
    assert np.all(ndimage.correlate(ramp, kernels.get("sobel_x"))[inner] > 0)
    assert np.all(ndimage.correlate(ramp, kernels.get("vertical_edge"))[inner] < 0)
    assert np.allclose(ndimage.correlate(ramp, kernels.get("sobel_y"))[inner], 0)
    assert np.all(ndimage.correlate(ramp.T, kernels.get("sobel_y"))[inner] > 0)
    assert np.allclose(ndimage.correlate(ramp, kernels.get("laplacian_4"))[inner], 0)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 7).map(lambda r: 2 * r + 1),
    sigma=st.floats(0.2, 6.0, allow_nan=False),
)
def test_gaussian_equals_scipys_impulse_response(size, sigma):
    radius = size // 2
    impulse = np.zeros((size + 2 * radius, size + 2 * radius))
    impulse[2 * radius, 2 * radius] = 1.0
    response = ndimage.gaussian_filter(impulse, sigma, radius=radius, mode="constant")
    centre = response[radius : radius + size, radius : radius + size]
    np.testing.assert_allclose(kernels.gaussian(size, sigma), centre, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 7).map(lambda r: 2 * r + 1),
    sigma=st.floats(0.2, 6.0, allow_nan=False),
)
def test_gaussian_matches_the_formula(size, sigma):
    y, x = np.mgrid[:size, :size] - size // 2
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    np.testing.assert_allclose(kernels.gaussian(size, sigma), g / g.sum(), rtol=1e-12)


def test_gaussian_default_sigma_and_presets():
    assert kernels.default_sigma(3) == pytest.approx(0.8)
    assert kernels.default_sigma(5) == pytest.approx(1.1)
    np.testing.assert_allclose(kernels.get("gaussian_3x3"), kernels.gaussian(3, 0.8))
    np.testing.assert_allclose(kernels.get("gaussian_5x5"), kernels.gaussian(5, 1.1))
    np.testing.assert_allclose(kernels.gaussian(7), kernels.gaussian(7, 1.4))
    np.testing.assert_array_equal(kernels.gaussian(1, 2.0), [[1.0]])


def test_larger_sigma_spreads_the_weight():
    assert (
        kernels.gaussian(5, 0.5)[2, 2]
        > kernels.gaussian(5, 1.0)[2, 2]
        > kernels.gaussian(5, 3.0)[2, 2]
    )


@pytest.mark.parametrize("size", [0, -1, 2, 4, 10])
def test_gaussian_rejects_even_or_non_positive_sizes(size):
    with pytest.raises(ValueError, match=rf"size must be an odd integer >= 1.*got {size}"):
        kernels.gaussian(size, 1.0)


@pytest.mark.parametrize("size", [3.0, "3", None, True])
def test_gaussian_rejects_non_integer_sizes(size):
    with pytest.raises(TypeError, match="size must be an odd integer"):
        kernels.gaussian(size, 1.0)


@pytest.mark.parametrize("sigma", [0, -1.0, float("nan"), float("inf")])
def test_gaussian_rejects_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        kernels.gaussian(3, sigma)
    with pytest.raises(TypeError, match="sigma must be a number"):
        kernels.gaussian(3, "1")


@pytest.mark.parametrize("func", [kernels.get, kernels.describe])
def test_unknown_names_list_the_valid_ones(func):
    with pytest.raises(ValueError, match=r"unknown kernel 'sobel'.*sobel_x.*vertical_edge"):
        func("sobel")
    with pytest.raises(TypeError, match="name must be a string"):
        func(3)


def test_descriptions_are_single_distinct_lines_naming_the_kernel():
    texts = [kernels.describe(n) for n in kernels.names()]
    assert len(set(texts)) == len(texts)
    for name, text in zip(kernels.names(), texts, strict=True):
        assert "\n" not in text and 20 < len(text) < 120
        assert text.split(":")[0].split()[0].lower() == name.split("_")[0]
