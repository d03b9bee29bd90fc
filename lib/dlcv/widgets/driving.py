"""Driving explorer (chapter 11): what the perception stack sees in one road frame.

Pick a scene of the test split and change its conditions: lighting, weather, the road's
curvature, tree shadows, worn paint. The frame is :func:`dlcv.driving.scene` of the
"clean" scene (straight, new, dry, by day) with the controls' conditions, the same
objects whatever they are. The widget shows the frame, enlarged 3 times, with the lane
points of the truth, the Hough pipeline and the lane CNN, the boxes of a detector (the
grid CNN or HOG + SVM; after NMS, before NMS, or the true boxes), and each traffic
light's state by the HSV rule and the CNN beside its true state; below it, that frame's
scores (:func:`dlcv.driving.frame_metrics`): lane errors in metres at 5 and 30 m,
objects found, missed and false detections, lights read right.

* Frames are kept per scene and conditions, and each detector's candidates per frame
  (:func:`dlcv.driving.candidates`): moving the score threshold, the NMS IoU or a display
  toggle detects nothing again, which matters for HOG + SVM.
* Each detector scores on its own scale (a probability, an SVM margin), so the threshold
  slider's range and default change with the detector (:data:`dlcv.driving.THRESHOLDS`),
  and each detector keeps its last threshold.
* Update times (``update_ms``) as measured on 2 CPU cores while another long job ran
  (two sessions, 6-10 updates each, the default layout): grid CNN, a new frame 28-90 ms,
  the same frame with another threshold (cached) 12-20 ms; HOG + SVM, the shipped
  detector, a new frame 560-930 ms, cached 7-14 ms (a small one trained as the tests
  train theirs: 510-920 ms and 7-18 ms). The first update, which loads the networks, took
  300-370 ms; the first with HOG + SVM, which loads its file, 1.6 s.

>>> from dlcv.widgets.driving import DrivingExplorer
>>> explorer = DrivingExplorer(seed=6)            # doctest: +SKIP
>>> explorer.lighting.value = "glare"             # doctest: +SKIP
"""

from __future__ import annotations

import html
import numbers
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv import driving
from dlcv.driving import DETECTORS, THRESHOLDS, Perception
from dlcv.render import to_png
from dlcv.road_plot import BOXES, CLASS_COLOURS, LANE_STYLES, frame_picture
from dlcv.scenes import LIGHT_STATES, LIGHTING, WEATHER, Frame
from dlcv.validate import check_choice, check_int
from dlcv.widgets.base import Explorer, Picture, panel, row

__all__ = ["BOX_CHOICES", "FACTOR", "DrivingExplorer", "driving_explorer"]

FACTOR = 3
"""The 96 x 128 frame is shown this many times larger (pixels repeated)."""
BOX_CHOICES = (*BOXES, "none")
"""The box toggle: the detections, every candidate at the threshold, the true boxes, none."""
SPLIT, CONDITION = "test", "clean"
METRIC_DISTANCES = (5.0, 30.0)
_CACHE_FRAMES, _CACHE_CANDIDATES = 32, 64


class DrivingResult(NamedTuple):
    """What :meth:`DrivingExplorer.compute` returns."""

    seed: int
    frame: Frame
    perception: Perception
    picture: np.ndarray  # RGB uint8, FACTOR times the frame
    boxes: str  # what the picture's boxes are (one of BOX_CHOICES)
    picture_lanes: tuple  # the lane points drawn ("truth", "hough", "cnn")


