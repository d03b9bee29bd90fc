"""Tests for dlcv.plot: colour rule, PNG encoding and the figure helpers (Agg backend)."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402
from PIL import Image  # noqa: E402

from dlcv import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ colour rule
def test_display_range_grey_for_non_negative():
    rng = plot.display_range(np.array([[0.0, 0.5], [2.0, 1.0]]))
    assert rng == plot.DisplayRange("gray", 0.0, 2.0, False, 0.0)
    assert rng.describe() == "grey: black = 0, white = 2"


def test_display_range_signed_is_symmetric_about_zero():
    rng = plot.display_range(np.array([[-0.5, 3.0]]))
    assert rng == plot.DisplayRange("RdBu_r", -3.0, 3.0, True, 0.0)
    assert rng.describe() == "signed: RdBu_r, white = 0, limits ±3"


def test_signed_needs_a_fifth_of_the_values_negative():
    a = np.linspace(0.0, 1.0, 100)
    a[:19] = -0.1  # 19 % negative: an image that overshoots below zero, still grey
    rng = plot.display_range(a.reshape(10, 10))
    assert not rng.signed and rng.vmin == -0.1  # black is the lowest value, not 0
    a[19] = -0.1  # 20 % negative: a signed map
    assert plot.display_range(a.reshape(10, 10)).signed


def test_saturate_ignores_extreme_values_and_reports_them():
    rng_gen = np.random.default_rng(0)
    edges = rng_gen.normal(0.0, 0.1, (200, 200))
    edges[0, :40] = 50.0  # 0.1 % of huge values would wash out the whole map
    exact = plot.display_range(edges)
    robust = plot.display_range(edges, saturate=0.01)
    assert exact.vmax == 50.0 and exact.saturated == 0.0
    expected = np.quantile(np.abs(edges), 0.99)
    assert robust.vmax == pytest.approx(expected, rel=0.02) and robust.vmin == -robust.vmax
    outside = np.mean(np.abs(edges) > robust.vmax)
    assert robust.saturated == pytest.approx(outside) and 0.005 < outside < 0.015
    assert "% of values saturate" in robust.describe()
    photo = rng_gen.random((100, 100))
    grey = plot.display_range(photo, saturate=0.02)
    assert grey.vmin == 0.0 and grey.vmax == pytest.approx(np.quantile(photo, 0.99), rel=0.01)
    with pytest.raises(ValueError, match="saturate"):
        plot.display_range(photo, saturate=1.0)


def test_display_range_overrides_and_constant_arrays():
    assert plot.display_range(np.full((2, 2), 0.3), vmin=0, vmax=1)[1:3] == (0.0, 1.0)
    zero = plot.display_range(np.zeros((2, 2)))
    assert zero.vmax > zero.vmin  # a constant array still gets a non-empty interval
    assert plot.display_range(np.zeros((2, 2)), signed=True)[1:3] == (-1.0, 1.0)
    assert plot.display_range(np.array([[np.nan, 1.0]])).vmax == 1.0
    assert plot.display_range(np.array([[-np.inf, -1.0, 2.0]]))[1:3] == (-2.0, 2.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (4, 5), elements=st.floats(-100, 100)))
def test_colorize_follows_the_rule(a):
    rgb = plot.colorize(a)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    rng = plot.display_range(a)
    if not rng.signed:  # grey: R == G == B, monotone in the value
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        order = np.argsort(a, axis=None, kind="stable")
        assert (np.diff(rgb[..., 0].ravel()[order].astype(int)) >= 0).all()
    else:  # the largest magnitude is fully saturated red or blue
        i = np.unravel_index(np.argmax(np.abs(a)), a.shape)
        r, _, b = rgb[i].astype(int)
        assert (r > b) == (a[i] > 0)


def test_colorize_maps_zero_to_white_for_signed_arrays():
    rgb = plot.colorize(np.array([[-1.0, 0.0, 1.0]]))
    assert (rgb[0, 1] > 240).all()
    assert rgb[0, 2, 0] > rgb[0, 2, 2] and rgb[0, 0, 2] > rgb[0, 0, 0]  # red > 0, blue < 0


def test_colorize_passes_colour_images_through():
    image = np.random.default_rng(0).random((3, 4, 3))
    np.testing.assert_array_equal(plot.colorize(image), (image * 255 + 0.5).astype(np.uint8))


def test_to_png_round_trip_and_shrinks():
    rgb = np.random.default_rng(1).integers(0, 256, (40, 80, 3), dtype=np.uint8)
    same = Image.open(io.BytesIO(plot.to_png(rgb)))
    np.testing.assert_array_equal(np.asarray(same), rgb)
    small = Image.open(io.BytesIO(plot.to_png(rgb, max_size=20)))
    assert small.size == (20, 10)
    assert Image.open(io.BytesIO(plot.to_png(rgb, max_size=500))).size == (80, 40)  # never enlarged


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
        plot.to_png(array, **kwargs)


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.array(["a", "b"]), TypeError, "numeric"),
        (np.zeros(5), ValueError, r"\(H, W\).*\(5,\)"),
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.zeros((2, 2), bool), TypeError, "bool"),
    ],
)
def test_helpers_reject_bad_arrays(array, error, match):
    with pytest.raises(error, match=match):
        plot.display_range(array)
    with pytest.raises(error, match=match):
        plot.show_image(array)


# ------------------------------------------------------------------ figures
def test_show_image_labels_and_colour_map():
    signed = np.array([[-1.0, 2.0], [0.5, 0.0]])
    ax = plot.show_image(signed, title="Sobel x", colorbar=True)
    assert ax.get_title() == "Sobel x"
    assert ax.get_xlabel() == "column (0–1)" and ax.get_ylabel() == "row (0–1)"
    im = ax.get_images()[0]
    limit = np.quantile(np.abs(signed), 0.99)  # 1 % of the values may saturate
    assert im.get_cmap().name == "RdBu_r" and im.get_clim() == pytest.approx((-limit, limit))
    assert len(ax.figure.axes) == 2  # the image and its colour bar
    grey = plot.show_image(np.ones((3, 5)), axis_labels=False)
    assert grey.get_images()[0].get_cmap().name == "gray" and grey.get_xlabel() == ""


def test_image_grid_small_multiples():
    images = [
        np.full((6, 8), float(i)) - (i == 2) * np.arange(48.0).reshape(6, 8) for i in range(5)
    ]
    titles = [f"panel {i}" for i in range(5)]
    fig = plot.image_grid(images, titles, ncols=3, suptitle="All panels")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 5
    assert [ax.get_title() for ax in visible] == titles
    assert fig.get_suptitle() == "All panels"
    assert visible[0].get_ylabel() == "row (0–5)" and visible[3].get_ylabel() == "row (0–5)"
    assert visible[1].get_ylabel() == ""
    # the bottom panel of each column carries the column label
    assert [bool(ax.get_xlabel()) for ax in visible] == [False, False, True, True, True]
    assert visible[2].get_images()[0].get_cmap().name == "RdBu_r"  # the signed panel
    assert visible[1].get_images()[0].get_cmap().name == "gray"


def test_image_grid_rejects_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        plot.image_grid([])
    with pytest.raises(ValueError, match="titles has 1 entries but images has 2"):
        plot.image_grid([np.ones((2, 2))] * 2, titles=["one"])
    with pytest.raises(ValueError, match="ncols"):
        plot.image_grid([np.ones((2, 2))], ncols=0)


def test_show_kernel_writes_every_weight():
    kernel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    ax = plot.show_kernel(kernel, title="Sobel x")
    assert ax.get_title() == "Sobel x"
    assert ax.get_xlabel() == "column offset" and ax.get_ylabel() == "row offset"
    assert [t.get_text() for t in ax.texts] == ["-1", "0", "1", "-2", "0", "2", "-1", "0", "1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "1"]
    assert ax.get_images()[0].get_clim() == (-2.0, 2.0)
    blur = plot.show_kernel(np.full((5, 5), 1 / 25), decimals=3)
    assert {t.get_text() for t in blur.texts} == {"0.040"} and len(blur.texts) == 25
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        plot.show_kernel(np.ones((3, 3, 3)))
