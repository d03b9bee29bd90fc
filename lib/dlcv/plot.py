"""Figure helpers shared by the chapters: images, kernels, grids of small multiples, timelines.

Every helper follows the same colour rule, so a reader learns it once:

* an array whose values lie on both sides of zero, with at least
  :data:`SIGNED_FRACTION` (20 %) of them negative, is *signed* (an edge or Laplacian
  map, a difference) and is shown with the diverging map ``"RdBu_r"`` centred at zero:
  white = 0, red > 0, blue < 0, limits ``±L`` so equal magnitudes get equal colour
  strength;
* any other array (a photo, a blurred or sharpened photo) is shown in **grey**.

For images (:func:`show_image`, :func:`image_grid`, and the widgets) the limits ignore
the most extreme 1 % of the values (``saturate=0.01``), which otherwise make a sparse
edge map almost white; those values are drawn in the end colours, and
:meth:`DisplayRange.describe` says how many there are. Small arrays of numbers (kernels)
use the exact extremes.
:func:`display_range` decides all this; :func:`colorize` applies it without Matplotlib
(fast enough for widgets) and :func:`to_png` encodes the result. The three live in
:mod:`dlcv.render`, with the other array-to-picture helpers of the widgets, and are
imported here.

>>> import numpy as np
>>> display_range(np.array([[0.0, 2.0]]))
DisplayRange(cmap='gray', vmin=0.0, vmax=2.0, signed=False, saturated=0.0)
>>> display_range(np.array([[-1.0, 3.0]]))
DisplayRange(cmap='RdBu_r', vmin=-3.0, vmax=3.0, signed=True, saturated=0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator
from matplotlib.transforms import offset_copy

from dlcv.milestones import (
    CATEGORIES,
    check_years,
    layout_timeline,
    milestone_label,
    select_milestones,
    year_span,
)
from dlcv.render import (
    GREY_CMAP,
    SIGNED_CMAP,
    SIGNED_FRACTION,
    DisplayRange,
    as_image,
    colorize,
    display_range,
    to_png,
)
from dlcv.shapes import nested_fields
from dlcv.validate import check_int

__all__ = [
    "GREY_CMAP",
    "SIGNED_CMAP",
    "SIGNED_FRACTION",
    "DisplayRange",
    "colorize",
    "display_range",
    "image_grid",
    "show_image",
    "show_kernel",
    "to_png",
]


def show_image(
    image,
    ax: Axes | None = None,
    title: str | None = None,
    signed: bool | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = False,
    axis_labels: bool = True,
    saturate: float = 0.01,
) -> Axes:
    """Show one image (or any 2-D map) with the course's colour rule.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
        Grey or signed map, or a colour image with values in [0, 1].
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Axes title.
    signed, vmin, vmax, saturate : optional
        Passed to :func:`display_range` (by default 1 % of the values may saturate).
    colorbar : bool
        Add a colour bar beside the axes (2-D arrays only).
    axis_labels : bool
        Label the axes ``column`` and ``row`` (pixel indices); ticks are hidden either way
        for a cleaner picture.

    Returns
    -------
    matplotlib.axes.Axes
    """
    a = as_image(image)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2), layout="constrained")
    if a.ndim == 3:
        ax.imshow(np.clip(a[..., :3], 0.0, 1.0))
    else:
        rng = display_range(a, signed=signed, vmin=vmin, vmax=vmax, saturate=saturate)
        im = ax.imshow(a, cmap=rng.cmap, vmin=rng.vmin, vmax=rng.vmax, interpolation="nearest")
        if colorbar:
            ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    if axis_labels:
        ax.set_xlabel(f"column (0–{a.shape[1] - 1})")
        ax.set_ylabel(f"row (0–{a.shape[0] - 1})")
    if title is not None:
        ax.set_title(title)
    return ax


def image_grid(
    images: Sequence,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    panel_size: float = 2.4,
    suptitle: str | None = None,
    signed: bool | None = None,
    colorbar: bool = False,
    dpi: float | None = None,
    saturate: float = 0.01,
) -> Figure:
    """Small multiples: many images in a grid, each with its own title and colour rule.

    Parameters
    ----------
    images : sequence of array_like, each (H, W) or (H, W, 3)
        The panels, in reading order. Sizes may differ.
    titles : sequence of str, optional
        One title per panel (same length as ``images``).
    ncols : int, optional
        Panels per row; by default up to 4.
    panel_size : float
        Width and height of one panel in inches.
    suptitle : str, optional
        Title of the whole figure.
    signed : bool, optional
        Force one colour rule for every panel (default: decided per panel).
    colorbar : bool
        Give every 2-D panel its own colour bar.
    dpi : float, optional
        Figure resolution (Matplotlib's default when omitted).
    saturate : float, default 0.01
        Fraction of each panel's values allowed beyond its limits (see :func:`display_range`).

    Returns
    -------
    matplotlib.figure.Figure
        Outer panels carry the axis labels (``row`` on the left column, ``column`` on
        the bottom row); unused cells of the grid are hidden.
    """
    images = list(images)
    if not images:
        raise ValueError("images is empty: give at least one image")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(images):
            raise ValueError(f"titles has {len(titles)} entries but images has {len(images)}")
    if ncols is None:
        ncols = min(4, len(images))
    ncols = check_int(ncols, "ncols", 1)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols, panel_size * nrows),
        dpi=dpi,
        layout="constrained",
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(images):
            ax.set_visible(False)
            continue
        row, col = divmod(i, ncols)
        show_image(
            images[i],
            ax=ax,
            title=None if titles is None else titles[i],
            signed=signed,
            colorbar=colorbar,
            axis_labels=False,
            saturate=saturate,
        )
        shape = np.shape(images[i])
        last_in_column = i + ncols >= len(images)
        if col == 0:
            ax.set_ylabel(f"row (0–{shape[0] - 1})")
        if last_in_column:
            ax.set_xlabel(f"column (0–{shape[1] - 1})")
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


def show_kernel(
    kernel, ax: Axes | None = None, title: str | None = None, decimals: int = 2
) -> Axes:
    """Show a small kernel as coloured cells with each weight written in its cell.

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
        The weights. Colours use the signed rule (``RdBu_r`` centred at 0) whatever
        the signs, so kernels can be compared side by side.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Axes title.
    decimals : int
        Decimals shown for non-integer weights (integers are shown without).

    Returns
    -------
    matplotlib.axes.Axes
        Ticks are the offsets from the kernel's centre (``-1, 0, 1`` for 3x3), labelled
        ``column offset`` and ``row offset``.
    """
    k = as_image(kernel, "kernel")
    if k.ndim != 2:
        raise ValueError(f"kernel must be 2-D (kh, kw), got shape {k.shape}")
    if ax is None:
        size = 0.55 * max(k.shape) + 1.0
        _, ax = plt.subplots(figsize=(size, size), layout="constrained")
    rng = display_range(k, signed=True)
    ax.imshow(k, cmap=rng.cmap, vmin=rng.vmin, vmax=rng.vmax, interpolation="nearest")
    integer = np.allclose(k, np.round(k))
    for (r, c), value in np.ndenumerate(k):
        text = f"{value:.0f}" if integer else f"{value:.{decimals}f}"
        strong = abs(value) > 0.6 * rng.vmax
        ax.text(
            c,
            r,
            text,
            ha="center",
            va="center",
            fontsize=8 if k.shape[1] > 3 else 10,
            color="white" if strong else "black",
        )
    rows, cols = k.shape
    ax.set_xticks(range(cols), [str(c - cols // 2) for c in range(cols)])
    ax.set_yticks(range(rows), [str(r - rows // 2) for r in range(rows)])
    ax.set_xlabel("column offset")
    ax.set_ylabel("row offset")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_receptive_fields(report, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Receptive-field size and output size per layer of a :func:`dlcv.shapes.analyze` report.

    Parameters
    ----------
    report : dlcv.shapes.StackReport
        The analysed stack (layers without an output are left out of the lines).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines over the layer index (0 = the input), on a base-2 logarithmic axis:
        the receptive field's height (circles) and the output's height (squares), both
        in input pixels / output pixels; each tick is labelled with the layer.
    """
    layers = [r for r in report.layers if r.ok]
    if len(layers) != len(report.layers):
        layers = layers[: next(i for i, r in enumerate(report.layers) if not r.ok)]
    index = np.arange(len(layers) + 1)
    rf = [1] + [r.rf[0] for r in layers]
    size = [report.input_shape[1]] + [r.out_shape[1] for r in layers]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(index) + 2.5), 3.6), layout="constrained")
    ax.plot(index, rf, marker="o", color="C0", label="receptive field (input pixels)")
    ax.plot(index, size, marker="s", color="C1", linestyle="--", label="output height (pixels)")
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(mpl.ticker.ScalarFormatter())
    names = [f"{r.index} {r.layer.describe().split(',')[0]}" for r in layers]
    ax.set_xticks(index, ["input"] + names, rotation=60, ha="right", fontsize=8)
    ax.set_xlabel("layer")
    ax.set_ylabel("pixels (log scale)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if title is not None:
        ax.set_title(title)
    return ax


__all__.append("plot_receptive_fields")


# ---------------------------------------------------------------------------
# Pooling and receptive fields (chapter 04)
# ---------------------------------------------------------------------------

__all__ += ["show_pooling", "show_receptive_fields"]

# Okabe-Ito colours (without its yellow, too pale on white): distinguishable with every
# common colour-vision deficiency.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7")


def show_pooling(
    x,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    mode: str = "max",
    axes: Sequence[Axes] | None = None,
    decimals: int = 0,
) -> tuple[Axes, Axes]:
    """Draw a small 2-D array, its pooling windows and the pooled result, values written in.

    Each window is outlined in its own colour on the input (left) and the output cell it
    produces carries the same colour (right). With ``mode="max"`` the winning input cell
    of each window is written in bold. Padding cells are hatched.

    Parameters
    ----------
    x : array_like, shape (H, W)
        A small array (up to about 12 x 12, so the numbers stay readable).
    kernel_size, stride, padding : int
        As in :func:`dlcv.pool.max_pool2d` (stride defaults to ``kernel_size``).
    mode : {"max", "avg"}
    axes : pair of matplotlib Axes, optional
        Where to draw the input and the output; a new figure is made if omitted.
    decimals : int
        Decimals of the written values (the average may need 1 or 2).

    Returns
    -------
    (Axes, Axes)
        The input and output axes.
    """
    from dlcv.pool import avg_pool2d, max_pool2d

    a = as_image(x, "x")
    if a.ndim != 2:
        raise ValueError(f"x must be 2-D (H, W), got shape {a.shape}")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    stride = kernel_size if stride is None else stride
    if mode == "max":
        out, where = max_pool2d(a, kernel_size, stride, padding, return_indices=True)
    else:
        out, where = avg_pool2d(a, kernel_size, stride, padding), None
    if axes is None:
        _, axes = plt.subplots(
            1,
            2,
            figsize=(
                2.0 + 0.45 * (a.shape[1] + out.shape[1] + 2 * padding),
                1.2 + 0.45 * (a.shape[0] + 2 * padding),
            ),
            layout="constrained",
            width_ratios=[a.shape[1] + 2 * padding, out.shape[1]],
        )
    ax_in, ax_out = axes
    rng = display_range(a, signed=False, vmin=min(0.0, float(a.min())))
    _value_grid(ax_in, a, rng, decimals, bold=None if where is None else where.ravel())
    for i, j in np.ndindex(*out.shape):
        colour = OKABE_ITO[(i * out.shape[1] + j) % len(OKABE_ITO)]
        inset = 0.06 * (1 + (i + j) % 2) if stride < kernel_size else 0.06
        top, left = i * stride - padding - 0.5 + inset, j * stride - padding - 0.5 + inset
        ax_in.add_patch(
            mpl.patches.Rectangle(
                (left, top),
                kernel_size - 2 * inset,
                kernel_size - 2 * inset,
                fill=False,
                edgecolor=colour,
                linewidth=2.5,
            )
        )
    if padding:
        h, w = a.shape
        outer = mpl.patches.Rectangle(
            (-padding - 0.5, -padding - 0.5),
            w + 2 * padding,
            h + 2 * padding,
            fill=False,
            hatch="//",
            edgecolor="0.6",
            linewidth=0,
            zorder=0,
        )
        ax_in.add_patch(outer)
        ax_in.set_xlim(-padding - 0.5, w + padding - 0.5)
        ax_in.set_ylim(h + padding - 0.5, -padding - 0.5)
    _value_grid(ax_out, out, rng, decimals if mode == "max" else max(decimals, 2))
    for i, j in np.ndindex(*out.shape):
        colour = OKABE_ITO[(i * out.shape[1] + j) % len(OKABE_ITO)]
        ax_out.add_patch(
            mpl.patches.Rectangle(
                (j - 0.44, i - 0.44), 0.88, 0.88, fill=False, edgecolor=colour, linewidth=2.5
            )
        )
    name = "max" if mode == "max" else "average"
    ax_in.set_title(
        f"input {a.shape[0]}×{a.shape[1]}" + (f", padding {padding}" if padding else "")
    )
    ax_out.set_title(
        f"{name} pool {kernel_size}×{kernel_size}, stride {stride}\n→ {out.shape[0]}×{out.shape[1]}"
    )
    return ax_in, ax_out


def _value_grid(ax: Axes, a: np.ndarray, rng: DisplayRange, decimals: int, bold=None) -> None:
    """Grey cells with their values written in (bold at the flat indices in ``bold``)."""
    # light greys only (the lowest value maps to 55 % grey), so black numbers stay readable
    ax.imshow(
        a,
        cmap=rng.cmap,
        vmin=rng.vmin - 1.2 * (rng.vmax - rng.vmin),
        vmax=rng.vmax,
        interpolation="nearest",
    )
    winners = set() if bold is None else {int(b) for b in bold}
    for (r, c), value in np.ndenumerate(a):
        ax.text(
            c,
            r,
            f"{value:.{decimals}f}",
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold" if r * a.shape[1] + c in winners else "normal",
        )
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    ax.tick_params(length=0, labelsize=7)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def show_receptive_fields(
    image,
    report,
    point,
    ax: Axes | None = None,
    layers: Sequence[int] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw nested squares: the receptive fields, on the input, of one unit and its feeders.

    In the last chosen layer the unit whose receptive field is centred nearest to
    ``point`` is picked; in each earlier layer, the unit that feeds it and is centred
    nearest to the same place (:func:`dlcv.shapes.nested_fields`). Each chosen layer's
    box lies inside the next one's, and all belong to the same output unit. Parts beyond
    the image border (where the network sees padding) are clipped.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
        The input the stack was analysed for.
    report : dlcv.shapes.StackReport
        ``analyze((C, H, W), layers)`` for this image's size.
    point : (float, float)
        (row, column) around which the squares are centred.
    ax : matplotlib.axes.Axes, optional
    layers : sequence of int, optional
        Layer numbers (1-based, as in the report's table) to draw; default every layer.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        With a legend giving each layer and its receptive field size.
    """
    a = as_image(image)
    if tuple(report.input_shape[1:]) != a.shape[:2]:
        raise ValueError(
            f"the report is for inputs of {report.input_shape[1:]}, but the image has "
            f"shape {a.shape[:2]}"
        )
    chosen = [r for r in report.layers if r.ok and (layers is None or r.index in layers)]
    if not chosen:
        raise ValueError("no layer to draw: every chosen layer lacks an output")
    ax = show_image(a, ax=ax, title=title)
    top = chosen[-1]
    unit = [
        int(np.clip(np.round((point[i] - top.centre()[i]) / top.jump[i]), 0, n - 1))
        for i, n in enumerate(top.out_shape[1:])
    ]
    corners = {index: corner for index, _, corner, _ in nested_fields(report, unit, top.index)}
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(chosen)))
    for colour, r in zip(colours, chosen, strict=True):
        corner = corners[r.index]
        ax.add_patch(
            mpl.patches.Rectangle(
                (corner[1] - 0.5, corner[0] - 0.5),
                r.rf[1],
                r.rf[0],
                fill=False,
                edgecolor=colour,
                linewidth=2,
                label=f"{r.index}: {r.layer.describe().split(',')[0]} — {r.rf[0]}×{r.rf[1]}",
            )
        )
    ax.plot(point[1], point[0], marker="+", color=OKABE_ITO[4], markersize=10, mew=2)
    ax.set_xlim(-0.5, a.shape[1] - 0.5)
    ax.set_ylim(a.shape[0] - 0.5, -0.5)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=9,
        title="layer: receptive field",
        title_fontsize=9,
        frameon=False,
    )
    return ax


def plot_history(history, axes: Sequence[Axes] | None = None, title: str | None = None):
    """Loss and accuracy per epoch of a :func:`dlcv.train.fit` run, training vs validation.

    Parameters
    ----------
    history : dlcv.train.History
    axes : two Axes, optional
        Where to draw the loss and the accuracy; a new 1x2 figure by default.
    title : str, optional
        Figure title (only when the figure is new).

    Returns
    -------
    (Axes, Axes)
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
        if title:
            fig.suptitle(title)
    epochs = np.arange(1, len(history.loss) + 1)
    panels = ((axes[0], "loss", "cross-entropy loss"), (axes[1], "accuracy", "accuracy"))
    for ax, key, label in panels:
        ax.plot(epochs, getattr(history, key), "o-", color=OKABE_ITO[0], label="training (running)")
        val = getattr(history, f"val_{key}")
        if len(val):
            ax.plot(epochs, val, "s-", color=OKABE_ITO[1], label="validation (after epoch)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[1].yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    return axes[0], axes[1]


def show_confusion_matrix(
    y_true, y_pred, n_classes: int | None = None, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Counts of (true class, predicted class) pairs as an annotated viridis grid.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    n_classes : int, optional
        Defaults to ``max(y_true, y_pred) + 1``.
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D of the same length, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    k = int(max(y_true.max(), y_pred.max())) + 1 if n_classes is None else n_classes
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
    image = ax.imshow(np.log1p(counts), cmap="viridis")
    for (i, j), c in np.ndenumerate(counts):
        if c:
            ax.text(
                j,
                i,
                str(c),
                ha="center",
                va="center",
                fontsize=8,
                color="black" if np.log1p(c) > 0.6 * np.log1p(counts.max()) else "white",
            )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix (colour: log(1 + count))")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="log(1 + count)")
    return ax


def image_rows(
    rows: Sequence[Sequence],
    titles: Sequence[Sequence[str]] | None = None,
    row_labels: Sequence[str] | None = None,
    panel_size: float = 1.5,
    suptitle: str | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> Figure:
    """Small multiples in rows, every panel on one fixed grey scale (for augmented images).

    :func:`image_grid` stretches each panel's contrast on its own, which would hide a
    change of brightness or contrast; here every grey panel maps ``vmin`` to black and
    ``vmax`` to white, so panels can be compared.

    Parameters
    ----------
    rows : sequence of sequences of array_like
        ``rows[i][j]`` is the panel in row ``i``, column ``j``: ``(H, W)`` grey or
        ``(H, W, 3)`` colour in [0, 1]. Rows may have different lengths; sizes may differ.
    titles : sequence of sequences of str, optional
        ``titles[i][j]`` is the title of panel ``rows[i][j]`` (same nesting as ``rows``).
    row_labels : sequence of str, optional
        One label per row, written left of its first panel.
    panel_size : float
        Width and height of one panel in inches.
    suptitle : str, optional
    vmin, vmax : float
        The fixed grey scale (colour images are clipped to [0, 1]).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [list(r) for r in rows]
    if not rows or not all(rows):
        raise ValueError("rows must hold at least one non-empty row of images")
    ncols = max(len(r) for r in rows)
    if titles is not None and [len(t) for t in titles] != [len(r) for r in rows]:
        raise ValueError(
            f"titles must have one title per panel: rows have "
            f"{[len(r) for r in rows]} panels, titles {[len(t) for t in titles]}"
        )
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"row_labels has {len(row_labels)} entries but there are {len(rows)} rows")
    if not vmax > vmin:
        raise ValueError(f"vmax must be larger than vmin, got vmin={vmin}, vmax={vmax}")
    fig, axes = plt.subplots(
        len(rows),
        ncols,
        figsize=(panel_size * ncols, panel_size * len(rows)),
        layout="constrained",
        squeeze=False,
    )
    for i, row in enumerate(rows):
        for j, ax in enumerate(axes[i]):
            if j >= len(row):
                ax.set_visible(False)
                continue
            show_image(row[j], ax=ax, signed=False, vmin=vmin, vmax=vmax, axis_labels=False)
            if titles is not None:
                ax.set_title(titles[i][j], fontsize=9)
        if row_labels is not None:
            axes[i][0].set_ylabel(row_labels[i], fontsize=9)
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


# ---------------------------------------------------------------------------
# Timeline of milestones (chapter 01); the data and the label layout: dlcv.milestones
# ---------------------------------------------------------------------------

__all__ += ["plot_timeline", "plot_timeline_by_category"]

_MARGINS = {"left": 0.02, "right": 0.98}  # axes span of the timeline figures (fractions)
_LEVEL_HEIGHT_IN = 0.27  # vertical room per label level, inches


def plot_timeline(
    milestones: Sequence[dict],
    ax=None,
    *,
    xlim: tuple[float, float] | None = None,
    fontsize: float = 9.0,
    title: str | None = "Milestones of computer vision (year of the cited publication)",
    legend: bool = True,
    width: float = 10.0,
):
    """Draw milestones on a year axis: a marker per event, a stem, a label that overlaps none.

    Parameters
    ----------
    milestones : sequence of dict
        As returned by :func:`dlcv.milestones.load_milestones` (possibly filtered).
    ax : matplotlib Axes, optional
        Where to draw. When None, a figure ``width`` inches wide is made whose height
        fits the number of label levels.
    xlim : (float, float), optional
        Range of years shown; default :func:`dlcv.milestones.year_span` (from 3 years
        before the first milestone). The right end is moved right as far as the last
        labels need (:func:`dlcv.milestones.layout_timeline`).
    fontsize : float, default 9
    title : str or None
    legend : bool, default True
        Show a legend of the categories present.
    width : float, default 10
        Width in inches of the figure made when ``ax`` is None.

    Returns
    -------
    matplotlib Axes
    """
    xlim = check_years(xlim) if xlim is not None else year_span(milestones)
    if ax is None:
        axes_width = width * (_MARGINS["right"] - _MARGINS["left"])
        levels, _ = layout_timeline(milestones, axes_width, xlim, fontsize)
        fig = Figure(figsize=(width, _timeline_height(levels, legend)))
        FigureCanvasAgg(fig)
        fig.subplots_adjust(
            **_MARGINS, bottom=0.9 / fig.get_figheight(), top=1 - 0.45 / fig.get_figheight()
        )
        ax = fig.add_subplot()
    axes_width = ax.get_position().width * ax.figure.get_figwidth()
    levels, xlim = layout_timeline(milestones, axes_width, xlim, fontsize)
    _draw_timeline(ax, milestones, levels, xlim, fontsize, legend_room=legend)
    if title:
        ax.set_title(title, fontsize=fontsize + 3)
    if legend:
        present = [c for c in CATEGORIES if any(m["category"] == c for m in milestones)]
        handles = [
            Line2D(
                [],
                [],
                color=CATEGORIES[c][1],
                marker=CATEGORIES[c][2],
                linestyle="",
                label=CATEGORIES[c][0],
            )
            for c in present
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            fontsize=fontsize + 0.5,
            frameon=True,
            ncols=len(present),
        )
    return ax


def _timeline_height(levels: np.ndarray, legend: bool) -> float:
    n_up = int(levels.max()) if len(levels) and levels.max() > 0 else 0
    n_down = int(-levels.min()) if len(levels) and levels.min() < 0 else 0
    return 1.6 + _LEVEL_HEIGHT_IN * (n_up + n_down + 2) + (0.35 if legend else 0.0)


def _draw_timeline(ax, milestones, levels, xlim, fontsize, legend_room) -> None:
    top = max(int(levels.max()), 1) if len(levels) else 1
    bottom = min(int(levels.min()), -1) if len(levels) else -1
    x = np.array([m["year"] for m in milestones], dtype=float)
    colours = [CATEGORIES[m["category"]][1] for m in milestones]
    ax.axhline(0, color="0.3", linewidth=1.2, zorder=1)
    stems = (
        np.stack([np.stack([x, np.zeros_like(x)], 1), np.stack([x, levels], 1)], 1)
        if len(x)
        else []
    )
    ax.add_collection(LineCollection(stems, colors=colours, linewidths=0.9, alpha=0.8, zorder=1))
    for key, (_, colour, marker) in CATEGORIES.items():
        mine = np.array([m["category"] == key for m in milestones], dtype=bool)
        if mine.any():
            ax.scatter(
                x[mine],
                np.zeros(mine.sum()),
                marker=marker,
                s=40,
                color=colour,
                edgecolors="white",
                linewidths=0.8,
                zorder=3,
            )
    shifted = offset_copy(ax.transData, fig=ax.figure, x=3, y=0, units="points")
    for m, level in zip(milestones, levels, strict=True):
        ax.text(
            m["year"],
            level,
            milestone_label(m),
            transform=shifted,
            ha="left",
            va="center",
            fontsize=fontsize,
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(bottom - 0.9, top + (1.6 if legend_room else 0.7))
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    span = xlim[1] - xlim[0]
    ax.xaxis.set_major_locator(MultipleLocator(10 if span > 30 else 5 if span > 12 else 1))
    ax.xaxis.set_minor_locator(MultipleLocator(5 if span > 30 else 1 if span > 12 else 0.5))
    ax.set_xlabel("Year")
    ax.grid(axis="x", color="0.9", linewidth=0.6, zorder=0)


def plot_timeline_by_category(
    milestones: Sequence[dict], width: float = 10.0, fontsize: float = 9.0
) -> Figure:
    """Small multiples: one timeline per category, all on the same year axis.

    Returns
    -------
    matplotlib Figure
        One row per category present, heights proportional to the label levels needed.
    """
    present = [c for c in CATEGORIES if any(m["category"] == c for m in milestones)]
    if not present:
        raise ValueError("milestones: nothing to draw (the list is empty)")
    groups = [select_milestones(milestones, [c]) for c in present]
    axes_width = width * (_MARGINS["right"] - _MARGINS["left"])
    xlim = layout_timeline(milestones, axes_width, year_span(milestones), fontsize)[1]
    heights = [
        _timeline_height(layout_timeline(g, axes_width, xlim, fontsize)[0], legend=False) - 1.2
        for g in groups
    ]
    fig = Figure(figsize=(width, sum(heights) + 0.8), layout=None)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(groups), 1, height_ratios=heights, hspace=0.75)
    fig.subplots_adjust(
        **_MARGINS, bottom=0.55 / fig.get_figheight(), top=1 - 0.35 / fig.get_figheight()
    )
    for i, (cat, group) in enumerate(zip(present, groups, strict=True)):
        ax = fig.add_subplot(grid[i])
        plot_timeline(group, ax, xlim=xlim, fontsize=fontsize, title=None, legend=False)
        ax.set_title(
            f"{CATEGORIES[cat][0]} ({len(group)} milestones)",
            fontsize=fontsize + 2,
            color=CATEGORIES[cat][1],
            loc="left",
        )
        if i < len(groups) - 1:
            ax.set_xlabel("")
    return fig
