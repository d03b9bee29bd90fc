"""Tests for dlcv.shift: shifts, equivariance, pooling invariance, blur pooling, aliasing."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from dlcv import correlate2d, max_pool2d
from dlcv.shift import (
    alias_profile,
    binomial_kernel,
    blur_pool,
    correlate_circular,
    cosine_similarity,
    equivariance_error,
    feature_maps,
    global_pool,
    interior_mask,
    invariance_table,
    max_pool,
    pool_compare,
    pool_shift,
    relative_change,
    shift_image,
    strided_features,
)

shifts = st.integers(-6, 6)
modes = st.sampled_from(["wrap", "zero"])


def _image(seed, shape):
    return np.random.default_rng(seed).random(shape)


# ---------------------------------------------------------------- shift_image
@given(seed=st.integers(0, 10_000), dy=shifts, dx=shifts)
@settings(max_examples=60, deadline=None)
def test_wrap_is_np_roll_and_zero_fill_matches_scipy_shift(seed, dy, dx):
    x = _image(seed, (2, 9, 11))
    rolled = np.roll(x, (dy, dx), axis=(-2, -1))
    np.testing.assert_array_equal(shift_image(x, dy, dx, "wrap"), rolled)
    expected = ndi.shift(x, (0, dy, dx), order=0, mode="constant", cval=0.0)
    np.testing.assert_array_equal(shift_image(x, dy, dx, "zero"), expected)


def test_zero_fill_by_the_whole_size_leaves_zeros_and_wrap_is_periodic():
    x = _image(0, (5, 7))
    assert not shift_image(x, 5, 0, "zero").any() and not shift_image(x, 0, -9, "zero").any()
    np.testing.assert_array_equal(shift_image(x, 5, 7, "wrap"), x)
    np.testing.assert_array_equal(shift_image(x, 0, 0, "zero"), x)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (
            (np.zeros(4), 1, 1),
            ValueError,
            r"x must have shape \(\.\.\., H, W\), got 1-D shape \(4,\)",
        ),
        ((np.zeros((3, 3)), 1.5, 0), TypeError, "dy must be a whole number of pixels"),
        ((np.zeros((3, 3)), 0, True), TypeError, "dx must be a whole number"),
        (
            (np.zeros((3, 3)), 0, 0, "reflect"),
            ValueError,
            r"mode must be one of \('wrap', 'zero'\)",
        ),
        ((np.array([["a"]]), 0, 0), TypeError, "x must hold real numbers"),
        ((np.zeros((0, 3)), 0, 0), ValueError, "x must not be empty"),
    ],
)
def test_shift_image_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        shift_image(*args)


# ---------------------------------------------------------------- equivariance
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(8, 20),
    w=st.integers(8, 20),
    kh=st.sampled_from([1, 2, 3, 4, 5]),
    kw=st.sampled_from([1, 2, 3, 5]),
    dy=shifts,
    dx=shifts,
    mode=modes,
)
@settings(max_examples=150, deadline=None)
def test_convolution_is_exactly_equivariant_in_the_interior(seed, h, w, kh, kw, dy, dx, mode):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    error = equivariance_error(image, kernel, dy, dx, mode=mode)
    inside = interior_mask(image.shape, kernel.shape, dy, dx)
    assert np.all(error[inside] == 0.0)  # exactly, not approximately

    # and the interior is what the window arithmetic says it is
    def inside_axis(n, k, d):  # windows [i - (k-1)//2, ... + k) within the moved rows
        first = np.arange(n) - (k - 1) // 2
        return [i for i in range(n) if max(0, d) <= first[i] and first[i] + k <= n + min(0, d)]

    rows, cols = inside_axis(h, kh, dy), inside_axis(w, kw, dx)
    expected = np.zeros((h, w), bool)
    expected[np.ix_(rows, cols)] = True
    np.testing.assert_array_equal(inside, expected)


def test_the_error_outside_the_interior_is_real_on_a_random_image():
    image, kernel = _image(1, (16, 16)), np.ones((3, 3))
    for mode in ("wrap", "zero"):
        error = equivariance_error(image, kernel, 2, 3, mode=mode)
        outside = ~interior_mask(image.shape, kernel.shape, 2, 3)
        assert np.abs(error[outside]).max() > 0.1
        assert np.all(error[~outside] == 0)


@given(seed=st.integers(0, 10_000), dy=shifts, dx=shifts, k=st.sampled_from([1, 3, 5]))
@settings(max_examples=60, deadline=None)
def test_circular_padding_makes_wrap_shifts_commute_everywhere(seed, dy, dx, k):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(10, 13)), rng.normal(size=(k, k))
    assert np.all(equivariance_error(image, kernel, dy, dx, mode="wrap", circular=True) == 0)
    expected = ndi.correlate(image, kernel, mode="wrap")  # odd kernels: same centre convention
    np.testing.assert_allclose(correlate_circular(image, kernel), expected, atol=1e-12)


def test_correlate_circular_agrees_with_zero_padding_in_the_interior():
    image, kernel = _image(2, (12, 12)), _image(3, (4, 2))
    inside = interior_mask(image.shape, kernel.shape, 0, 0)
    np.testing.assert_allclose(
        correlate_circular(image, kernel)[inside],
        correlate2d(image, kernel, padding="same")[inside],
        atol=1e-12,
    )
    message = r"kernel \(13, 1\) must not be larger than the image \(12, 12\)"
    with pytest.raises(ValueError, match=message):
        correlate_circular(image, np.ones((13, 1)))


def test_equivariance_error_rejects_colour_images_and_bad_kernels():
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\), got 3-D"):
        equivariance_error(np.zeros((4, 4, 3)), np.ones((3, 3)), 1, 1)
    with pytest.raises(ValueError, match=r"kernel must have shape \(kh, kw\)"):
        equivariance_error(np.zeros((4, 4)), np.ones(3), 1, 1)


# ---------------------------------------------------------------- pooling invariance
def _dot(n, row, col):
    x = np.zeros((n, n))
    x[row, col] = 1.0
    return x


@pytest.mark.parametrize("k", [2, 3, 4, 8])
def test_a_bright_pixel_moving_inside_its_window_changes_nothing(k):
    n = 4 * k
    x = _dot(n, k + 0, k + 0)  # first pixel of window (1, 1)
    for s in range(k):  # stays in the same window
        result = pool_shift(x, 0, s, k, mode="zero")
        assert result.unchanged == 1.0 and result.max_change == 0.0
    result = pool_shift(x, 0, k, k, mode="zero")  # enters the next window: two outputs change
    assert result.max_change == 1.0
    changed = int(round((1 - result.unchanged) * result.valid.sum()))
    assert changed == 2
    np.testing.assert_array_equal(np.argwhere(result.shifted != result.reference), [[1, 1], [1, 2]])


def test_a_bright_pixel_at_the_end_of_its_window_leaves_it_after_one_pixel():
    x = _dot(8, 1, 1)  # last pixel of window (0, 0) for k = 2
    result = pool_shift(x, 1, 0, 2, mode="zero")
    assert result.max_change == 1.0
    np.testing.assert_array_equal(np.argwhere(result.shifted != result.reference), [[0, 0], [1, 0]])


def test_valid_outputs_exclude_windows_that_read_filled_or_wrapped_pixels():
    x = _image(4, (12, 12))
    result = pool_shift(x, 3, -5, 2)  # rows 3.., columns ..6 hold moved content
    rows, cols = np.nonzero(result.valid.any(axis=1))[0], np.nonzero(result.valid.any(axis=0))[0]
    np.testing.assert_array_equal(rows, [2, 3, 4, 5])  # windows start at 4, 6, 8, 10
    np.testing.assert_array_equal(cols, [0, 1, 2])  # windows end before column 7
    # with wrap or zero fill the compared outputs are identical
    other = pool_shift(x, 3, -5, 2, mode="zero")
    np.testing.assert_array_equal(result.shifted[result.valid], other.shifted[other.valid])


@given(seed=st.integers(0, 10_000), k=st.sampled_from([2, 3, 4]), m=st.integers(1, 2), mode=modes)
@settings(max_examples=40, deadline=None)
def test_shifts_by_whole_windows_move_the_pooled_map_by_whole_cells(seed, k, m, mode):
    x = _image(seed, (2, 6 * k, 6 * k))
    result = pool_shift(x, m * k, 0, k, mode=mode)
    coarse = shift_image(result.reference, m, 0, mode)
    np.testing.assert_array_equal(result.shifted[..., result.valid], coarse[..., result.valid])


def test_fraction_counts_every_leading_axis_and_respects_atol():
    x = np.zeros((2, 4, 4))
    x[0, 0, 1], x[1, 0, 0] = 1.0, 0.5
    result = pool_shift(x, 0, 1, 2, mode="zero")  # x[0]: leaves its window; x[1]: stays
    # valid windows: rows 0, 1; column windows starting at 2 only (the first reads column 0)
    assert result.valid.sum() == 2
    np.testing.assert_allclose(result.unchanged, 3 / 4)
    assert pool_shift(x, 0, 1, 2, mode="zero", atol=1.0).unchanged == 1.0


@pytest.mark.parametrize("pool", ["max", "avg", "blur"])
def test_zero_shift_changes_nothing_for_every_pool(pool):
    x = _image(5, (3, 20, 20))
    result = pool_shift(x, 0, 0, 3, stride=2, pool=pool)
    assert result.unchanged == 1.0 and result.max_change == 0.0
    assert result.valid.all() == (pool != "blur")  # the blur reads zero padding at the border


@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 4),
    s=st.integers(1, 4),
    pool=st.sampled_from(["max", "avg", "blur"]),
)
@settings(max_examples=60, deadline=None)
def test_pool_compare_counts_exactly_the_outputs_whose_footprint_is_trusted(seed, k, s, pool):
    rng = np.random.default_rng(seed)
    before, after = rng.random((13, 11)), rng.random((13, 11))
    trusted = rng.random((13, 11)) > 0.15
    trusted[3:10, 2:9] = True  # a trusted block: some output of every setting here reads only it
    result = pool_compare(before, after, k, s, pool, trusted)
    offset, span = (-1, k + 2) if pool == "blur" else (0, k)
    padded = np.pad(trusted, span, constant_values=False)  # outside the image: not trusted
    for i, j in np.ndindex(*result.valid.shape):
        r, c = i * s + offset + span, j * s + offset + span
        assert result.valid[i, j] == padded[r : r + span, c : c + span].all()
    change = np.abs(result.shifted - result.reference)[result.valid]
    assert result.unchanged == np.mean(change == 0) and result.max_change == change.max()


def test_pool_compare_of_feature_maps_uses_the_convolution_interior():
    image, kernel = _image(11, (24, 24)), np.ones((5, 5))
    before = correlate2d(image, kernel, padding="same")
    after = correlate2d(shift_image(image, 0, 2, "zero"), kernel, padding="same")
    trusted = interior_mask(image.shape, kernel.shape, 0, 2)
    result = pool_compare(before, shift_image(before, 0, 2, "zero"), 2, pool="max", trusted=trusted)
    exact = pool_compare(before, after, 2, pool="max", trusted=trusted)
    np.testing.assert_array_equal(exact.shifted[exact.valid], result.shifted[result.valid])
    with pytest.raises(ValueError, match=r"same shape, got \(24, 24\) and \(3, 24, 24\)"):
        pool_compare(before, np.zeros((3, 24, 24)), 2)
    with pytest.raises(ValueError, match=r"trusted must be a boolean mask of shape \(24, 24\)"):
        pool_compare(before, after, 2, trusted=np.ones((24, 24)))


def test_pool_shift_errors():
    with pytest.raises(ValueError, match=r"no pooled output of the 8x8 input reads only moved"):
        pool_shift(np.zeros((8, 8)), 0, 7, 2)
    with pytest.raises(ValueError, match=r"pool must be one of \('max', 'avg', 'blur'\)"):
        pool_shift(np.zeros((8, 8)), 0, 1, 2, pool="min")
    with pytest.raises(ValueError, match="atol must be a number >= 0"):
        pool_shift(np.zeros((8, 8)), 0, 1, 2, atol=-1)
    with pytest.raises(ValueError, match="kernel_size must be at least 1"):
        pool_shift(np.zeros((8, 8)), 0, 1, 0)


def test_invariance_table_is_the_mean_of_pool_shift():
    images = [_image(6, (16, 16)), _image(7, (12, 20))]
    table = invariance_table(images, [(0, 0), (0, 1), (2, 2)], [2, 4])
    assert table.shape == (2, 3)
    np.testing.assert_array_equal(table[:, 0], 1.0)
    expected = np.mean([pool_shift(im, 2, 2, 4).unchanged for im in images])
    assert table[1, 2] == expected
    with pytest.raises(ValueError, match="must be non-empty"):
        invariance_table([], [(0, 1)], [2])
    with pytest.raises(ValueError, match=r"shifts must be \(dy, dx\) pairs"):
        invariance_table(images, [(1,)], [2])


# ---------------------------------------------------------------- blur pooling
def test_binomial_kernel_rows_are_pascal_rows():
    np.testing.assert_allclose(binomial_kernel(3), np.outer([1, 2, 1], [1, 2, 1]) / 16)
    np.testing.assert_allclose(binomial_kernel(5)[2], np.array([1, 4, 6, 4, 1]) * 6 / 256)
    np.testing.assert_array_equal(binomial_kernel(1), [[1.0]])
    with pytest.raises(ValueError, match="size must be odd"):
        binomial_kernel(4)


@given(
    seed=st.integers(0, 10_000),
    h=st.integers(6, 17),
    w=st.integers(6, 17),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    b=st.sampled_from([1, 3, 5]),
)
@settings(max_examples=80, deadline=None)
def test_blur_pool_matches_its_definition_with_scipy(seed, h, w, k, s, b):
    x = _image(seed, (2, h, w))
    dense = sliding_window_view(x, (k, k), axis=(1, 2)).max(axis=(-2, -1))  # every k x k maximum
    blurred = ndi.correlate(dense, binomial_kernel(b)[None], mode="constant")
    np.testing.assert_allclose(blur_pool(x, k, s, b), blurred[:, ::s, ::s], atol=1e-12)


@given(seed=st.integers(0, 10_000), k=st.integers(1, 4), s=st.integers(1, 4), boundary=modes)
@settings(max_examples=40, deadline=None)
def test_blur_size_one_is_plain_strided_max_pooling(seed, k, s, boundary):
    x = _image(seed, (1, 2, 13, 16))
    np.testing.assert_array_equal(blur_pool(x, k, s, 1, boundary), max_pool(x, k, s, boundary))


def test_wrapped_max_pool_and_blur_pool_follow_circular_shifts_by_the_stride():
    x = _image(8, (3, 16, 12))
    for pool in (lambda a: max_pool(a, 3, 2, "wrap"), lambda a: blur_pool(a, 3, 2, 5, "wrap")):
        out = pool(x)
        assert out.shape == (3, 8, 6)
        moved = pool(shift_image(x, 4, -2, "wrap"))
        np.testing.assert_allclose(moved, shift_image(out, 2, -1, "wrap"), atol=1e-12)
    np.testing.assert_array_equal(max_pool(x, 2, 2, "zero"), max_pool2d(x, 2))


def test_blur_pool_errors():
    with pytest.raises(ValueError, match="blur_size must be odd"):
        blur_pool(np.zeros((8, 8)), blur_size=2)
    with pytest.raises(ValueError, match=r"boundary must be one of"):
        blur_pool(np.zeros((8, 8)), boundary="reflect")
    layout = r"x must have shape \(H, W\), \(C, H, W\) or \(N, C, H, W\)"
    with pytest.raises(ValueError, match=layout):
        blur_pool(np.zeros((1, 1, 1, 8, 8)))
    with pytest.raises(ValueError, match="kernel_size 9 is too large to wrap around"):
        max_pool(np.zeros((4, 4)), 9, 2, "wrap")


# ---------------------------------------------------------------- global pooling and measures
@given(seed=st.integers(0, 10_000), dy=shifts, dx=shifts)
@settings(max_examples=40, deadline=None)
def test_global_pooling_of_circular_feature_maps_ignores_circular_shifts(seed, dy, dx):
    rng = np.random.default_rng(seed)
    image, bank = rng.random((14, 11)), rng.normal(size=(3, 3, 3))
    maps = feature_maps(image, bank, circular=True)
    moved = feature_maps(shift_image(image, dy, dx, "wrap"), bank, circular=True)
    np.testing.assert_array_equal(moved, shift_image(maps, dy, dx, "wrap"))  # equivariant, exactly
    np.testing.assert_array_equal(global_pool(moved, "max"), global_pool(maps, "max"))  # bitwise
    # a mean over the same values in another order: equal up to floating-point rounding
    np.testing.assert_allclose(
        global_pool(moved, "avg"), global_pool(maps, "avg"), rtol=1e-13, atol=1e-15
    )


def test_feature_maps_are_relu_of_each_correlation():
    image, bank = _image(9, (10, 12)), np.random.default_rng(1).normal(size=(2, 3, 5))
    maps = feature_maps(image, bank)
    for f in range(2):
        expected = np.maximum(correlate2d(image, bank[f], padding="same"), 0)
        np.testing.assert_allclose(maps[f], expected, atol=1e-12)
    with pytest.raises(ValueError, match="bank must hold odd-sized filters"):
        feature_maps(image, np.ones((1, 2, 2)))


def test_relative_change_and_cosine_similarity():
    a, b = np.array([3.0, 4.0]), np.array([3.0, 0.0])
    assert relative_change(a, b) == pytest.approx(4 / 3)
    assert relative_change(b, b) == 0.0 and relative_change(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_change(a, np.zeros(2)) == float("inf")
    assert cosine_similarity(a, b) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="undefined for an all-zero array"):
        cosine_similarity(a, np.zeros(2))
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        relative_change(a, np.ones(3))
    assert global_pool(np.arange(8.0).reshape(2, 2, 2), "max").tolist() == [3.0, 7.0]


# ---------------------------------------------------------------- aliasing
def test_alias_profile_is_zero_at_multiples_of_the_total_stride_and_not_between():
    rng = np.random.default_rng(3)
    image = ndi.gaussian_filter(rng.random((32, 32)), 1.0)
    weights = [rng.normal(size=(3, 3, 3)), rng.normal(size=(4, 3, 3, 3))]
    profile = alias_profile(image, weights, range(9))
    np.testing.assert_array_equal(profile.map_change[[0, 4, 8]], 0.0)
    assert np.all(profile.map_change[[1, 2, 3, 5, 6, 7]] > 1e-3)
    np.testing.assert_allclose(profile.descriptor_change[[0, 4, 8]], 0.0, atol=1e-13)
    blurred = alias_profile(image, weights, [1, 2], blur_size=3)
    assert np.all(blurred.map_change < profile.map_change[[1, 2]])


def test_strided_features_shapes_and_errors():
    image = _image(10, (16, 16))
    out = strided_features(image, [np.ones((2, 3, 3)), np.ones((5, 2, 3, 3))])
    assert out.shape == (5, 4, 4)
    message = r"weights\[1\] has shape \(5, 3, 3, 3\) and expects 3 input maps, but stage 1 rec"
    with pytest.raises(ValueError, match=message):
        strided_features(image, [np.ones((2, 3, 3)), np.ones((5, 3, 3, 3))])
    with pytest.raises(ValueError, match="at least one filter bank"):
        strided_features(image, [])


def test_accuracy_under_shift_matches_a_direct_computation():
    from dlcv.data import load_mnist
    from dlcv.models import load_lenet_mnist
    from dlcv.shift import accuracy_under_shift
    from dlcv.train import predict

    data, model = load_mnist(), load_lenet_mnist()
    x, y = data.x_test[:200], data.y_test[:200]
    result = accuracy_under_shift(model, x, y, shifts=[0, 3])
    assert result.shifts == (0, 3)
    assert set(result.accuracy) == {"right", "left", "down", "up"}
    unshifted = float(np.mean(predict(model, x) == y))
    assert all(a[0] == unshifted for a in result.accuracy.values())
    assert result.ink_lost[0] == 0
    moved = np.zeros_like(x)  # 3 pixels to the right, zero fill, by slicing
    moved[..., 3:] = x[..., :-3]
    assert result.accuracy["right"][1] == float(np.mean(predict(model, moved) == y))
    x64 = x.astype(np.float64)
    lost = [
        1 - np.roll(x64, s, axis=a)[idx].sum() / x64.sum()
        for s, a, idx in [
            (3, -1, np.s_[..., 3:]),
            (-3, -1, np.s_[..., :-3]),
            (3, -2, np.s_[..., 3:, :]),
            (-3, -2, np.s_[..., :-3, :]),
        ]
    ]
    assert result.ink_lost[1] == pytest.approx(np.mean(lost), rel=1e-9)
    assert result.mean_accuracy.shape == (2,)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"images": np.zeros((2, 28, 28))}, ValueError, r"images must have shape \(N, C, H, W\)"),
        ({"labels": np.zeros(3, int)}, ValueError, r"labels must have shape \(2,\)"),
        ({"shifts": [1.5]}, TypeError, "shifts must be whole numbers of pixels"),
        ({"shifts": [-1]}, ValueError, "shifts must be one or more distances >= 0"),
        ({"shifts": []}, ValueError, "shifts must be one or more distances >= 0"),
    ],
)
def test_accuracy_under_shift_rejects_bad_input(kwargs, error, message):
    from dlcv.shift import accuracy_under_shift

    args = {"model": None, "images": np.zeros((2, 1, 28, 28)), "labels": np.zeros(2, int)}
    with pytest.raises(error, match=message):
        accuracy_under_shift(**(args | kwargs))
