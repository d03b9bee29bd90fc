"""Tests for dlcv.render: the colour rule, fitting, zooming, tiling, outlines and PNG encoding."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from dlcv import render


# ------------------------------------------------------------------ colour rule
def test_display_range_grey_for_non_negative():
    rng = render.display_range(np.array([[0.0, 0.5], [2.0, 1.0]]))
    assert rng == render.DisplayRange("gray", 0.0, 2.0, False, 0.0)
    assert rng.describe() == "grey: black = 0, white = 2"


def test_display_range_signed_is_symmetric_about_zero():
    rng = render.display_range(np.array([[-0.5, 3.0]]))
    assert rng == render.DisplayRange("RdBu_r", -3.0, 3.0, True, 0.0)
    assert rng.describe() == "signed: RdBu_r, white = 0, limits ±3"


def test_signed_needs_a_fifth_of_the_values_negative():
    a = np.linspace(0.0, 1.0, 100)
    a[:19] = -0.1  # 19 % negative: an image that overshoots below zero, still grey
    rng = render.display_range(a.reshape(10, 10))
    assert not rng.signed and rng.vmin == -0.1  # black is the lowest value, not 0
    a[19] = -0.1  # 20 % negative: a signed map
    assert render.display_range(a.reshape(10, 10)).signed


def test_saturate_ignores_extreme_values_and_reports_them():
    rng_gen = np.random.default_rng(0)
    edges = rng_gen.normal(0.0, 0.1, (200, 200))
    edges[0, :40] = 50.0  # 0.1 % of huge values would wash out the whole map
    exact = render.display_range(edges)
    robust = render.display_range(edges, saturate=0.01)
    assert exact.vmax == 50.0 and exact.saturated == 0.0
    expected = np.quantile(np.abs(edges), 0.99)
    assert robust.vmax == pytest.approx(expected, rel=0.02) and robust.vmin == -robust.vmax
    outside = np.mean(np.abs(edges) > robust.vmax)
    assert robust.saturated == pytest.approx(outside) and 0.005 < outside < 0.015
    assert "% of values saturate" in robust.describe()
    photo = rng_gen.random((100, 100))
    grey = render.display_range(photo, saturate=0.02)
    assert grey.vmin == 0.0 and grey.vmax == pytest.approx(np.quantile(photo, 0.99), rel=0.01)
    with pytest.raises(ValueError, match="saturate"):
        render.display_range(photo, saturate=1.0)


def test_display_range_overrides_and_constant_arrays():
    assert render.display_range(np.full((2, 2), 0.3), vmin=0, vmax=1)[1:3] == (0.0, 1.0)
    zero = render.display_range(np.zeros((2, 2)))
    assert zero.vmax > zero.vmin  # a constant array still gets a non-empty interval
    assert render.display_range(np.zeros((2, 2)), signed=True)[1:3] == (-1.0, 1.0)
    assert render.display_range(np.array([[np.nan, 1.0]])).vmax == 1.0
    assert render.display_range(np.array([[-np.inf, -1.0, 2.0]]))[1:3] == (-2.0, 2.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (4, 5), elements=st.floats(-100, 100)))
def test_colorize_follows_the_rule(a):
    rgb = render.colorize(a)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    rng = render.display_range(a)
    if not rng.signed:  # grey: R == G == B, monotone in the value
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        order = np.argsort(a, axis=None, kind="stable")
        assert (np.diff(rgb[..., 0].ravel()[order].astype(int)) >= 0).all()
    else:  # the largest magnitude is fully saturated red or blue
        i = np.unravel_index(np.argmax(np.abs(a)), a.shape)
        r, _, b = rgb[i].astype(int)
        assert (r > b) == (a[i] > 0)


def test_colorize_copes_with_a_tiny_range():
    rgb = render.colorize(np.array([[1e-308, 0.0], [5e-309, 0.0]]))  # 255 / 1e-308 overflows
    assert rgb[0, 0].tolist() == [255] * 3 and rgb[0, 1].tolist() == [0] * 3
    assert 120 < rgb[1, 0, 0] < 135


def test_colorize_maps_zero_to_white_for_signed_arrays():
    rgb = render.colorize(np.array([[-1.0, 0.0, 1.0]]))
    assert (rgb[0, 1] > 240).all()
    assert rgb[0, 2, 0] > rgb[0, 2, 2] and rgb[0, 0, 2] > rgb[0, 0, 0]  # red > 0, blue < 0


def test_colorize_passes_colour_images_through():
    image = np.random.default_rng(0).random((3, 4, 3))
    np.testing.assert_array_equal(render.colorize(image), (image * 255 + 0.5).astype(np.uint8))


def test_to_png_round_trip_and_shrinks():
    rgb = np.random.default_rng(1).integers(0, 256, (40, 80, 3), dtype=np.uint8)
    same = Image.open(io.BytesIO(render.to_png(rgb)))
    np.testing.assert_array_equal(np.asarray(same), rgb)
    small = Image.open(io.BytesIO(render.to_png(rgb, max_size=20)))
    assert small.size == (20, 10)
    assert Image.open(io.BytesIO(render.to_png(rgb, max_size=500))).size == (
        80,
        40,
    )  # never enlarged


@pytest.mark.parametrize(
    ("array", "kwargs", "error", "match"),
    [
        (np.zeros((4, 4)), {}, TypeError, "uint8"),
        (np.zeros((4,), np.uint8), {}, ValueError, r"shape \(H, W\).*\(4,\)"),
        (np.zeros((4, 4), np.uint8), {"max_size": 0}, ValueError, "max_size"),
    ],
)
def test_to_png_rejects_bad_input(array, kwargs, error, match):
    with pytest.raises(error, match=match):
        render.to_png(array, **kwargs)


def test_plot_still_offers_the_colour_rule():
    from dlcv import plot

    assert plot.colorize is render.colorize and plot.display_range is render.display_range
    assert plot.to_png is render.to_png and plot.DisplayRange is render.DisplayRange


# ------------------------------------------------------------------ fit, zoom, picture
def test_fit_keeps_the_aspect_and_averages_areas():
    a = np.arange(512 * 256, dtype=float).reshape(512, 256)
    small = render.fit(a, 128)
    assert small.shape == (128, 64) and small.dtype == np.float32
    np.testing.assert_allclose(small[0, 0], a[:4, :4].mean(), rtol=1e-6)
    big = render.fit(np.array([[0.0, 1.0]]), 4)
    np.testing.assert_array_equal(big, [[0, 0, 1, 1], [0, 0, 1, 1]])  # nearest, not blurred
    np.testing.assert_array_equal(render.fit(a[:4, :2], 4), a[:4, :2])  # already the size


def test_fit_whole_uses_whole_factors():
    a = np.arange(30.0).reshape(5, 6)
    np.testing.assert_array_equal(render.fit_whole(a, 3), [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])
    assert render.fit_whole(a, 13).shape == (10, 12)  # enlarged twice: 3x would be 18 wide
    band = np.zeros((4, 4))
    band[1, 2], band[2, 0] = 5.0, -7.0
    np.testing.assert_array_equal(render.fit_whole(band, 2, extremes=True), [[0, 5], [-7, 0]])
    assert render.fit_whole(band, 2).max() == pytest.approx(1.25)  # a mean dilutes the band


def test_zoom_repeats_pixels():
    rgb = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    big = render.zoom(rgb, 3)
    assert big.shape == (6, 6, 3) and big.dtype == np.uint8
    np.testing.assert_array_equal(big[::3, ::3], rgb)
    assert render.zoom(rgb, 1) is rgb


def test_picture_is_grey_bytes_or_signed_rgb():
    grey = render.picture(np.linspace(0, 1, 64).reshape(8, 8), size=4)
    assert grey.shape == (4, 4) and grey.dtype == np.uint8
    signed = render.picture(np.linspace(-1, 1, 64).reshape(8, 8))
    assert signed.shape == (8, 8, 3)
    fixed = render.DisplayRange(render.GREY_CMAP, 0.0, 2.0, False)
    assert render.picture(np.full((2, 2), 2.0), fixed).max() == 255


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: render.fit(np.zeros((4, 4)), 0), ValueError, "size must be a whole number"),
        (lambda: render.fit(np.zeros((4, 4, 3)), 2), ValueError, r"2-D map \(H, W\)"),
        (lambda: render.zoom(np.zeros((2, 2)), 1.5), ValueError, "factor"),
        (lambda: render.zoom(np.zeros(3), 2), ValueError, r"got shape \(3,\)"),
        (lambda: render.tile([]), ValueError, "empty"),
        (lambda: render.tile([np.zeros((2, 2))]), TypeError, "uint8"),
        (lambda: render.tile([np.zeros((2, 2), np.uint8)], gap=-1), ValueError, "gap"),
        (lambda: render.feature_mosaic(np.zeros((4, 4))), ValueError, r"\(F, h, w\)"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ outline, tile, mosaic
def test_outline_paints_clipped_rectangles():
    canvas = np.zeros((6, 8), np.uint8)
    render.outline(canvas, [0, 4], [0, 6], 3, 3, 9)
    assert canvas[0, :3].tolist() == [9, 9, 9] and canvas[1, 1] == 0  # hollow
    assert canvas[4:6, 6:8].tolist() == [[9, 9], [9, 0]]  # the second box runs off the canvas
    rgb = np.zeros((5, 5, 3), np.uint8)
    render.outline(rgb, 0, 0, 5, 5, (255, 0, 0), thickness=2)
    assert rgb[1, 1].tolist() == [255, 0, 0] and rgb[2, 2].tolist() == [0, 0, 0]


def test_tile_lays_out_a_grid_with_gaps():
    a = np.full((2, 3), 10, np.uint8)
    b = np.full((4, 1, 3), 20, np.uint8)
    grid = render.tile([a, b, a], ncols=2, gap=1)
    assert grid.shape == (4 + 1 + 2, 3 + 1 + 1, 3)  # rows 4 and 2 tall, columns 3 and 1 wide
    assert grid[0, 0].tolist() == [10] * 3 and grid[0, 4].tolist() == [20] * 3
    assert grid[2, 0].tolist() == [255] * 3  # below the shorter picture of row 0
    assert grid[5, 4].tolist() == [255] * 3  # the empty cell
    assert render.tile([a, a], gap=0).shape == (2, 6)  # grey stays grey


def test_feature_mosaic_shares_one_grey_scale():
    maps = np.stack([np.zeros((2, 2)), np.full((2, 2), 3.0), np.full((2, 2), 6.0)])
    mosaic = render.feature_mosaic(maps, zoom=2, ncols=2, gap=1)
    assert mosaic.shape == (2 * (4 + 1), 2 * (4 + 1), 3)
    assert mosaic[0, 0, 0] == 255  # a white gap before the first map
    assert [mosaic[1, 1, 0], mosaic[1, 6, 0], mosaic[6, 1, 0]] == [0, 128, 255]
    assert mosaic[6, 6, 0] == 255  # no fourth map: white


# ------------------------------------------------------------------ encoding
def test_palette_png_round_trip():
    index = np.array([[0, 1], [1, 2]], np.uint8)
    png = render.to_png(index, palette=[0, 0, 0, 255, 0, 0, 0, 0, 255])
    img = Image.open(io.BytesIO(png))
    assert img.mode == "P"
    np.testing.assert_array_equal(np.asarray(img), index)
    assert np.asarray(img.convert("RGB"))[1, 1].tolist() == [0, 0, 255]
    with pytest.raises(ValueError, match="palette picture"):
        render.to_png(np.zeros((2, 2, 3), np.uint8), palette=[0, 0, 0])


def test_figure_png_draws_a_figure():
    fig = Figure(figsize=(2, 1))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1])
    assert Image.open(io.BytesIO(render.figure_png(fig, dpi=50))).size == (100, 50)
