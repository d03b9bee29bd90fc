"""Tests for the augmentation explorer: drive its controls and compare with dlcv.augment."""

import io

import numpy as np
import pytest
from PIL import Image

from dlcv import augment
from dlcv import augment_presets as presets
from dlcv.augment_presets import (
    AUGMENTATIONS,
    PRESETS,
    augmented_samples,
    build_pipeline,
    explorer_image,
)
from dlcv.data import load_mnist
from dlcv.widgets import augment_explorer as ae
from dlcv.widgets.augment_explorer import AugmentExplorer


def _decode(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


def _only(explorer, key, p=1.0, strength=None):
    """Switch every augmentation off except ``key`` (with probability ``p``)."""
    for k, (checkbox, _, _) in explorer.rows.items():
        checkbox.value = k == key
    explorer.rows[key][1].value = p
    if strength is not None:
        explorer.rows[key][2].value = strength


@pytest.fixture()
def photo():
    return AugmentExplorer(image="astronaut", preset="photos: flips and colour", seed=0)


@pytest.fixture()
def digit():
    return AugmentExplorer(image="digit 7", preset="digits: label-preserving", seed=0)


def test_initial_state(photo):
    assert photo.error is None and photo.message.value == ""
    assert photo.samples.shape == (ae.N_SAMPLES, presets.WORK_SIZE, presets.WORK_SIZE, 3)
    grid = _decode(photo.grid_view.value)
    rows = -(-ae.N_SAMPLES // ae.N_COLUMNS)
    assert grid.shape == (
        rows * (presets.WORK_SIZE + ae.GAP) - ae.GAP,
        ae.N_COLUMNS * (presets.WORK_SIZE + ae.GAP) - ae.GAP,
        3,
    )
    assert _decode(photo.original_view.value).shape == (presets.WORK_SIZE, presets.WORK_SIZE, 3)
    assert "RandomFlip" in photo.status.value and "seed 0" in photo.status.value
    assert photo.update_ms > 0


def test_grid_shows_the_samples(digit):
    grid = _decode(digit.grid_view.value)
    zoom, tile = ae.DIGIT_ZOOM, 28 * ae.DIGIT_ZOOM
    for i, sample in enumerate(digit.samples):
        r, c = divmod(i, ae.N_COLUMNS)
        top, left = r * (tile + ae.GAP), c * (tile + ae.GAP)
        shown = grid[top : top + tile : zoom, left : left + tile : zoom, 0]
        expected = np.clip(sample, 0, 1) * 255
        np.testing.assert_allclose(shown.astype(float), expected, atol=2.0)  # 256-level grey map


def test_digit_is_the_first_training_image_of_its_class():
    data = load_mnist()
    for d in presets.DIGITS:
        first = np.flatnonzero(data.y_train == d)[0]
        np.testing.assert_array_equal(explorer_image(f"digit {d}"), data.x_train[first, 0])


def test_same_seed_same_grid_new_seed_new_grid(photo):
    first, png = photo.samples.copy(), bytes(photo.grid_view.value)
    photo.new_seed.click()
    assert photo.seed.value == 1
    assert not np.array_equal(photo.samples, first)
    photo.seed.value = 0
    np.testing.assert_array_equal(photo.samples, first)
    assert bytes(photo.grid_view.value) == png
    again = AugmentExplorer(image="astronaut", preset="photos: flips and colour", seed=0)
    np.testing.assert_array_equal(again.samples, first)


def test_samples_equal_the_library_pipeline(digit):
    digit.seed.value = 5
    image = explorer_image("digit 7")
    expected = augmented_samples(image, build_pipeline(digit.settings(), 28), ae.N_SAMPLES, 5)
    np.testing.assert_array_equal(digit.samples, expected)


@pytest.mark.parametrize("aug", AUGMENTATIONS, ids=lambda a: a.key)
def test_every_control_redraws(aug):
    explorer = AugmentExplorer(image="chelsea", preset="none", seed=3)
    unchanged = np.repeat(explorer_image("chelsea")[None], 12, 0)
    np.testing.assert_array_equal(explorer.samples, unchanged)
    checkbox, p, strength = explorer.rows[aug.key]
    before = bytes(explorer.grid_view.value)
    checkbox.value = True
    p.value = 1.0
    assert explorer.preset.value == "custom"
    assert bytes(explorer.grid_view.value) != before, f"switching on {aug.label} changed nothing"
    assert explorer.error is None
    if strength is not None:
        before = explorer.samples.copy()
        strength.value = aug.high
        assert not np.array_equal(explorer.samples, before), f"{aug.label}: strength had no effect"


def test_flips_with_probability_one_are_the_library_flips(photo):
    image = explorer_image("astronaut")
    _only(photo, "hflip")
    for s in photo.samples:
        np.testing.assert_array_equal(s, augment.hflip(image))
    _only(photo, "vflip")
    for s in photo.samples:
        np.testing.assert_array_equal(s, augment.vflip(image))


def test_probability_zero_keeps_every_sample(digit):
    for _, p, _ in digit.rows.values():
        p.value = 0.0
    for checkbox, _, _ in digit.rows.values():
        checkbox.value = True
    image = explorer_image("digit 7")
    for s in digit.samples:
        np.testing.assert_array_equal(s, image)


def test_brightness_adds_one_constant_per_sample(photo):
    _only(photo, "brightness", strength=0.1)
    image = explorer_image("astronaut")
    inside = (image > 0.15) & (image < 0.85)  # no clipping there
    deltas = [float(np.mean((s - image)[inside])) for s in photo.samples]
    for s, d in zip(photo.samples, deltas, strict=True):
        np.testing.assert_allclose((s - image)[inside], d, atol=1e-5)
    assert max(abs(d) for d in deltas) <= 0.1 + 1e-6
    assert len(set(np.round(deltas, 6))) == len(deltas)  # drawn per sample


def test_cutout_paints_one_square_of_the_stated_size(digit):
    _only(digit, "cutout", strength=25)
    side = round(0.25 * 28)
    assert f"cutout square {side} px" in digit.status.value
    image = explorer_image("digit 7")
    for s in digit.samples:
        changed = s != image
        assert np.all(s[changed] == 0)
        assert changed.sum() <= side * side


def test_translation_shift_in_pixels_is_reported(digit):
    assert "shift up to ±2 px" in digit.status.value  # 8 % of 28 pixels
    _only(digit, "translation", strength=25)
    assert "shift up to ±7 px" in digit.status.value


def test_switching_image_and_preset(photo):
    photo.image.value = "digit 4"
    assert photo.samples.shape == (12, 28, 28)
    assert "⚠" in photo.notes.value  # the photo preset flips: a mirrored 4 is no digit
    assert photo.error is None and photo.message.value == ""
    photo.preset.value = "digits: label-preserving"
    assert photo.notes.value == "" and photo.rows["rotation"][0].value
    assert not photo.rows["hflip"][0].value
    assert photo.settings() == dict(PRESETS["digits: label-preserving"])


def test_label_warnings_only_for_digits():
    flips = {"hflip": (0.5, None)}
    assert ae.label_warnings(flips, "astronaut") == []
    assert "mirror" in ae.label_warnings(flips, "digit 7")[0]
    assert "6 flipped" in ae.label_warnings({"vflip": (0.2, None)}, "digit 6")[0]
    assert ae.label_warnings({"rotation": (1.0, 15)}, "digit 6") == []
    assert "180°" in ae.label_warnings({"rotation": (1.0, 90)}, "digit 6")[0]
    assert ae.label_warnings({"hflip": (0.0, None)}, "digit 3") == []


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"unknown augmentation\(s\) \['shear'\]"):
        build_pipeline({"shear": (1.0, 3)}, 28)
    with pytest.raises(ValueError, match="side must be at least 1"):
        build_pipeline({}, 0)
    with pytest.raises(ValueError, match=r"must be \(H, W\) or \(H, W, C\), got shape \(3,\)"):
        augmented_samples(np.zeros(3), augment.Compose([]))
    with pytest.raises(ValueError, match="n must be at least 1"):
        augmented_samples(np.zeros((4, 4)), augment.Compose([]), n=0)
    with pytest.raises(ValueError, match="seed must be at least 0, got -1"):
        augmented_samples(np.zeros((4, 4)), augment.Compose([]), seed=-1)
    with pytest.raises(ValueError, match="image must be one of"):
        explorer_image("lena")


# ---------------------------------------------------- dlcv.plot.image_rows (chapter 07 figures)
def test_image_rows_draws_every_panel_on_one_fixed_scale():
    import matplotlib.pyplot as plt

    from dlcv.plot import image_rows

    dark, bright = np.full((4, 4), 0.2), np.full((4, 4), 0.8)
    colour = np.random.default_rng(0).random((5, 6, 3))
    fig = image_rows(
        [[dark, bright, colour], [bright]],
        titles=[["a", "b", "c"], ["d"]],
        row_labels=["first", "second"],
    )
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4 and len(fig.axes) == 6  # two unused cells hidden
    assert [ax.get_title() for ax in axes] == ["a", "b", "c", "d"]
    assert axes[0].get_ylabel() == "first" and axes[3].get_ylabel() == "second"
    for ax in (axes[0], axes[1], axes[3]):  # grey panels: 0 black, 1 white, whatever their values
        assert ax.images[0].get_clim() == (0.0, 1.0)
    np.testing.assert_allclose(axes[2].images[0].get_array(), colour)
    plt.close(fig)


def test_image_rows_bad_input():
    from dlcv.plot import image_rows

    image = np.zeros((3, 3))
    with pytest.raises(ValueError, match="at least one non-empty row"):
        image_rows([])
    with pytest.raises(ValueError, match=r"title per panel: rows have \[2\] panels, titles \[1\]"):
        image_rows([[image, image]], titles=[["only one"]])
    with pytest.raises(ValueError, match="row_labels has 2 entries but there are 1 rows"):
        image_rows([[image]], row_labels=["a", "b"])
    with pytest.raises(ValueError, match="vmax must be larger than vmin"):
        image_rows([[image]], vmin=1.0, vmax=1.0)


def test_a_float_where_a_count_is_needed_is_a_type_error():
    with pytest.raises(TypeError, match="side must be an integer"):
        build_pipeline({}, 28.0)
    with pytest.raises(TypeError, match="n must be an integer"):
        augmented_samples(np.zeros((4, 4)), augment.Compose([]), n=2.0)
