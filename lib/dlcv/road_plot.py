"""Pictures of chapter 11's road frames with what the driving stack sees in them.

* :func:`draw_frame` draws a frame on a Matplotlib axes: the lane points of the truth,
  of the Hough pipeline and of the lane CNN, boxes with their class (and score), and
  each traffic light's true state next to the states the HSV rule and the CNN read.
* :func:`conditions_figure` is the static small-multiples figure of the chapter's driving
  explorer: one scene under several conditions (rows) and the methods (columns).
* :func:`frame_picture` draws the same on an RGB array with Pillow, enlarged a whole
  number of times, fast enough for a widget (no Matplotlib).

Every method has a colour of the Okabe-Ito palette (:data:`dlcv.plot.OKABE_ITO`) *and* a
marker of its own (:data:`LANE_STYLES`); every box is labelled with its class, so colour
is never the only thing that tells them apart.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from PIL import Image, ImageDraw, ImageFont

from dlcv.driving import DETECTORS, Perception, perceive
from dlcv.plot import OKABE_ITO
from dlcv.render import zoom
from dlcv.scenes import CLASSES, CONDITIONS, LANE_DISTANCES, LIGHT_STATES, Frame, random_scene
from dlcv.validate import check_choice, check_int

__all__ = [
    "BOXES",
    "CLASS_COLOURS",
    "LANES",
    "LANE_STYLES",
    "LaneStyle",
    "conditions_figure",
    "draw_frame",
    "frame_picture",
    "lane_summary",
]


class LaneStyle(NamedTuple):
    """How a lane method is drawn: its ``label``, ``colour`` and Matplotlib ``marker``."""

    label: str
    colour: str
    marker: str


LANE_STYLES = {
    "truth": LaneStyle("truth", OKABE_ITO[1], "o"),  # sky blue circles (and a thin line)
    "hough": LaneStyle("Hough", OKABE_ITO[0], "s"),  # orange squares
    "cnn": LaneStyle("CNN", OKABE_ITO[5], "^"),  # reddish purple triangles
}
"""Lane method -> :class:`LaneStyle`."""
LANES = tuple(LANE_STYLES)
CLASS_COLOURS = {"car": OKABE_ITO[4], "pedestrian": OKABE_ITO[2], "traffic light": OKABE_ITO[3]}
"""Class -> the colour of its boxes (vermillion, bluish green, blue); labels name the class."""
BOXES = ("after NMS", "before NMS", "truth")
"""What ``boxes=`` draws: the detections, every candidate at the threshold, or the labels
(None: no boxes)."""
SHORT = {"car": "car", "pedestrian": "ped", "traffic light": "light"}


# --- checks and what to draw ----------------------------------------------------------------


def _options(frame, perception, lanes, boxes, lights):
    if not isinstance(frame, Frame):
        raise TypeError(f"frame must be a dlcv.scenes.Frame, got {type(frame).__name__}")
    if perception is not None and not isinstance(perception, Perception):
        raise TypeError(
            f"perception must be a dlcv.driving.Perception (from perceive), got "
            f"{type(perception).__name__}"
        )
    if isinstance(lanes, str):
        lanes = (lanes,)
    try:
        lanes = tuple(lanes)
    except TypeError:
        raise TypeError(f"lanes must be a sequence of {LANES}, got {lanes!r}") from None
    for method in lanes:
        check_choice(method, "lanes", LANES)
    if boxes is not None:
        check_choice(boxes, "boxes", BOXES)
    if not isinstance(lights, (bool, np.bool_)):
        raise TypeError(f"lights must be True or False, got {lights!r}")
    needs = [m for m in lanes if m != "truth"] + ([boxes] if boxes in BOXES[:2] else [])
    if needs and perception is None:
        perception = perceive(frame)  # the defaults: the grid CNN at its threshold
    return perception, lanes, boxes, bool(lights)


def _lane_points(frame: Frame, perception, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` of the method's lane points (both sides, NaN left out)."""
    if method == "truth" and perception is None:
        distances, u = LANE_DISTANCES, frame.lane_points()
    else:
        distances, u = perception.distances, perception.lanes[method]
    v = np.broadcast_to(frame.camera.row(np.asarray(distances, dtype=float)), u.shape)
    keep = np.isfinite(u)
    return u[keep], v[keep]


def _shown_boxes(frame, perception, boxes):
    """``(boxes, classes, labels, thin)`` of what ``boxes`` asks for."""
    if boxes is None:
        return np.zeros((0, 4)), np.zeros(0, np.int64), [], False
    if boxes == "truth":
        labels = [CLASSES[k] for k in frame.classes]
        return frame.boxes, frame.classes, labels, False
    found = perception.after if boxes == "after NMS" else perception.before
    order = np.argsort(found.scores, kind="stable")  # the best box is drawn last, on top
    b, c, s = found.boxes[order], found.classes[order], found.scores[order]
    labels = [f"{SHORT[CLASSES[k]]} {score:.2f}" for k, score in zip(c, s, strict=True)]
    return b, c, labels, boxes == "before NMS"