class DrivingExplorer(Explorer):
    """A road frame under chosen conditions and what the stack sees in it (an :class:`Explorer`).

    Parameters
    ----------
    seed : int
        The first scene of the test split.
    detector : str
        One of :data:`dlcv.driving.DETECTORS`.
    hog : HogSvmDetector, optional
        The HOG + SVM detector to use; by default the shipped one, loaded when first chosen.
    threshold : float, optional
        The first score threshold; by default the detector's.

    Attributes
    ----------
    seed : ipywidgets.IntText
        The scene (seed >= 0 of the test split).
    lighting, weather : ipywidgets.ToggleButtons
        ``"day"``, ``"dusk"``, ``"glare"``; ``"clear"``, ``"fog"``, ``"rain"``.
    curvature : ipywidgets.FloatSlider
        Of the lane, -0.01 to 0.01 1/m (positive bends right); :attr:`radius` shows it.
    shadows : ipywidgets.IntSlider
        Tree shadows on the road, 0-12.
    wear : ipywidgets.FloatSlider
        Share of the lane paint worn away, 0-1.
    lanes : dict of ipywidgets.Checkbox
        ``"truth"``, ``"hough"``, ``"cnn"``: which lane points are drawn.
    boxes : ipywidgets.ToggleButtons
        One of :data:`BOX_CHOICES`.
    detector : ipywidgets.ToggleButtons
    threshold : ipywidgets.FloatSlider
        Detections scoring at least this are kept; its range follows the detector.
    iou : ipywidgets.FloatSlider
        NMS drops a box overlapping a better one of its class by more than this IoU.
    lights : ipywidgets.Checkbox
        Write the light states beside each traffic light.
    view : ipywidgets.Image
        The frame with what is drawn (PNG).
    title, radius, metrics, caption : ipywidgets.HTML
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`.
    """

    def __init__(
        self, seed: int = 6, detector: str = "grid CNN", hog=None, threshold: float | None = None
    ):
        seed = check_int(seed, "seed", 0)
        check_choice(detector, "detector", DETECTORS)
        if hog is not None:
            from dlcv.hog_detector import HogSvmDetector

            if not isinstance(hog, HogSvmDetector):
                raise TypeError(
                    f"hog must be a dlcv.hog_detector.HogSvmDetector, got {type(hog).__name__}"
                )
        super().__init__()
        self._models = {"HOG + SVM": hog}
        self._frames: dict[tuple, Frame] = {}
        self._candidates: dict[tuple, driving.Boxes] = {}
        self._levels = {d: t.default for d, t in THRESHOLDS.items()}  # per detector, last used
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
                raise TypeError(f"threshold must be a number or None, got {threshold!r}")
            self._levels[detector] = float(threshold)
        wide = {"description_width": "initial"}
        self.seed = widgets.IntText(value=seed, description="test scene",
                                    layout=widgets.Layout(width="160px"))  # fmt: skip
        self.lighting = widgets.ToggleButtons(options=list(LIGHTING), value="day",
                                              description="lighting",
                                              style={"button_width": "60px", **wide})  # fmt: skip
        self.weather = widgets.ToggleButtons(options=list(WEATHER), value="clear",
                                             description="weather",
                                             style={"button_width": "60px", **wide})  # fmt: skip
        self.curvature = widgets.FloatSlider(
            value=0.0, min=-0.01, max=0.01, step=0.0005, description="curvature (1/m)",
            readout_format=".4f", continuous_update=False, style=wide,
        )  # fmt: skip
        self.radius = widgets.HTML()
        self.shadows = widgets.IntSlider(value=0, min=0, max=12, description="shadows",
                                         continuous_update=False, style=wide)  # fmt: skip
        self.wear = widgets.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.05, description="paint worn",
            readout_format=".0%", continuous_update=False, style=wide,
        )  # fmt: skip
        self.lanes = {
            m: widgets.Checkbox(value=True, description=f"{style.label} lanes", indent=False,
                                layout=widgets.Layout(width="110px"))
            for m, style in LANE_STYLES.items()
        }  # fmt: skip
        self.boxes = widgets.ToggleButtons(
            options=list(BOX_CHOICES), value=BOX_CHOICES[0], description="boxes",
            style={"button_width": "100px", **wide},
            tooltips=["the detections: candidates at the threshold that survive NMS",
                      "every candidate at the threshold", "the true boxes", "no boxes"],
        )  # fmt: skip
        self.detector = widgets.ToggleButtons(options=list(DETECTORS), value=detector,
                                              description="detector",
                                              style={"button_width": "110px", **wide})  # fmt: skip
        self.threshold = widgets.FloatSlider(
            description="score ≥", continuous_update=False, layout=widgets.Layout(width="340px")
        )
        self._set_scale(detector)
        self.iou = widgets.FloatSlider(
            value=0.5, min=0.05, max=1.0, step=0.05, description="NMS IoU >",
            readout_format=".2f", continuous_update=False, style=wide,
        )  # fmt: skip
        self.lights = widgets.Checkbox(value=True, description="light states", indent=False)
        self.view = Picture(format="png")
        self.title, self.metrics, self.caption = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.children = [
            row(self.seed, self.lighting, self.weather),
            row(self.curvature, self.radius, self.shadows, self.wear),
            row(*self.lanes.values(), self.lights, self.boxes),
            row(self.detector, self.threshold, self.iou),
            self.message,
            row(panel(self.title, self.view), self.metrics, align_items="flex-start"),
            self.caption,
        ]
        self.watch(self.seed, self.lighting, self.weather, self.curvature, self.shadows,
                   self.wear, *self.lanes.values(), self.lights, self.boxes, self.threshold,
                   self.iou)  # fmt: skip
        self.watch(self.detector, handler=self._on_detector)
        self.update()

    # ------------------------------------------------------------------ controls
    def _set_scale(self, detector: str) -> None:
        """Give the threshold slider ``detector``'s scale and its last value, quietly."""
        self.set_scale(self.threshold, THRESHOLDS[detector], self._levels[detector])

    def _on_detector(self, change) -> None:
        self._levels[change["old"]] = self.threshold.value
        self._set_scale(change["new"])
        self.update()

    # ------------------------------------------------------------------ compute and draw
    def _key(self) -> tuple:
        return (self.seed.value, self.lighting.value, self.weather.value,
                round(float(self.curvature.value), 6), int(self.shadows.value),
                round(float(self.wear.value), 6))  # fmt: skip

    def _frame(self, key: tuple) -> Frame:
        if key not in self._frames:
            seed, lighting, weather, curvature, shadows, wear = key
            frame = driving.scene(seed, SPLIT, lighting, weather, curvature, shadows, wear,
                                  condition=CONDITION)  # fmt: skip
            _remember(self._frames, key, frame, _CACHE_FRAMES)
        return self._frames[key]

    def _model(self, detector: str):
        if detector == "grid CNN":
            return None  # perceive loads the shipped grid CNN (cached by the library)
        if self._models[detector] is None:
            self._models[detector] = driving.load_detector(detector)
        return self._models[detector]

    def compute(self) -> DrivingResult:
        """The frame for the controls, what the stack sees in it, and its picture."""
        key, detector = self._key(), self.detector.value
        frame = self._frame(key)
        model = self._model(detector)
        found_key = (key, detector)
        if found_key not in self._candidates:
            _remember(self._candidates, found_key, driving.candidates(frame, detector, model),
                      _CACHE_CANDIDATES)  # fmt: skip
        perception = driving.perceive(
            frame, detector, float(self.threshold.value), float(self.iou.value), model=model,
            candidates=self._candidates[found_key],
        )  # fmt: skip
        boxes = self.boxes.value
        lanes = tuple(m for m, box in self.lanes.items() if box.value)
        picture = frame_picture(frame, perception, lanes=lanes,
                                boxes=None if boxes == "none" else boxes,
                                lights=bool(self.lights.value), factor=FACTOR)  # fmt: skip
        return DrivingResult(key[0], frame, perception, picture, boxes, lanes)

    def draw(self, result: DrivingResult) -> None:
        png = to_png(result.picture)
        conditions = result.frame.conditions
        road = result.frame.road
        title = (
            f"<b>Test scene {result.seed}</b>: {conditions['lighting']}, {conditions['weather']}, "
            f"{_bend(road.curvature)}, {conditions['shadows']} shadow"
            f"{'s' if conditions['shadows'] != 1 else ''}, {road.wear:.0%} of the paint worn"
        )
        radius = f"<small>{html.escape(_bend(road.curvature))}</small>"
        metrics = _metrics_html(result.perception)
        caption = _caption(result)
        p = result.perception
        level = format(p.score_threshold, THRESHOLDS[p.detector].fmt)
        alt = (
            f"road frame, {title.replace('<b>', '').replace('</b>', '')}, shown {FACTOR} times "
            f"larger; lane points drawn: {', '.join(result.picture_lanes) or 'none'}; boxes: "
            f"{result.boxes} ({p.detector}, score ≥ {level}): {p.metrics.found} of "
            f"{p.metrics.objects} objects found, {p.metrics.false} false"
            + ("; light states written beside the lights" if self.lights.value else "")
        )
        self.view.alt = alt
        self.view.value = png  # every value is made above: nothing fails halfway
        self.title.value = title
        self.radius.value = radius
        self.metrics.value = metrics
        self.caption.value = caption


