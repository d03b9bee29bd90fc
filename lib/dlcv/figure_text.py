"""Text alternatives for Matplotlib figures, stored with the notebook's output.

A reader who cannot see a figure should still learn what it shows. Every figure a
chapter displays is therefore written out as an HTML ``<img>`` whose ``alt`` text
describes it: the figure's title, then each panel's title, what is drawn in it (an image
and its size and value range, the lines and their labels and ranges, the bars and their
values, the numbers written on it) and its axis labels. A chapter can replace the
generated text with its own words (a caption) through :func:`set_description`.

The ``<img>`` form is the one that every place a chapter is read honours: JupyterLab,
Colab and Voila show HTML outputs before images, and the book renders them as they are
(none of them reads an ``alt`` from an image output's metadata). Importing any ``dlcv``
module inside IPython calls :func:`install`, so a chapter cannot forget it.

The same pass checks that colour is never the only thing telling two series apart
(:func:`colour_only_panels`): lines need different markers or line styles, groups of
bars different hatching, categorical scatters different markers, unless the series are
labelled on the plot itself. The panels that fail are stored in the output's metadata
(``dlcv.colour_only``), where a test looks for them.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([0, 1, 2], [0.5, 0.25, 0.125], marker="o", label="loss")
>>> _ = ax.set(title="Training", xlabel="epoch", ylabel="loss")
>>> describe_figure(fig)[:48]
'Figure. Training: 1 line (loss: points (0, 0.5),'
>>> describe_figure(fig)[48:]
' (1, 0.25), (2, 0.125)); x axis: epoch; y axis: loss.'
>>> plt.close(fig)
"""

from __future__ import annotations

import base64
import html
import sys
import weakref

import numpy as np

__all__ = [
    "colour_only_panels",
    "describe_figure",
    "display_figure",
    "figure_html",
    "install",
    "set_description",
]

#: Longest text alternative written out; longer descriptions end in " …".
MAX_LENGTH = 2000
#: How many panel titles, numbers or bar values are listed before "and N more".
MAX_ITEMS = 24

#: How the colour maps the course uses are read out.
_CMAP_WORDS = {
    "gray": "grey",
    "Greys_r": "grey",
    "Greys": "grey, dark = high",
    "RdBu_r": "red for positive, blue for negative, white at 0",
    "RdBu": "blue for positive, red for negative",
    "viridis": "viridis (dark blue low, yellow high)",
    "cividis": "cividis (dark blue low, yellow high)",
    "magma": "magma (black low, light yellow high)",
    "inferno": "inferno (black low, light yellow high)",
}

_DESCRIPTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_figure(fig) -> None:
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")


def set_description(fig, text: str):
    """Give ``fig`` its own text alternative (for example its caption); returns ``fig``.

    The text replaces the generated description when the figure is displayed.
    """
    _check_figure(fig)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string describing the figure")
    _DESCRIPTIONS[fig] = " ".join(text.split())
    return fig


def _num(value) -> str:
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _listing(items: list[str], limit: int = MAX_ITEMS) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _clean(text: str) -> str:
    return " ".join(str(text).replace("$", "").split())


def _label(artist) -> str | None:
    label = artist.get_label()
    if not label or label.startswith("_"):
        return None
    return _clean(label)


def _range(values) -> tuple[float, float] | None:
    a = np.asarray(values, dtype=float).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return None
    return float(a.min()), float(a.max())


def _span(name: str, values) -> str:
    r = _range(values)
    if r is None:
        return ""
    return f"{name} {_num(r[0])}" if r[0] == r[1] else f"{name} from {_num(r[0])} to {_num(r[1])}"


def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>"


def _is_cap(line) -> bool:
    """The end caps of error bars: markers only, a dash or a bar."""
    return line.get_linestyle() in ("None", "none", "") and line.get_marker() in ("_", "|")


def _series_lines(ax) -> list:
    return [
        ln
        for ln in ax.get_lines()
        if ln.get_visible() and len(ln.get_xdata()) >= 2 and not _is_cap(ln)
    ]


def _images(ax) -> list[str]:
    from matplotlib.collections import QuadMesh

    parts = []
    for im in ax.images:
        if not im.get_visible():
            continue
        a = np.asarray(im.get_array())
        if a.ndim == 3:
            parts.append(f"a colour image {a.shape[0]} by {a.shape[1]} pixels")
            continue
        values = _span("values", np.ma.filled(np.ma.asarray(a, dtype=float), np.nan))
        cmap = _CMAP_WORDS.get(im.get_cmap().name, im.get_cmap().name)
        parts.append(f"an image {a.shape[0]} by {a.shape[1]} pixels, {values}, in {cmap}")
    for mesh in ax.collections:
        if isinstance(mesh, QuadMesh) and mesh.get_visible():
            a = np.ma.filled(np.ma.asarray(mesh.get_array(), dtype=float), np.nan)
            parts.append(f"a colour-coded grid of {a.size} cells, {_span('values', a)}")
    return parts


