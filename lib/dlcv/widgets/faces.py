"""Face explorer (chapter 10): five face detectors on a photo, a scene or your own picture.

Pick a picture (a shipped real photo, one of the chapter's scenes, or an upload), a
detector of :data:`dlcv.faces.DETECTORS`, a rotation, a brightness and a score threshold.
The widget shows the picture with the boxes the detector finds at that threshold, after
non-maximum suppression or before it (every candidate), each box with its score, and can
pixelate the faces it found (:func:`dlcv.faces.anonymise`).

* Each detector scores on its own scale (votes, an SVM margin, a probability, log-odds),
  so the threshold slider's range and default change with the detector. The defaults
  let through few false detections on the chapter's face-free scenes
  (:func:`dlcv.face_scenes.empty_scenes`).
* Rotation and brightness go through :func:`dlcv.face_scenes.render`, the chapter's
  camera: the light is scaled, the sensor adds noise of 1 % of white and rounds to 8
  bits. A scene turns about its face's centre (the chapter's condition); a photo or an
  upload about the picture's centre. The corners are filled by reflection.
* Photos and uploads are shrunk so their longer side is at most :data:`MAX_SIDE` pixels
  before detection, which keeps an update fast; the chapter's scenes are 160x160.
* The detectors' candidates are kept per (picture, rotation, brightness, detector): moving
  the threshold, the boxes toggle or the anonymise box redraws without detecting again.
* The course CNN has two networks (folds); scene ``i`` is searched by the one that did not
  learn face ``i`` (fold 1 for faces 0-49, fold 0 for 50-99), photos and uploads by fold 0.

>>> from dlcv.widgets.faces import FaceExplorer
>>> explorer = FaceExplorer(source="scene 7", detector="BlazeFace")  # doctest: +SKIP
>>> explorer.threshold.value = 0.9                                   # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dlcv import faces
from dlcv.data import load_image
from dlcv.face_scenes import Scene, face_scene, render
from dlcv.faces import DETECTORS, PHOTOS, Faces, anonymise, load_photo
from dlcv.plot import OKABE_ITO
from dlcv.render import DisplayRange, colorize, outline, to_png, zoom
from dlcv.validate import check_choice
from dlcv.widgets.base import (
    Explorer,
    Picture,
    clear_upload,
    panel,
    row,
    uploaded_files,
)

__all__ = ["SOURCES", "THRESHOLDS", "FaceExplorer", "boxes_picture", "face_explorer"]

MAX_SIDE = 320
"""Longest side, in pixels, of a photo or an upload when it is searched for faces."""
DISPLAY = 320
"""Smaller pictures are enlarged by a whole factor to about this size (scenes: 2x)."""
SCENES = (0, 7, 23, 61, 95)
SOURCES = (*PHOTOS, *(f"scene {i}" for i in SCENES))
"""The picture menu: the shipped photos (:data:`dlcv.faces.PHOTOS`), then a few scenes."""
UPLOAD = "upload"
BOXES = ("after NMS", "before NMS")
PIXELATE = 8  # block side, in pixels of the searched picture, of the anonymisation
MAX_LABELS = 12  # more boxes than this are drawn without their scores
COLOUR = OKABE_ITO[0]  # orange: stands out on grey and colour photos, for colour-blind eyes too
_GREY = DisplayRange("gray", 0.0, 1.0, False, 0.0)
_CACHE_PICTURES, _CACHE_CANDIDATES = 24, 256


class Threshold(NamedTuple):
    """A detector's score scale: the slider's range, step, default and what a score is."""

    low: float
    high: float
    step: float
    default: float
    fmt: str  # how a score is written
    what: str


THRESHOLDS = {
    "Haar cascade": Threshold(0, 60, 1, 8, ".0f", "votes: how many of the cascade's accepted "
                              "windows overlap the box (IoU ≥ 0.5)"),
    "LBP cascade": Threshold(0, 60, 1, 3, ".0f", "votes, as for the Haar cascade (this cascade "
                             "accepts fewer windows)"),
    "dlib HOG": Threshold(-1, 3, 0.05, 0, ".2f", "the linear SVM's margin on the HOG features "
                          "(0 is dlib's own threshold)"),
    "BlazeFace": Threshold(0, 1, 0.01, 0.6, ".2f", "the network's probability that the anchor "
                           "box holds a face (candidates start at 0.01)"),
    "course CNN": Threshold(-2, 15, 0.1, 10, ".1f", "the log-odds of a face, logit(face) − "
                            "logit(not face), of the 24×24 window (candidates start at −2)"),
}  # fmt: skip
"""Detector -> its :class:`Threshold`. Each default lets through at most 5 false detections
in 100 of the chapter's face-free scenes (``empty_scenes(100)``), except the course CNN's:
it fires on textures, and at 10 log-odds fold 0 still makes 9 in 30 scenes (fold 1: none)."""


class FaceResult(NamedTuple):
    """What :meth:`FaceExplorer.compute` returns."""

    source: str  # the picture's name, as in its caption
    detector: str
    fold: int  # the course CNN's network (0 or 1); 0 for the other detectors
    threshold: float
    before_nms: bool  # the boxes shown are every candidate, not the survivors of NMS
    picture: np.ndarray  # what the detector searched: rotated, darkened, through the sensor
    image: np.ndarray  # what is shown: the picture, its faces pixelated if asked
    boxes: np.ndarray  # (N, 4) x1, y1, x2, y2 of the boxes shown, in picture pixels
    scores: np.ndarray  # (N,)
    found: Faces  # the detections after NMS at the threshold (the ones anonymised)
    candidates: int  # candidates before NMS at the threshold
    all_candidates: int  # every candidate before NMS, at any score
    original: tuple[int, int]  # (H, W) of the picture before it was shrunk


def _shrink(image: np.ndarray) -> np.ndarray:
    """``image`` with its longer side at most :data:`MAX_SIDE` pixels (area-averaged)."""
    h, w = image.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale >= 1:
        return image
    from skimage import transform

    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return np.clip(transform.resize(image, size, anti_aliasing=True), 0.0, 1.0)


def _rgb(image: np.ndarray) -> np.ndarray:
    return colorize(image) if image.ndim == 3 else colorize(image, _GREY)


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def boxes_picture(image, boxes, labels=(), factor: int = 1, thickness: int = 2) -> np.ndarray:
    """RGB uint8 picture of ``image`` enlarged ``factor`` times with ``boxes`` outlined.

    Each box (x1, y1, x2, y2 in pixels of ``image``) is outlined in :data:`COLOUR` inside
    a 1-pixel black line (visible on light and dark backgrounds); ``labels`` (one string
    per box, or none) are written above the boxes' top-left corners, white on black.
    """
    canvas = zoom(_rgb(image), factor)
    colour = _hex(COLOUR)
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4) * factor
    for x1, y1, x2, y2 in boxes:
        top, left = round(y1), round(x1)
        h, w = max(round(y2) - top, 1), max(round(x2) - left, 1)
        outline(canvas, top - 1, left - 1, h + 2, w + 2, (0, 0, 0))
        outline(canvas, top, left, h, w, colour, thickness)
    if len(labels):
        picture = Image.fromarray(canvas)
        draw, font = ImageDraw.Draw(picture), ImageFont.load_default()
        for (x1, y1, _, _), label in zip(boxes, labels, strict=True):
            left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
            w, h = right - left, bottom - top
            x = min(max(round(x1), 0), max(canvas.shape[1] - w - 2, 0))
            y = round(y1) - h - 4
            y = y if y >= 0 else max(round(y1), 0) + thickness + 1  # no room above: inside
            draw.rectangle((x, y, x + w + 2, y + h + 2), fill=(0, 0, 0))
            draw.text((x + 1 - left, y + 1 - top), label, fill=colour, font=font)
        canvas = np.asarray(picture)
    return canvas


class FaceExplorer(Explorer):
    """Five face detectors on a picture, under a rotation and a light (an :class:`Explorer`).

    Parameters
    ----------
    source : str
        The first picture, one of :data:`SOURCES`.
    detector : str
        One of :data:`dlcv.faces.DETECTORS`.
    threshold : float, optional
        The first score threshold; by default the detector's (:data:`THRESHOLDS`).

    Attributes
    ----------
    source : ipywidgets.Dropdown
        The picture; an upload adds ``"yours: <name>"`` and selects it.
    upload : ipywidgets.FileUpload
        Your own picture (any format Pillow reads; shrunk to :data:`MAX_SIDE` px).
    detector : ipywidgets.Dropdown
    angle : ipywidgets.IntSlider
        Rotation in degrees, -90 to 90 in steps of 5, anticlockwise.
    brightness : ipywidgets.FloatSlider
        The light, 0.05 to 1 (1: as taken).
    threshold : ipywidgets.FloatSlider
        Boxes scoring at least this are shown; its range follows the detector.
    boxes : ipywidgets.ToggleButtons
        ``"after NMS"`` (the detections) or ``"before NMS"`` (every candidate).
    anonymise : ipywidgets.Checkbox
        Pixelate the detections at the threshold (blocks of 8 pixels).
    view : ipywidgets.Image
        The picture with the boxes (PNG).
    title, counts, caption : ipywidgets.HTML
        The picture's name, size and detector; how many boxes; what the detector's score
        is and how the picture was made.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; an upload that is not a picture is an error.
    """

    def __init__(
        self, source: str = "obama", detector: str = "Haar cascade", threshold: float | None = None
    ):
        check_choice(source, "source", SOURCES)
        check_choice(detector, "detector", DETECTORS)
        super().__init__()
        self._pictures: dict[tuple, np.ndarray] = {}
        self._found: dict[tuple, tuple[Faces, Faces]] = {}
        self._sources: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}
        self._uploads, self._upload_name = 0, ""
        self._levels = {d: t.default for d, t in THRESHOLDS.items()}  # per detector, last used
        if threshold is not None:
            self._levels[detector] = float(threshold)
        wide = {"description_width": "initial"}
        self.source = widgets.Dropdown(
            options=list(SOURCES), value=source, description="picture",
            layout=widgets.Layout(width="240px"),
        )  # fmt: skip
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Your photo")
        self.detector = widgets.Dropdown(
            options=list(DETECTORS), value=detector, description="detector",
            layout=widgets.Layout(width="240px"),
        )  # fmt: skip
        self.angle = widgets.IntSlider(
            value=0, min=-90, max=90, step=5, description="rotation (°)",
            continuous_update=False, style=wide,
        )  # fmt: skip
        self.brightness = widgets.FloatSlider(
            value=1.0, min=0.05, max=1.0, step=0.05, description="brightness",
            readout_format=".2f", continuous_update=False, style=wide,
        )  # fmt: skip
        self.threshold = widgets.FloatSlider(
            description="score ≥", continuous_update=False, layout=widgets.Layout(width="360px")
        )
        self._set_scale(detector)
        self.boxes = widgets.ToggleButtons(
            options=list(BOXES), value=BOXES[0], description="boxes",
            style={"button_width": "90px", **wide},
            tooltips=["the detections: candidates that survive non-maximum suppression",
                      "every candidate window at the threshold"],
        )  # fmt: skip
        self.anonymise = widgets.Checkbox(
            value=False, description="anonymise (pixelate the faces found)", indent=False
        )
        self.view = Picture(format="png")
        self.title, self.counts, self.caption = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.children = [
            row(self.source, self.upload, self.detector),
            row(self.angle, self.brightness),
            row(self.threshold, self.boxes, self.anonymise),
            self.message,
            panel(self.title, self.view),
            self.counts,
            self.caption,
        ]
        self.watch(self.source, self.angle, self.brightness, self.threshold, self.boxes,
                   self.anonymise)  # fmt: skip
        self.watch(self.detector, handler=self._on_detector)
        self.watch(self.upload, handler=self._on_upload)
        self.update()

    # ------------------------------------------------------------------ controls
    def _set_scale(self, detector: str) -> None:
        """Give the threshold slider ``detector``'s scale and its last value, quietly."""
        self.set_scale(self.threshold, THRESHOLDS[detector], self._levels[detector])

    def _on_detector(self, change) -> None:
        self._levels[change["old"]] = self.threshold.value
        self._set_scale(change["new"])
        self.update()

    def _on_upload(self, change) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return
        name, content = files[-1]
        with self.quiet():
            clear_upload(self.upload)  # forget the bytes: allows re-uploading, keeps state small
        try:
            image = load_image(content)
            shape = image.shape[:2]
            image = _shrink(image)
            if min(image.shape[:2]) < faces.CNN_WINDOW:
                h, w = image.shape[:2]
                raise ValueError(
                    f"it is {h}×{w} pixels once shrunk to {MAX_SIDE} on its longer side; the "
                    f"detectors need at least {faces.CNN_WINDOW} on each side"
                )
        except (ValueError, TypeError, OSError) as exc:
            reason = str(exc).rstrip(".")
            raise ValueError(
                f"Could not use {name!r}: {reason}. The previous image is kept."
            ) from exc
        self._uploads += 1
        self._sources[UPLOAD], self._upload_name = (image, shape), name
        self._pictures = {k: v for k, v in self._pictures.items() if k[0][0] != UPLOAD}
        self._found = {k: v for k, v in self._found.items() if k[0][0] != UPLOAD}
        with self.quiet():
            self.source.options = [*((s, s) for s in SOURCES), (f"yours: {name}", UPLOAD)]
            self.source.value = UPLOAD
        self.update()

    # ------------------------------------------------------------------ compute and draw
    def _source(self, name: str) -> tuple[np.ndarray, tuple[int, int]]:
        """The chosen picture (photos shrunk to MAX_SIDE) and its size before shrinking."""
        if name not in self._sources:
            if name.startswith("scene "):
                image = face_scene(int(name.split()[1])).image
            else:
                image = load_photo(name)
            self._sources[name] = (_shrink(image), image.shape[:2])
        return self._sources[name]

    def _picture(self, key: tuple, angle: float, brightness: float) -> np.ndarray:
        """The picture rotated and lit, through the chapter's sensor (kept per setting)."""
        name = key[0]
        cache_key = (key, angle, brightness)
        if cache_key not in self._pictures:
            if name.startswith("scene "):
                i = int(name.split()[1])
                scene, seed = face_scene(i), i  # turns about the face: the chapter's scene
            else:
                image = self._source(name)[0]
                h, w = image.shape[:2]  # a box over the whole picture: turns about its centre
                scene, seed = Scene(image, np.array([[0.0, 0.0, w, h]])), 0
            picture = render(scene, angle=angle, brightness=brightness, seed=seed).image
            _remember(self._pictures, cache_key, picture, _CACHE_PICTURES)
        return self._pictures[cache_key]

    def compute(self) -> FaceResult:
        """Detect faces for the controls (or reuse the candidates) and keep those above."""
        name, detector = self.source.value, self.detector.value
        angle, brightness = float(self.angle.value), float(self.brightness.value)
        key = (name, self._uploads if name == UPLOAD else 0)
        fold = 0
        if detector == "course CNN" and name.startswith("scene "):
            fold = 1 if int(name.split()[1]) < 50 else 0
        picture = self._picture(key, angle, brightness)
        found_key = (key, angle, brightness, detector)
        if found_key not in self._found:
            _remember(self._found, found_key, faces.detect_both(picture, detector, fold=fold),
                      _CACHE_CANDIDATES)  # fmt: skip
        after, before = self._found[found_key]
        t = float(self.threshold.value)
        found, candidates = after.above(t), before.above(t)
        shown = candidates if self.boxes.value == BOXES[1] else found
        image = picture
        if self.anonymise.value and len(found.boxes):
            image = anonymise(picture, found.boxes, "pixelate", PIXELATE)
        label = f"yours: {self._upload_name}" if name == UPLOAD else name
        return FaceResult(
            label, detector, fold, t, self.boxes.value == BOXES[1], picture, image,
            shown.boxes, shown.scores, found, len(candidates.scores), len(before.scores),
            self._source(name)[1],
        )  # fmt: skip

    def draw(self, result: FaceResult) -> None:
        scale = THRESHOLDS[result.detector]
        h, w = result.picture.shape[:2]
        factor = max(1, DISPLAY // max(h, w))
        order = np.argsort(result.scores, kind="stable")  # the best box drawn last, on top
        labels = [format(s, scale.fmt) for s in result.scores[order]]
        png = to_png(
            boxes_picture(
                result.image, result.boxes[order],
                labels if len(labels) <= MAX_LABELS else (), factor,
                thickness=2 if not result.before_nms else 1,
            )
        )  # fmt: skip
        t = format(result.threshold, scale.fmt)
        n = len(result.found.scores)
        counts = (
            f"<b>{n} box{'es' if n != 1 else ''} at score ≥ {t}</b> ({result.candidates} "
            f"candidate{'s' if result.candidates != 1 else ''} before NMS"
        )
        if result.before_nms:
            counts += ", all shown"
        counts += f"; {result.all_candidates} at any score)."
        if result.detector == "dlib HOG":
            counts += " dlib suppresses overlapping windows itself: before NMS = after."
        if len(labels) > MAX_LABELS:
            counts += f" Scores are written on the boxes when at most {MAX_LABELS} are shown."
        best = order[::-1][:MAX_LABELS]  # the best boxes first
        shown = ", ".join(
            f"score {format(s, scale.fmt)} at x {int(b[0])}, y {int(b[1])}"
            for b, s in zip(result.boxes[best], result.scores[best], strict=True)
        )
        pixelated = ", found faces pixelated" if self.anonymise.value else ""
        self.view.alt = (
            f"{result.source}, {w} by {h} px, rotated {self.angle.value}°, brightness "
            f"{self.brightness.value:.2f}{pixelated}"
            f": {len(result.boxes)} box{'es' if len(result.boxes) != 1 else ''} of "
            f"{result.detector} at score ≥ {t}"
            f"{' before NMS' if result.before_nms else ''}" + (f" ({shown})" if shown else "")
        )
        self.view.value = png
        self.title.value = (
            f"<b>{html.escape(result.source)}</b>, {w}×{h} px: {html.escape(result.detector)}"
            + (f" (fold {result.fold})" if result.detector == "course CNN" else "")
        )
        self.counts.value = counts
        self.caption.value = _caption(result)


def _caption(result: FaceResult) -> str:
    scale = THRESHOLDS[result.detector]
    (h0, w0), (h, w) = result.original, result.picture.shape[:2]
    if result.source.startswith("scene "):
        where = (
            "a scene of the chapter (face "
            f"{result.source.split()[1]} on a photo): it turns about the face's centre"
        )
    else:
        size = f"{w0}×{h0} → {w}×{h}" if (h0, w0) != (h, w) else f"{w}×{h}, not shrunk"
        where = (
            f"shrunk to at most {MAX_SIDE} px on its longer side before detection, so an "
            f"update stays fast ({size}); it turns about its centre"
        )
    fold = ""
    if result.detector == "course CNN":
        fold = (
            f" The course CNN of fold {result.fold} searches it"
            + (", the network that never saw this face." if result.source.startswith("scene ")
               else ".")
        )  # fmt: skip
    return (
        f"<small><b>Score of {html.escape(result.detector)}:</b> {html.escape(scale.what)}; "
        f"the default threshold {format(scale.default, scale.fmt)} lets through few false "
        f"detections on the chapter's face-free scenes.{fold}<br>The picture is {where}. "
        "Brightness scales the light before the chapter's sensor adds noise (1 % of white) "
        f"and rounds to 8 bits. Anonymise pixelates the boxes found after NMS in blocks of "
        f"{PIXELATE} px.</small>"
    )


def _remember(cache: dict, key, value, size: int) -> None:
    """``cache[key] = value``, forgetting the oldest entries beyond ``size``."""
    cache[key] = value
    while len(cache) > size:
        del cache[next(iter(cache))]


def face_explorer(**kwargs) -> FaceExplorer:
    """Create a :class:`FaceExplorer` (same arguments)."""
    return FaceExplorer(**kwargs)