def _light_texts(frame, perception) -> list[tuple[np.ndarray, str]]:
    """``(box, text)`` per traffic light: its true state, and what each method reads."""
    if perception is None:
        boxes = frame.boxes[frame.classes == CLASSES.index("traffic light")]
        states = frame.states[frame.classes == CLASSES.index("traffic light")]
        return [(b, f"true {LIGHT_STATES[s]}") for b, s in zip(boxes, states, strict=True)]
    lights = perception.lights
    out = []
    for box, truth, hsv, cnn in zip(lights.boxes, lights.truth, lights.hsv, lights.cnn,
                                    strict=True):  # fmt: skip
        out.append((box, f"true {LIGHT_STATES[truth]}\nHSV {LIGHT_STATES[hsv]}"
                         f"\nCNN {LIGHT_STATES[cnn]}"))  # fmt: skip
    return out


def lane_summary(perception: Perception, method: str, distances=(5.0, 30.0)) -> str:
    """One line of a method's lane errors (m) at ``distances``: the mean over the two sides
    where the method answered, e.g. ``"0.04 m at 5 m, 0.21 m at 30 m"``."""
    if not isinstance(perception, Perception):
        raise TypeError(f"perception must be a Perception, got {type(perception).__name__}")
    check_choice(method, "method", LANES[1:])
    parts, unanswered = [], False
    for d in distances:
        errors = perception.metrics.lane_error(method, d)
        unanswered |= bool(np.isnan(errors).any())
        answered = errors[np.isfinite(errors)]
        value = f"{answered.mean():.2f} m" if len(answered) else "no answer"
        parts.append(f"{value} at {d:g} m")
    return ", ".join(parts) + (" (a side unanswered)" if unanswered else "")


# --- Matplotlib ----------------------------------------------------------------------------


def draw_frame(
    ax,
    frame: Frame,
    perception: Perception | None = None,
    *,
    lanes=LANES,
    boxes: str | None = "after NMS",
    lights: bool = True,
    title: str | None = None,
    fontsize: float = 6.0,
):
    """Draw ``frame`` on ``ax`` with what ``perception`` saw in it.

    Parameters
    ----------
    ax : matplotlib Axes
    frame : Frame
    perception : Perception, optional
        What :func:`dlcv.driving.perceive` gave for ``frame``. When it is needed (Hough or
        CNN lanes, detections) and not given, ``perceive(frame)`` is run (the grid CNN at
        its default threshold).
    lanes : sequence of "truth", "hough", "cnn"
        The lane points drawn at :data:`dlcv.scenes.LANE_DISTANCES` (truth: circles and a
        thin line along the boundary, Hough: squares, CNN: triangles; :data:`LANE_STYLES`).
    boxes : "after NMS", "before NMS", "truth" or None
        The detections, every candidate at the threshold (thin lines), the true boxes, or
        none. Each box is labelled with its class (and score).
    lights : bool
        Write each traffic light's true state and the states the HSV rule and the CNN
        read (from the light's true box) beside it.
    title : str, optional
    fontsize : float
        Of the labels.

    Returns
    -------
    matplotlib Axes
    """
    perception, lanes, boxes, lights = _options(frame, perception, lanes, boxes, lights)
    h, w = frame.camera.size
    ax.imshow(np.clip(frame.image, 0, 1), extent=(0, w, h, 0), interpolation="nearest")
    for method in lanes:
        style = LANE_STYLES[method]
        if method == "truth":
            rows = np.arange(h) + 0.5
            for side in frame.lanes:
                ax.plot(side, rows, color=style.colour, linewidth=0.8, alpha=0.9)
        u, v = _lane_points(frame, perception, method)
        ax.plot(u, v, linestyle="none", marker=style.marker, markersize=4.5,
                markerfacecolor=style.colour, markeredgecolor="black", markeredgewidth=0.6,
                label=style.label)  # fmt: skip
    shown, classes, labels, thin = _shown_boxes(frame, perception, boxes)
    for (x1, y1, x2, y2), kind, label in zip(shown, classes, labels, strict=True):
        colour = CLASS_COLOURS[CLASSES[kind]]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour,
                               linewidth=0.6 if thin else 1.2))  # fmt: skip
        if not thin:
            ax.text(x1, y1 - 0.8, label, fontsize=fontsize, color=colour, va="bottom",
                    ha="left", clip_on=True,
                    bbox={"facecolor": "black", "edgecolor": "none", "pad": 0.6})  # fmt: skip
    if lights:
        for (x1, y1, x2, _), text in _light_texts(frame, perception):
            right = x2 + 1 < w - 24  # room on the right of the light?
            ax.text(x2 + 1 if right else x1 - 1, y1, text, fontsize=fontsize - 0.5,
                    color="white", va="top", ha="left" if right else "right", clip_on=True,
                    bbox={"facecolor": "black", "edgecolor": "none", "pad": 0.6,
                          "alpha": 0.75})  # fmt: skip
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=fontsize + 1)
    return ax