def _bend(curvature: float) -> str:
    if curvature == 0:
        return "straight road"
    side = "right" if curvature > 0 else "left"
    return f"bends {side}, radius {1 / abs(curvature):,.0f} m"


def _lane_rows(p: Perception) -> str:
    cells = []
    for method in driving.LANE_METHODS:
        style = LANE_STYLES[method]
        answers = []
        for d in METRIC_DISTANCES:
            errors = p.metrics.lane_error(method, d)
            truth = p.lanes["truth"][:, p.distances.index(d)]
            answers.append(" / ".join(
                "out of view" if np.isnan(t) else "no answer" if np.isnan(e) else f"{e:.2f} m"
                for e, t in zip(errors, truth, strict=True)
            ))  # fmt: skip
        cells.append(
            f"<tr><td><span style='color:{style.colour}'>{_glyph(style.marker)}</span> "
            f"{style.label}</td>" + "".join(f"<td>{a}</td>" for a in answers) + "</tr>"
        )
    heads = "".join(f"<th>{d:g} m ahead</th>" for d in METRIC_DISTANCES)
    return (
        "<b>Lane error</b> (m sideways, left / right boundary)"
        f"<table style='border-collapse:collapse'><tr><th></th>{heads}</tr>{''.join(cells)}"
        "</table>"
    )