def _lines(ax) -> str:
    lines = _series_lines(ax)
    if not lines:
        return ""
    items = []
    for ln in lines:
        x, y = ln.get_xdata(), ln.get_ydata()
        name = _label(ln)
        shape = _span("y", y)
        if len(x) <= 6:
            shape = "points " + ", ".join(
                f"({_num(a)}, {_num(b)})"
                for a, b in zip(np.asarray(x, float), np.asarray(y, float), strict=True)
            )
        elif (rx := _range(x)) is not None:
            shape += f" over x {_num(rx[0])} to {_num(rx[1])}"
        items.append(f"{name}: {shape}" if name else shape)
    count = f"{len(lines)} line" + ("s" if len(lines) > 1 else "")
    return f"{count} ({_listing(items, 8)})"


def _bars(ax) -> list[str]:
    from matplotlib.container import BarContainer

    parts = []
    for container in ax.containers:
        if not isinstance(container, BarContainer) or not container.patches:
            continue
        horizontal = getattr(container, "orientation", "vertical") == "horizontal"
        values = [p.get_width() if horizontal else p.get_height() for p in container.patches]
        ticks = ax.get_yticklabels() if horizontal else ax.get_xticklabels()
        positions = [p.get_y() + p.get_height() / 2 if horizontal else p.get_x() + p.get_width() / 2
                     for p in container.patches]  # fmt: skip
        names = {}
        for t in ticks:
            pos = t.get_position()[1 if horizontal else 0]
            if t.get_text():
                names[round(float(pos), 6)] = _clean(t.get_text())
        items = []
        for pos, v in zip(positions, values, strict=True):
            name = min(names.items(), key=lambda kv: abs(kv[0] - pos))[1] if names else None
            items.append(f"{name} {_num(v)}" if name else _num(v))
        label = _label(container)
        head = f"{len(values)} bars" + (f" ({label})" if label else "")
        parts.append(f"{head}: {_listing(items)}")
    return parts


def _scatters(ax) -> list[str]:
    from matplotlib.collections import PathCollection

    parts = []
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible():
            offsets = np.asarray(coll.get_offsets())
            if offsets.size == 0:
                continue
            label = _label(coll)
            text = f"{len(offsets)} points" + (f" ({label})" if label else "")
            if len(offsets) <= 6:
                text += " at " + ", ".join(f"({_num(a)}, {_num(b)})" for a, b in offsets)
            parts.append(text)
    return parts


def _texts(ax) -> str:
    words = [_clean(t.get_text()) for t in ax.texts if t.get_visible() and t.get_text().strip()]
    if not words:
        return ""
    return "text on the plot: " + _listing(words)


def _describe_axes(ax) -> str:
    if _is_colorbar(ax):
        label = _clean(ax.get_ylabel() or ax.get_xlabel())
        lo, hi = ax.get_ylim() if ax.get_ylim()[1] != ax.get_ylim()[0] else ax.get_xlim()
        text = f"a colour bar from {_num(lo)} to {_num(hi)}"
        return text + (f", {label}" if label else "")
    parts = _images(ax)
    lines = _lines(ax)
    if lines:
        parts.append(lines)
    parts += _bars(ax) + _scatters(ax)
    text = _texts(ax)
    if text:
        parts.append(text)
    legend = ax.get_legend()
    if legend is not None:
        entries = [_clean(t.get_text()) for t in legend.get_texts() if t.get_text()]
        if entries:
            parts.append("legend: " + _listing(entries))
    if ax.axison:
        for name, label in (("x axis", ax.get_xlabel()), ("y axis", ax.get_ylabel())):
            if label:
                parts.append(f"{name}: {_clean(label)}")
    title = " ".join(_clean(ax.get_title(loc)) for loc in ("left", "center", "right")).strip()
    body = "; ".join(parts) if parts else "empty"
    return f"{title}: {body}" if title else body


