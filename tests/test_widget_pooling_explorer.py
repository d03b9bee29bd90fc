"""Tests for the pooling explorer: drive its controls and compare with dlcv.pool."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dlcv import avg_pool2d, correlate2d, kernels, max_pool2d, output_size
from dlcv.data import sample_image
from dlcv.widgets import pooling_explorer as pe
from dlcv.widgets.pooling_explorer import PoolingExplorer

VIEWS = ("input_view", "output_view", "windows_view", "pooled_view")


def _pictures(explorer) -> dict[str, bytes]:
    return {name: bytes(getattr(explorer, name).value) for name in VIEWS}


def _indices(png: bytes) -> np.ndarray:
    """Palette indices of a picture (the widget draws palette PNGs)."""
    img = Image.open(io.BytesIO(bytes(png)))
    assert img.mode == "P"
    return np.asarray(img)


def _expected(explorer) -> np.ndarray:
    pool = max_pool2d if explorer.mode.value == "max" else avg_pool2d
    return pool(
        explorer.input,
        explorer.kernel_size.value,
        stride=explorer.stride.value,
        padding=explorer.padding.value,
    )


@pytest.fixture(scope="module")
def camera():
    return sample_image("camera", grey=True)


@pytest.fixture()
def explorer():
    return PoolingExplorer(
        image="camera",
        feature="pixels",
        mode="max",
        kernel_size=2,
        stride=2,
        padding=0,
        crop="centre",
    )


def test_initial_state_is_max_pool_of_the_photo(explorer, camera):
    np.testing.assert_array_equal(explorer.input, camera)
    np.testing.assert_array_equal(explorer.output, max_pool2d(camera, 2))
    assert explorer.error is None and explorer.message.value == ""
    assert "input 512×512 → output 256×256" in explorer.status.value
    for png in _pictures(explorer).values():
        assert png.startswith(b"\x89PNG")
    assert _indices(explorer.windows_view.value).shape == (pe.PANEL, pe.PANEL)
    assert _indices(explorer.output_view.value).shape == (pe.WHOLE, pe.WHOLE)
    assert _indices(explorer.input_view.value).shape == (pe.WHOLE, pe.WHOLE)


@pytest.mark.parametrize(
    ("control", "value"),
    [
        ("kernel_size", 4),
        ("stride", 3),
        ("padding", 1),
        ("mode", "avg"),
        ("image", "coins"),
        ("feature", "sobel_x"),
        ("crop", "top-left corner"),
    ],
)
def test_each_control_changes_the_state_and_the_pictures(explorer, control, value):
    before_out, before_pics = explorer.output.copy(), _pictures(explorer)
    before_status = explorer.status.value
    getattr(explorer, control).value = value
    assert explorer.error is None, explorer.message.value
    np.testing.assert_allclose(explorer.output, _expected(explorer))
    changed = [name for name, png in _pictures(explorer).items() if png != before_pics[name]]
    assert changed, f"changing {control} redrew no picture"
    if control != "crop":  # the crop only moves the zoomed view
        assert explorer.output.shape != before_out.shape or not np.array_equal(
            explorer.output, before_out
        )
        assert explorer.status.value != before_status
    else:
        assert "windows_view" in changed and "pooled_view" in changed


def test_feature_map_is_relu_of_the_kernel_response(explorer, camera):
    explorer.feature.value = "laplacian_8"
    expected = np.maximum(correlate2d(camera, kernels.get("laplacian_8"), padding="same"), 0)
    np.testing.assert_allclose(explorer.input, expected)
    np.testing.assert_allclose(explorer.output, max_pool2d(expected, 2))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    k=st.integers(1, 8),
    s=st.integers(1, 8),
    data=st.data(),
    mode=st.sampled_from(["max", "avg"]),
    image=st.sampled_from(["camera", "coins"]),
    crop=st.sampled_from(pe.CROPS),
)
def test_random_valid_settings_agree_with_dlcv_pool(explorer, k, s, data, mode, image, crop):
    p = data.draw(st.integers(0, k // 2))
    explorer.padding.value = 0  # always valid, so the order of the next settings does not matter
    for name, value in (
        ("image", image),
        ("mode", mode),
        ("kernel_size", k),
        ("stride", s),
        ("padding", p),
        ("crop", crop),
    ):
        getattr(explorer, name).value = value
    assert explorer.error is None, explorer.message.value
    np.testing.assert_allclose(explorer.output, _expected(explorer))
    h, w = explorer.input.shape
    oh, ow = output_size(h, k, s, p), output_size(w, k, s, p)
    assert explorer.output.shape == (oh, ow)
    assert f"input {h}×{w} → output {oh}×{ow}" in explorer.status.value
    assert _indices(explorer.windows_view.value).shape == (
        min(pe.CROP, h + 2 * p) * pe.ZOOM,
        min(pe.CROP, w + 2 * p) * pe.ZOOM,
    )


@pytest.mark.parametrize(("k", "p"), [(k, p) for k in range(1, 9) for p in range(5) if p > k // 2])
def test_every_impossible_combination_says_how_to_fix_it(k, p):
    explorer = PoolingExplorer(kernel_size=k, stride=2, padding=p)
    assert "half" in explorer.error and f"at most {k // 2}" in explorer.message.value


def test_padding_is_striped_only_when_there_is_padding():
    explorer = PoolingExplorer(kernel_size=4, stride=4, padding=0, crop="top-left corner")
    assert not np.any(_indices(explorer.windows_view.value) == pe.PURPLE)
    explorer.padding.value = 2
    indices = _indices(explorer.windows_view.value)
    assert np.any(indices[: 2 * pe.ZOOM] == pe.PURPLE)  # the top two crop rows are padding
    assert not np.any(indices[2 * pe.ZOOM + 4 :, 2 * pe.ZOOM + 4 :] == pe.PURPLE)


def test_pixels_no_window_reads_are_marked():
    # 512 = 3 * 170 + 2: with window 3 and stride 3 the last 2 rows and columns are dropped
    explorer = PoolingExplorer(kernel_size=3, stride=3, crop="bottom-right corner")
    indices = _indices(explorer.windows_view.value)
    assert np.any(indices[-2 * pe.ZOOM :] == pe.BLUE)
    assert "2,044 input pixels (0.8%) lie in no window" in explorer.status.value  # 512² - 510²
    explorer.kernel_size.value = 4  # 512 = 4 * 128: every pixel is read
    explorer.stride.value = 4
    assert not np.any(_indices(explorer.windows_view.value) == pe.BLUE)
    assert "0 input pixels (0.0%)" in explorer.status.value


def test_pooled_view_paints_each_output_value_where_its_window_starts(explorer):
    explorer.kernel_size.value = 4
    explorer.stride.value = 4
    indices = _indices(explorer.pooled_view.value)
    geo = pe._Geometry.of(explorer.input.shape, 4, 4, 0, "centre")
    grey = pe._grey(explorer.output, pe.DisplayRange("gray", 0.0, 1.0, False))
    i0, j0 = (
        np.flatnonzero(geo.row_starts == geo.rows[0])[0],
        np.flatnonzero(geo.col_starts == geo.cols[0])[0],
    )
    for di, dj in [(0, 0), (1, 2), (7, 7), (3, 5)]:
        y, x = di * 4 * pe.ZOOM + 16, dj * 4 * pe.ZOOM + 16  # inside the tile, clear of outlines
        assert indices[y, x] == grey[i0 + di, j0 + dj]


def test_factory_builds_a_displayable_widget():
    widget = pe.pooling_explorer(mode="avg", kernel_size=3)
    assert isinstance(widget, PoolingExplorer)
    np.testing.assert_allclose(widget.output, avg_pool2d(widget.input, 3, stride=2))


def test_most_detailed_patch_finds_the_textured_square():
    image = np.full((120, 90), 0.5)
    noise = np.random.default_rng(3).random((32, 32))
    image[70:102, 20:52] = noise  # the only texture; its centre is (86, 36)
    row, col = pe._most_detailed(image)
    assert abs(row - 86) <= 1 and abs(col - 36) <= 1


def test_default_crop_zooms_on_the_most_detailed_patch():
    explorer = PoolingExplorer(image="camera", kernel_size=4, stride=4)
    assert explorer.crop.value == "most detailed patch"
    detail = pe._most_detailed(explorer.input)
    geo = pe._Geometry.of(explorer.input.shape, 4, 4, 0, "most detailed patch", detail)
    for axis, rows in enumerate((geo.rows, geo.cols)):
        assert rows[0] <= detail[axis] <= rows[-1]  # the crop holds the patch's centre
        assert rows[0] % 4 == 0  # and starts on a window boundary
    explorer.crop.value = "centre"
    assert explorer.error is None


# ----------------------------------------------------------------------------------------
# The chapter-04 figure helpers appended to dlcv.plot (show_pooling, show_receptive_fields)
# ----------------------------------------------------------------------------------------
@pytest.fixture()
def close_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.mark.parametrize(
    ("k", "s", "p", "mode"), [(2, 2, 0, "max"), (3, 2, 1, "max"), (2, 2, 1, "avg")]
)
def test_show_pooling_draws_one_window_per_output_and_writes_the_values(
    close_figures, k, s, p, mode
):
    from matplotlib.patches import Rectangle

    from dlcv.plot import show_pooling

    x = np.random.default_rng(0).integers(0, 10, (7, 6)).astype(float)
    ax_in, ax_out = show_pooling(x, k, s, p, mode=mode, decimals=2)
    pool = max_pool2d if mode == "max" else avg_pool2d
    out = pool(x, k, stride=s, padding=p)
    windows = [r for r in ax_in.patches if isinstance(r, Rectangle) and not r.get_hatch()]
    assert len(windows) == out.size
    cells = [t.get_text() for t in ax_out.texts]
    assert cells == [f"{v:.2f}" for v in out.ravel()]
    if mode == "max":  # the winners are written in bold, one per distinct winning pixel
        _, where = max_pool2d(x, k, stride=s, padding=p, return_indices=True)
        bold = {i for i, t in enumerate(ax_in.texts) if t.get_fontweight() == "bold"}
        assert bold == set(where.ravel().tolist())


def test_show_pooling_rejects_bad_input(close_figures):
    from dlcv.plot import show_pooling

    with pytest.raises(ValueError, match="2-D"):
        show_pooling(np.zeros((2, 4, 4)), 2)
    with pytest.raises(ValueError, match="mode"):
        show_pooling(np.zeros((4, 4)), 2, mode="median")
    with pytest.raises(ValueError, match="padding"):
        show_pooling(np.zeros((4, 4)), 2, padding=2)


def test_show_receptive_fields_outlines_each_layer_with_its_size(close_figures):
    from matplotlib.patches import Rectangle

    from dlcv.plot import show_receptive_fields
    from dlcv.shapes import Conv, Pool, analyze

    report = analyze((1, 32, 32), [Conv(6, 5), Pool(2), Conv(16, 5), Pool(2)])
    ax = show_receptive_fields(np.zeros((32, 32)), report, (15.5, 15.5))
    squares = [r for r in ax.patches if isinstance(r, Rectangle)]
    assert [(r.get_height(), r.get_width()) for r in squares] == [
        (5, 5),
        (6, 6),
        (14, 14),
        (16, 16),
    ]
    last = squares[-1]  # output unit (2, 2) of the 5x5 map: input rows and columns 8..23
    assert (last.get_y(), last.get_x()) == (7.5, 7.5)
    for inner, outer in zip(squares[:-1], squares[1:], strict=True):  # nested: one unit's cone
        assert outer.get_y() <= inner.get_y() and outer.get_x() <= inner.get_x()
        assert inner.get_y() + inner.get_height() <= outer.get_y() + outer.get_height()
        assert inner.get_x() + inner.get_width() <= outer.get_x() + outer.get_width()
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "4: max pool 2×2 — 16×16"
    with pytest.raises(ValueError, match="inputs of"):
        show_receptive_fields(np.zeros((28, 28)), report, (14, 14))