def _glyph(marker: str) -> str:
    return {"o": "●", "s": "■", "^": "▲"}[marker]


def _metrics_html(p: Perception) -> str:
    m, scale = p.metrics, THRESHOLDS[p.detector]
    t = format(p.score_threshold, scale.fmt)
    objects = (
        f"<b>Objects</b> ({html.escape(p.detector)}, score ≥ {t}, after NMS): {m.objects} in "
        f"the frame, <b>{m.found} found</b>, {m.missed} missed, {m.false} false "
        f"detection{'s' if m.false != 1 else ''}"
        f"<br><small>{len(p.candidates.scores)} candidates; {len(p.before.scores)} at the "
        f"threshold before NMS, {len(p.after.scores)} after</small><ul style='margin:0'>"
    )
    for name, row_ in m.by_class.items():
        if row_["objects"] or row_["false"]:
            colour = CLASS_COLOURS[name]
            objects += (
                f"<li><span style='color:{colour}'>■</span> {name}: {row_['found']} of "
                f"{row_['objects']} found, {row_['false']} false</li>"
            )
    objects += "</ul>"
    lights = "<b>Traffic lights</b>: none in this frame."
    if m.lights:
        lights = (
            f"<b>Traffic lights</b> (read from their true boxes): HSV rule "
            f"{m.lights_right['HSV rule']} of {m.lights} right, CNN {m.lights_right['CNN']} "
            f"of {m.lights} right<ul style='margin:0'>"
        )
        for truth, hsv, cnn in zip(p.lights.truth, p.lights.hsv, p.lights.cnn, strict=True):
            marks = ["✓" if s == truth else "✗" for s in (hsv, cnn)]
            lights += (
                f"<li>true {LIGHT_STATES[truth]}: HSV {LIGHT_STATES[hsv]} {marks[0]}, CNN "
                f"{LIGHT_STATES[cnn]} {marks[1]}</li>"
            )
        lights += "</ul>"
    return f"<div style='margin-left:12px'>{_lane_rows(p)}<br>{objects}{lights}</div>"


def _caption(result: DrivingResult) -> str:
    scale = THRESHOLDS[result.perception.detector]
    what = {
        "after NMS": "the detections (candidates at the threshold that survive NMS)",
        "before NMS": "every candidate at the threshold, before NMS (thin)",
        "truth": "the true boxes",
        "none": "no boxes",
    }[result.boxes]
    return (
        f"<small>The frame (96×128 px) is shown {FACTOR}× larger. Boxes: {what}, labelled "
        f"with their class{' and score' if result.boxes in BOXES[:2] else ''}; lane points "
        "at 5, 10, 15, 20 and 30 m: ● truth, ■ Hough, ▲ CNN. "
        f"<b>Score ({html.escape(result.perception.detector)}):</b> "
        f"{html.escape(scale.what)}. A detection finds an object of its class at IoU ≥ "
        f"{driving.MATCH_IOU:g}. The scene is the test split's scene {result.seed} drawn "
        "'clean' (a straight, new, dry road by day) with the conditions above; its objects "
        "stay, except those a bend takes out of view. Generated frames, not a real road: "
        f"they compare the methods under the same controlled difficulty.</small>"
    )


def _remember(cache: dict, key, value, size: int) -> None:
    """``cache[key] = value``, forgetting the oldest entries beyond ``size``."""
    cache[key] = value
    while len(cache) > size:
        del cache[next(iter(cache))]


def driving_explorer(**kwargs) -> DrivingExplorer:
    """Create a :class:`DrivingExplorer` (same arguments)."""
    return DrivingExplorer(**kwargs)