def _kind(ax) -> str:
    """What a panel is, in a few words, for summaries of many panels."""
    if _is_colorbar(ax):
        return "a colour bar"
    if ax.images:
        a = np.asarray(ax.images[0].get_array())
        kind = "a colour image" if a.ndim == 3 else "an image"
        return f"{kind} {a.shape[0]} by {a.shape[1]} pixels"
    if _series_lines(ax):
        return "a line plot"
    if ax.containers:
        return "a bar chart"
    if ax.collections:
        return "a scatter plot"
    return "an empty panel"


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def describe_figure(fig) -> str:
    """The text alternative of ``fig``: its own description if it has one, else a generated one.

    The generated text names the figure's title and, panel by panel, the title, what is
    drawn (images with size and value range, lines with labels and ranges, bars with
    their values, scatters, the numbers written on the plot, the legend) and the axis
    labels. Figures with more than ``MAX_ITEMS`` panels of the same kind are summarised.
    It is at most :data:`MAX_LENGTH` characters long.
    """
    _check_figure(fig)
    if fig in _DESCRIPTIONS:
        return _DESCRIPTIONS[fig]
    fig.canvas.draw()  # tick labels exist only once the figure is drawn
    head = "Figure"
    if fig.get_suptitle():
        head += f": {_clean(fig.get_suptitle())}"
    axes = _panels(fig)
    described = [_describe_axes(ax) for ax in axes]
    if not described:
        return head + ", empty."
    if len(described) == 1:
        return _cap(f"{head}. {described[0]}.")
    if len(described) > MAX_ITEMS:
        titles = [_clean(ax.get_title()) for ax in axes if ax.get_title()]
        kinds = [_kind(ax) for ax in axes]
        counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
        text = f"{head}. {len(described)} panels"
        if len(counts) == 1:
            text += f", each {kinds[0]}"
        else:
            text += ": " + ", ".join(f"{n} × {k}" for k, n in counts.items())
        if titles:
            text += "; titles: " + _listing(titles, 60)
        return _cap(text + ".")
    numbered = [f"panel {i} ({d})" for i, d in enumerate(described, start=1)]
    return _cap(f"{head} with {len(described)} panels: " + "; ".join(numbered) + ".")


def _cap(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 2].rstrip() + " …"


def _style_key(artist) -> tuple:
    return (artist.get_marker(), artist.get_linestyle())


def _colour(artist) -> tuple:
    from matplotlib.colors import to_rgba

    return tuple(np.round(to_rgba(artist.get_color()), 3))


def colour_only_panels(fig) -> list[str]:
    """Panels of ``fig`` where colour alone tells series apart (empty when none).

    Lines must differ in marker or line style, groups of bars in hatching, scatters
    in marker; a categorical scatter (one collection with several face colours and no
    colour map) fails unless its points are labelled on the plot. A panel whose series
    are named by text on the plot itself passes. Colour maps for continuous values
    (images, colour-coded scatters with a colour bar) are not counted.
    """
    _check_figure(fig)
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba
    from matplotlib.container import BarContainer

    failing = []
    for i, ax in enumerate(_panels(fig), start=1):
        if _is_colorbar(ax):
            continue
        name = _clean(ax.get_title()) or f"panel {i}"
        labelled = sum(1 for t in ax.texts if t.get_visible() and t.get_text().strip())
        groups: dict[tuple, set] = {}
        lines = _series_lines(ax)
        for ln in lines:
            groups.setdefault(("line",) + _style_key(ln), set()).add(_colour(ln))
        scatters = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_visible()]
        for coll in scatters:
            faces = {tuple(np.round(c, 3)) for c in np.atleast_2d(coll.get_facecolors())}
            if coll.get_array() is None and len(faces) > 1 and labelled < 2:
                failing.append(name)
                break
            paths = coll.get_paths()
            key = ("scatter", len(paths[0].vertices) if paths else 0)
            groups.setdefault(key, set()).update(
                faces if len(faces) == 1 else {("mapped", id(coll))}
            )
        bars = [c for c in ax.containers if isinstance(c, BarContainer) and c.patches]
        if len(bars) > 1:
            for c in bars:
                p = c.patches[0]
                key = ("bar", p.get_hatch() or "")
                groups.setdefault(key, set()).add(tuple(np.round(to_rgba(p.get_facecolor()), 3)))
        if name in failing:
            continue
        if labelled >= len(lines) + len(scatters) + len(bars) and labelled:
            continue
        if any(len(colours) > 1 for colours in groups.values()):
            failing.append(name)
    return failing


def _png(fig) -> bytes:
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, fmt="png", bbox_inches="tight")


def figure_html(fig) -> str:
    """``fig`` as one HTML ``<img>`` with its PNG inline and its text alternative as ``alt``."""
    _check_figure(fig)
    data = base64.b64encode(_png(fig)).decode("ascii")
    alt = html.escape(describe_figure(fig), quote=True)
    return (
        f'<img class="dlcv-figure" src="data:image/png;base64,{data}" alt="{alt}" '
        'style="max-width: 100%; height: auto;">'
    )


def display_figure(fig) -> bool:
    """Display ``fig`` as :func:`figure_html` does, with the description as plain text.

    Registered with IPython by :func:`install`; returns True (the figure is shown).
    """
    from IPython.display import publish_display_data

    bundle = {"text/html": figure_html(fig), "text/plain": describe_figure(fig)}
    publish_display_data(bundle, metadata={"dlcv": {"colour_only": colour_only_panels(fig)}})
    return True


def install(shell=None) -> bool:
    """Make IPython display every Matplotlib figure through :func:`display_figure`.

    Uses the running shell when ``shell`` is omitted; returns False outside IPython.
    Matplotlib is not imported until a figure is shown.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    shell.display_formatter.ipython_display_formatter.for_type_by_name(
        "matplotlib.figure", "Figure", display_figure
    )
    return True
