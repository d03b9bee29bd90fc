"""Tests for dlcv.plot: the figure helpers (Agg backend); the colour rule is in test_render.py."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcv import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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
    with pytest.raises(ValueError, match="ncols must be at least 1"):
        plot.image_grid([np.ones((2, 2))], ncols=0)
    with pytest.raises(TypeError, match="ncols must be an integer"):
        plot.image_grid([np.ones((2, 2))], ncols=2.0)


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


# ------------------------------------------------------------------ timelines (chapter 01)
@pytest.fixture(scope="module")
def milestones():
    from dlcv.data import asset_path
    from dlcv.milestones import load_milestones

    return load_milestones(asset_path("milestones.csv"))


def _label_boxes(ax):
    renderer = ax.figure.canvas.get_renderer()
    ax.figure.canvas.draw()
    return [t.get_window_extent(renderer) for t in ax.texts]


def test_plot_timeline_labels_fit_and_do_not_overlap(milestones):
    ax = plot.plot_timeline(milestones)
    boxes = _label_boxes(ax)
    assert len(boxes) == len(milestones)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    axes_box = ax.get_window_extent()
    assert all(b.x0 >= axes_box.x0 - 1 and b.x1 <= axes_box.x1 + 1 for b in boxes)
    assert all(b.y0 >= axes_box.y0 and b.y1 <= axes_box.y1 for b in boxes)
    assert ax.get_xlabel() == "Year" and ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [text for text, _, _ in plot.CATEGORIES.values()]


def test_plot_timeline_stems_do_not_cross_labels(milestones):
    ax = plot.plot_timeline(milestones)
    boxes = _label_boxes(ax)
    stems = ax.collections[0].get_segments()
    to_px = ax.transData.transform
    for (x, y0), (_, y1) in stems:
        (px, py0), (_, py1) = to_px([(x, y0), (x, y1)])
        lo, hi = sorted((py0, py1))
        for box in boxes:
            crosses = box.x0 + 1 < px < box.x1 - 1 and box.y0 < hi - 1 and lo + 1 < box.y1
            assert not crosses, (x, box)


def test_plot_timeline_on_given_axes_and_small_multiples(milestones):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    assert plot.plot_timeline(milestones[:5], ax, title=None, legend=False) is ax
    assert len(ax.texts) == 5 and ax.get_legend() is None
    fig = plot.plot_timeline_by_category(milestones)
    assert len(fig.axes) == len(plot.CATEGORIES)
    assert len({a.get_xlim() for a in fig.axes}) == 1  # one shared year axis
    assert sum(len(a.texts) for a in fig.axes) == len(milestones)
    with pytest.raises(ValueError, match="nothing to draw"):
        plot.plot_timeline_by_category([])