def _legend_handles(lanes=LANES, classes=CLASSES) -> list:
    handles = [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=LANE_STYLES[m].marker,
            markerfacecolor=LANE_STYLES[m].colour,
            markeredgecolor="black",
            label=f"{LANE_STYLES[m].label} lane points",
        )  # fmt: skip
        for m in lanes
    ]
    handles += [Patch(facecolor="none", edgecolor=CLASS_COLOURS[c], linewidth=1.5,
                      label=f"{c} box") for c in classes]  # fmt: skip
    return handles


def conditions_figure(
    seeds,
    conditions: Sequence[str] = CONDITIONS,
    detector: str = "grid CNN",
    *,
    split: str = "test",
    model=None,
    panel_width: float = 2.2,
) -> Figure:
    """One scene under each condition (rows) as each method sees it (columns).

    Columns: the lane points of the Hough pipeline, those of the lane CNN (each with the
    truth), and the detector's boxes after NMS with each traffic light's state by the HSV
    rule and the CNN. Each panel's title gives that frame's score: the lane error (m) at
    5 and 30 m (mean of the two boundaries), objects found, missed and false detections
    (IoU >= 0.5, same class), lights read right.

    Parameters
    ----------
    seeds : int or sequence of int
        One scene for every row (a named condition changes one thing from "clean" and
        keeps the objects, :func:`dlcv.scenes.random_scene`), or one seed per condition.
    conditions : sequence of str
        Named conditions of :data:`dlcv.scenes.CONDITIONS`, one row each.
    detector : "grid CNN" or "HOG + SVM"
        The grid CNN by default: about 0.1 s a frame, where HOG + SVM takes about 0.8 s.
    split : "train", "validation" or "test"
    model : optional
        The detector's model (default: the shipped one).
    panel_width : float
        Inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    conditions = [conditions] if isinstance(conditions, str) else list(conditions)
    if not conditions:
        raise ValueError("conditions must name at least one condition")
    for c in conditions:
        check_choice(c, "conditions", CONDITIONS)
    check_choice(detector, "detector", DETECTORS)
    if isinstance(seeds, numbers.Integral):
        seeds = [seeds] * len(conditions)
    seeds = [check_int(s, "seeds", 0) for s in np.atleast_1d(np.asarray(seeds, dtype=object))]
    if len(seeds) != len(conditions):
        raise ValueError(
            f"seeds must be one seed or one per condition: {len(seeds)} seeds for "
            f"{len(conditions)} conditions"
        )
    if not isinstance(panel_width, numbers.Real) or not 0.5 <= panel_width <= 10:
        raise ValueError(f"panel_width must be between 0.5 and 10 inches, got {panel_width!r}")
    frames = [random_scene(s, split, c) for s, c in zip(seeds, conditions, strict=True)]
    seen = [perceive(f, detector, model=model) for f in frames]
    h, w = frames[0].camera.size
    panel_height = panel_width * h / w + 0.42
    fig = Figure(figsize=(3 * panel_width + 0.3, panel_height * len(frames) + 0.9),
                 layout="constrained")  # fmt: skip
    axes = fig.subplots(len(frames), 3, squeeze=False)
    heads = ("Hough lanes", "CNN lanes", f"{detector}: boxes; light states")
    for i, (frame, p, condition, seed) in enumerate(zip(frames, seen, conditions, seeds,
                                                        strict=True)):  # fmt: skip
        m = p.metrics
        lights = "no traffic light"
        if m.lights:
            right = m.lights_right
            lights = (
                f"lights right: HSV {right['HSV rule']}/{m.lights}, CNN {right['CNN']}/{m.lights}"
            )
        titles = (
            lane_summary(p, "hough"),
            lane_summary(p, "cnn"),
            f"found {m.found} of {m.objects}, {m.false} false\n{lights}",
        )
        for j, (ax, text) in enumerate(zip(axes[i], titles, strict=True)):
            if i == 0:
                text = f"{heads[j]}\n{text}"
            options = (
                {"lanes": ("truth", "hough"), "boxes": None, "lights": False},
                {"lanes": ("truth", "cnn"), "boxes": None, "lights": False},
                {"lanes": (), "boxes": "after NMS", "lights": True},
            )[j]
            draw_frame(ax, frame, p, title=text, fontsize=5.5, **options)
        label = condition if len(set(seeds)) == 1 else f"{condition} (scene {seed})"
        axes[i][0].set_ylabel(label, fontsize=8)
    same = f"scene {seeds[0]} of the {split} split" if len(set(seeds)) == 1 else f"{split} scenes"
    fig.suptitle(
        f"What the stack sees in {same} under each condition\nlane errors: metres sideways, "
        "mean of the two boundaries; objects found at IoU ≥ 0.5 after NMS;\nlight states "
        "read from crops of the lights' true boxes",
        fontsize=8,
    )
    fig.legend(handles=_legend_handles(), loc="outside lower center", ncols=3, fontsize=7,
               frameon=False)  # fmt: skip
    return fig


# --- Pillow, for widgets -------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _marker(draw: ImageDraw.ImageDraw, marker: str, x: float, y: float, r: float, fill) -> None:
    if marker == "o":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=(0, 0, 0))
    elif marker == "s":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=fill, outline=(0, 0, 0))
    else:  # a triangle pointing up
        draw.polygon([(x, y - r * 1.2), (x + r, y + r * 0.8), (x - r, y + r * 0.8)], fill=fill,
                     outline=(0, 0, 0))  # fmt: skip


def frame_picture(
    frame: Frame,
    perception: Perception | None = None,
    *,
    lanes=LANES,
    boxes: str | None = "after NMS",
    lights: bool = True,
    factor: int = 3,
) -> np.ndarray:
    """RGB uint8 picture of ``frame`` enlarged ``factor`` times, drawn as :func:`draw_frame`.

    Arguments as in :func:`draw_frame`. Pixels are repeated (no smoothing), so what the
    methods saw stays visible; boxes and lane points are drawn at the enlarged scale.

    Returns
    -------
    ndarray (H * factor, W * factor, 3) of uint8
    """
    perception, lanes, boxes, lights = _options(frame, perception, lanes, boxes, lights)
    factor = check_int(factor, "factor", 1)
    if factor > 8:
        raise ValueError(f"factor must be at most 8, got {factor}")
    base = np.round(np.clip(frame.image, 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(np.ascontiguousarray(zoom(base, factor)))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    height, width = picture.height, picture.width
    shown, classes, labels, thin = _shown_boxes(frame, perception, boxes)
    for (x1, y1, x2, y2), kind in zip(shown * factor, classes, strict=True):
        colour = _rgb(CLASS_COLOURS[CLASSES[kind]])
        box = (round(x1), round(y1), max(round(x2) - 1, round(x1)), max(round(y2) - 1, round(y1)))
        if not thin:
            draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), outline=(0, 0, 0))
        draw.rectangle(box, outline=colour, width=1 if thin else 2)
    for method in lanes:
        style = LANE_STYLES[method]
        if method == "truth":
            rows = (np.arange(frame.camera.size[0]) + 0.5) * factor
            for side in frame.lanes * factor:
                ok = np.isfinite(side)
                points = list(zip(side[ok].tolist(), rows[ok].tolist(), strict=True))
                if len(points) > 1:
                    draw.line(points, fill=_rgb(style.colour), width=1)
        u, v = _lane_points(frame, perception, method)
        for x, y in zip(u * factor, v * factor, strict=True):
            _marker(draw, style.marker, x, y, max(2.0, 1.2 * factor), _rgb(style.colour))
    if not thin:
        for (x1, y1, _, _), kind, label in zip(shown * factor, classes, labels, strict=True):
            left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
            tw, th = right - left, bottom - top
            x = min(max(round(x1), 0), max(width - tw - 2, 0))
            y = round(y1) - th - 4
            y = y if y >= 0 else max(round(y1), 0) + 3  # no room above: inside the box
            draw.rectangle((x, y, x + tw + 2, y + th + 2), fill=(0, 0, 0))
            draw.text((x + 1 - left, y + 1 - top), label, fill=_rgb(CLASS_COLOURS[CLASSES[kind]]),
                      font=font)  # fmt: skip
    if lights:
        for (x1, _, _, y2), text in _light_texts(frame, perception):
            text = text.replace("\n", ", ")
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            tw, th = right - left, bottom - top
            x = min(max(round(x1 * factor), 0), max(width - tw - 2, 0))
            y = min(round(y2 * factor) + 3, height - th - 2)  # under the light, on its pole
            draw.rectangle((x, y, x + tw + 2, y + th + 2), fill=(0, 0, 0))
            draw.text((x + 1 - left, y + 1 - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(picture)
