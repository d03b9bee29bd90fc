"""Tests for the shift explorer: drive its controls, compare with dlcv.shift and dlcv.conv."""

import io

import numpy as np
import pytest
from PIL import Image

from dlcv import correlate2d, kernels, render
from dlcv.data import sample_image
from dlcv.shift import interior_mask, pool_compare, shift_image
from dlcv.widgets import shift_explorer as se
from dlcv.widgets.shift_explorer import ShiftExplorer

VIEWS = (
    "input_view",
    "feature_view",
    "feature_change_view",
    "pooled_before_view",
    "pooled_after_view",
    "pooled_change_view",
)


def _pictures(explorer) -> dict[str, bytes]:
    return {name: bytes(getattr(explorer, name).value) for name in VIEWS}


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


def _expected(explorer):
    """Recompute everything the explorer shows from its controls, independently."""
    image = sample_image(explorer.image.value, grey=True)
    kernel = kernels.get(explorer.kernel.value)
    dy, dx, mode = explorer.dy.value, explorer.dx.value, explorer.mode.value
    before = np.maximum(correlate2d(image, kernel, padding="same"), 0)
    after = np.maximum(correlate2d(shift_image(image, dy, dx, mode), kernel, padding="same"), 0)
    trusted = interior_mask(image.shape, kernel.shape, dy, dx)
    result = pool_compare(
        before, after, explorer.pool_size.value, explorer.stride.value, explorer.pool.value, trusted
    )
    return before, after, trusted, result


@pytest.fixture()
def explorer():
    return ShiftExplorer(
        image="camera", kernel="sobel_x", dy=0, dx=1, mode="zero", pool="max", pool_size=2, stride=2
    )


def test_initial_state_matches_an_independent_computation(explorer):
    before, after, trusted, result = _expected(explorer)
    assert explorer.error is None and explorer.message.value == ""
    np.testing.assert_array_equal(explorer.features, after)
    np.testing.assert_array_equal(explorer.interior, trusted)
    np.testing.assert_array_equal(explorer.equivariance, after - shift_image(before, 0, 1, "zero"))
    assert np.all(explorer.equivariance[trusted] == 0)
    assert np.abs(explorer.equivariance[~trusted]).max() > 0  # the borders do change
    np.testing.assert_array_equal(explorer.result.shifted, result.shifted)
    assert explorer.result.unchanged == result.unchanged
    assert f"{result.unchanged:.1%}" in explorer.stats.value
    assert f"{result.valid.sum():,} compared outputs" in explorer.stats.value
    for png in _pictures(explorer).values():
        assert png.startswith(b"\x89PNG")
    assert _pixels(explorer.input_view.value).shape == (256, 256, 3)


@pytest.mark.parametrize(
    ("control", "value"),
    [
        ("dx", 3),
        ("dy", -2),
        ("mode", "wrap"),
        ("kernel", "laplacian_8"),
        ("pool", "blur"),
        ("pool", "avg"),
        ("pool_size", 4),
        ("stride", 1),
        ("image", "coins"),
    ],
)
def test_each_control_updates_the_numbers_and_the_pictures(explorer, control, value):
    before_pictures, before_stats = _pictures(explorer), explorer.stats.value
    getattr(explorer, control).value = value
    assert explorer.error is None, explorer.message.value
    _, after, trusted, result = _expected(explorer)
    np.testing.assert_array_equal(explorer.features, after)
    np.testing.assert_array_equal(explorer.result.valid, result.valid)
    np.testing.assert_array_equal(explorer.result.shifted, result.shifted)
    assert np.all(explorer.equivariance[trusted] == 0)
    changed = [n for n, png in _pictures(explorer).items() if png != before_pictures[n]]
    assert changed, f"changing {control} redrew no picture"
    assert explorer.stats.value != before_stats


def test_no_shift_changes_nothing(explorer):
    explorer.dx.value = 0
    assert np.all(explorer.equivariance == 0)
    # the interior still leaves out the one-pixel band where the 3x3 kernel reads padding
    assert not explorer.interior[0].any() and explorer.interior[1:-1, 1:-1].all()
    assert explorer.result.unchanged == 1.0 and explorer.result.max_change == 0.0
    assert "<b>100.0%</b>" in explorer.stats.value
    assert "largest error is 0, at 0 pixels" in explorer.stats.value
    # the difference maps show only the colour of 0 (the centre of RdBu_r) and, for the
    # pooled outputs that read the padding band, the grey of "not compared"
    signed = render.DisplayRange("RdBu_r", -1.0, 1.0, True)
    zero_colour = render.colorize(np.zeros((1, 1)), signed)[0, 0]
    assert np.all(_pixels(explorer.feature_change_view.value) == zero_colour)
    pooled = _pixels(explorer.pooled_change_view.value)
    grey = np.all(pooled == se._NOT_COMPARED, axis=-1)
    assert np.all(pooled[~grey] == zero_colour) and grey[0].all() and not grey[1:-1, 1:-1].any()


def test_shifts_by_the_window_change_pooled_outputs_and_grey_out_the_border(explorer):
    explorer.pool_size.value, explorer.stride.value = 4, 4
    explorer.dx.value = 4
    assert explorer.result.unchanged < 0.5  # content moved to the next window
    pixels = _pixels(explorer.pooled_change_view.value)
    grey = np.all(pixels == se._NOT_COMPARED, axis=-1)
    valid = explorer.result.valid  # 128 x 128 pooled outputs, drawn 2 x 2 pixels each
    np.testing.assert_array_equal(grey, np.repeat(np.repeat(~valid, 2, axis=0), 2, axis=1))
    # not compared: columns 0-7 (filled or next to the fill), the last column and the top and
    # bottom rows (they read the zero padding of the feature map)
    assert (~valid[:, :2]).all() and (~valid[:, -1]).all() and valid[1:-1, 2:-1].all()


def test_a_small_digit_with_a_large_shift_says_why_it_cannot_be_measured(explorer):
    explorer.image.value = "digit"
    assert explorer.error is None and explorer.shifted_input.shape == (28, 28)
    explorer.pool_size.value, explorer.stride.value = 8, 8  # windows start at 0, 8, 16
    shown = _pictures(explorer)
    explorer.dx.value = 16  # moved columns 16..27, away from fill and padding only 17..26
    assert explorer.error.startswith("This setting cannot be measured")
    assert "use a smaller shift" in explorer.message.value
    assert _pictures(explorer) == shown and explorer.shifted_input.shape == (28, 28)
    explorer.dx.value = 1  # back to the setting shown before
    assert explorer.error is None and explorer.message.value == ""
    assert _pictures(explorer) == shown
