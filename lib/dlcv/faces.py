"""Face detectors from three decades side by side, face descriptors, and anonymisation.

Every detector takes the same input, a grey image in [0, 1] (or RGB), and gives the same
output, :class:`Faces`: boxes ``(N, 4)`` as (x1, y1, x2, y2) in pixels with one score each,
*every* candidate it has, so that a threshold can be chosen afterwards (chapter 10 sets
each detector's threshold so that all let through the same number of false detections).

=================  =====  ===================================================================
detector           year   what decides, and what its score is
=================  =====  ===================================================================
``Haar cascade``   2001   Viola-Jones boosted Haar features (OpenCV's frontal-face model);
                          score: how many overlapping windows the cascade accepts
``LBP cascade``    2004+  the same idea on local binary patterns (scikit-image's model);
                          score: the same vote count
``dlib HOG``       2005+  histograms of oriented gradients and a linear SVM (dlib); score:
                          the SVM's margin
``BlazeFace``      2019   a CNN that predicts boxes at 896 anchors (MediaPipe, run by
                          ``cv2.dnn``); score: its probability of a face
``course CNN``     --     the course's own LeNet, 24x24 windows over an image pyramid; score:
                          the log-odds of a face
=================  =====  ===================================================================

Recognition uses dlib's ResNet, which maps an aligned face to 128 numbers so that photos of
the same person lie close together (:func:`descriptor`); :func:`anonymise` blurs or
pixelates boxes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage import transform

from dlcv.data import asset_path
from dlcv.detect import box_iou, detect_multiscale, nms
from dlcv.validate import as_float_array, check_choice, check_int

__all__ = [
    "DETECTORS",
    "NATURAL_THRESHOLDS",
    "Faces",
    "anonymise",
    "blazeface_anchors",
    "descriptor",
    "detect",
    "detect_both",
    "face_chip",
    "load_face_cnn",
    "load_photo",
]

DETECTORS = ("Haar cascade", "LBP cascade", "dlib HOG", "BlazeFace", "course CNN")
PHOTOS = ("obama", "obama2", "obama3", "biden", "obama_partial_face")
"""The real photos shipped in ``lib/dlcv/assets/`` (``face_assets.json`` says whence)."""
NATURAL_THRESHOLDS = {"Haar cascade": 4.0, "LBP cascade": 4.0, "dlib HOG": 0.0,
                      "BlazeFace": 0.5, "course CNN": 0.0}  # fmt: skip
"""Each detector's own everyday threshold: 4 votes (a window and 3 neighbours, the spirit of
OpenCV's default ``minNeighbors=3``), dlib's default margin 0, MediaPipe's default
probability 0.5, and the CNN's even odds."""
CNN_WINDOW = 24
MIN_FACE = 40  # smallest face side, in pixels, every detector is set up to look for


class Faces(NamedTuple):
    """Candidate faces: ``boxes`` (N, 4) float64 (x1, y1, x2, y2), ``scores`` (N,)."""

    boxes: np.ndarray
    scores: np.ndarray

    def above(self, threshold: float) -> Faces:
        """Only the candidates scoring at least ``threshold``."""
        keep = self.scores >= threshold
        return Faces(self.boxes[keep], self.scores[keep])


_INSTALL = {"cv2": "opencv-python-headless==4.14.0.94", "dlib": "dlib-bin==20.0.1.post1",
            "face_recognition_models": "face-recognition-models==0.3.0"}  # fmt: skip


def _require(module: str):
    """Import ``module`` (one of chapter 10's dependencies) or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"chapter 10's detectors need {module}: pip install {_INSTALL[module]} "
            "(requirements.txt has every pin)"
        ) from e


def _grey_u8(image: np.ndarray) -> np.ndarray:
    grey = image if image.ndim == 2 else image @ np.array([0.2125, 0.7154, 0.0721])
    return np.clip(np.round(grey * 255), 0, 255).astype(np.uint8)


def _check_image(image) -> np.ndarray:
    image = as_float_array(image, "image", (2, 3), "(H, W) grey or (H, W, 3) RGB in [0, 1]")
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {image.shape}")
    if min(image.shape[:2]) < CNN_WINDOW:
        raise ValueError(f"image must be at least {CNN_WINDOW} pixels a side, got {image.shape}")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ValueError("image must hold finite values in [0, 1] (divide 8-bit images by 255)")
    return image


def _vote(boxes: np.ndarray) -> tuple[Faces, Faces]:
    """Group a cascade's raw windows: each scores the windows overlapping it by IoU >= 0.5.

    This is the evidence OpenCV's ``minNeighbors`` thresholds. The windows are then thinned
    by :func:`dlcv.detect.nms`, and each survivor is replaced by the mean of its group.
    """
    if len(boxes) == 0:
        return Faces(np.zeros((0, 4)), np.zeros(0)), Faces(np.zeros((0, 4)), np.zeros(0))
    close = box_iou(boxes, boxes) >= 0.5
    votes = close.sum(axis=1).astype(float)
    keep = nms(boxes, votes, 0.3)
    merged = np.array([boxes[close[k]].mean(axis=0) for k in keep])
    return Faces(merged, votes[keep]), Faces(boxes, votes)


def _haar(image) -> tuple[Faces, Faces]:
    raw = _haar_cascade().detectMultiScale(
        _grey_u8(image), scaleFactor=1.1, minNeighbors=0, minSize=(MIN_FACE, MIN_FACE)
    )
    raw = np.asarray(raw, dtype=float).reshape(-1, 4)  # (x, y, width, height)
    raw = raw[np.lexsort(raw.T[::-1])]  # OpenCV's threads return them in varying order
    return _vote(np.column_stack([raw[:, :2], raw[:, :2] + raw[:, 2:]]))


@functools.cache
def _haar_cascade():
    cv2 = _require("cv2")

    if not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError(
            f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 removed them); install "
            "the course's version: pip install opencv-python-headless==4.14.0.94"
        )
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


@functools.cache
def _lbp_cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def _lbp(image) -> tuple[Faces, Faces]:
    grey = _grey_u8(image) / 255.0
    raw = _lbp_cascade().detect_multi_scale(
        grey, scale_factor=1.1, step_ratio=1.0, min_size=(MIN_FACE, MIN_FACE),
        max_size=grey.shape, min_neighbor_number=1, intersection_score_threshold=1.01,
    )  # fmt: skip
    # a merge threshold above 1 merges nothing: every accepted window comes back
    boxes = np.array([[d["c"], d["r"], d["c"] + d["width"], d["r"] + d["height"]] for d in raw])
    return _vote(boxes.reshape(-1, 4).astype(float))


@functools.cache
def _dlib_models():
    dlib = _require("dlib")
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(_model_file("shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(_model_file("dlib_face_recognition_resnet_model_v1.dat")),
    )


def _model_file(name: str) -> str:
    """A model file of ``face_recognition_models``, found without importing the package
    (its ``__init__`` needs ``pkg_resources``, which new Pythons no longer ship)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "chapter 10's detectors need face_recognition_models: pip install "
            f"{_INSTALL['face_recognition_models']} (requirements.txt has every pin)"
        )
    return str(Path(next(iter(spec.submodule_search_locations))) / "models" / name)


def _dlib_box(rect) -> list[float]:
    # dlib's rectangles include their right and bottom pixels: one more for (x2, y2)
    return [rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1]


def _hog(image) -> tuple[Faces, Faces]:
    detector = _dlib_models()[0]
    # upsample once: dlib's window is 80x80, so faces down to 40 px are found
    rects, scores, _ = detector.run(_grey_u8(image), 1, -1.0)
    boxes = np.array([_dlib_box(r) for r in rects], dtype=float).reshape(-1, 4)
    found = Faces(boxes, np.asarray(scores, dtype=float))
    return found, found  # dlib suppresses overlapping windows itself and keeps no others


# --- BlazeFace --------------------------------------------------------------------------
BLAZEFACE_SIZE = 128


def blazeface_anchors() -> np.ndarray:
    """BlazeFace's 896 anchor centres ``(x, y)`` in [0, 1], in the order of its outputs.

    MediaPipe's short-range model predicts at two grids: 16x16 cells of 8 input pixels with
    2 anchors each (512), then 8x8 cells of 16 pixels with 6 each (384). An anchor sits at
    its cell's centre; the network predicts a box's offset from it and its size, in pixels
    of the 128x128 input.
    """
    anchors = []
    for cells, per_cell in ((16, 2), (8, 6)):
        centre = (np.arange(cells) + 0.5) / cells
        y, x = np.meshgrid(centre, centre, indexing="ij")
        grid = np.stack([x.ravel(), y.ravel()], axis=1)
        anchors.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(anchors)


@functools.cache
def _blazeface_net():
    cv2 = _require("cv2")

    path = asset_path("blazeface_front.tflite")
    record = json.loads(asset_path("face_assets.json").read_text())["files"][path.name]
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ValueError(
            f"{path} is damaged: its sha256 differs from face_assets.json; restore it with "
            "git checkout or python scripts/face_assets.py"
        )
    return cv2.dnn.readNetFromTFLite(str(path))


def _blazeface(image) -> tuple[Faces, Faces]:
    net = _blazeface_net()
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    h, w = rgb.shape[:2]
    side = max(h, w)  # letterbox: pad to a square so faces keep their shape
    square = np.zeros((side, side, 3))
    square[:h, :w] = rgb
    x = transform.resize(square, (BLAZEFACE_SIZE, BLAZEFACE_SIZE), anti_aliasing=True)
    net.setInput((x * 2 - 1).transpose(2, 0, 1)[None].astype(np.float32))
    outputs = net.forward(net.getUnconnectedOutLayersNames())
    raw = next(o for o in outputs if o.shape[-1] == 16).reshape(-1, 16)
    logits = next(o for o in outputs if o.shape[-1] == 1).reshape(-1)
    scores = 1 / (1 + np.exp(-np.clip(logits, -50, 50)))
    centre = blazeface_anchors() * BLAZEFACE_SIZE + raw[:, :2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1) * (side / BLAZEFACE_SIZE)
    candidate = scores >= 0.01
    boxes, scores = boxes[candidate], scores[candidate]
    keep = nms(boxes, scores, 0.3)
    return Faces(boxes[keep], scores[keep]), Faces(boxes, scores)


# --- the course's CNN -------------------------------------------------------------------
def load_face_cnn(fold: int = 0):
    """The course's face/non-face LeNet of ``fold`` 0 or 1 (``scripts/train_face_cnn.py``).

    Fold 0 learned from faces 0-49 of :func:`dlcv.data.load_faces`, fold 1 from faces 50-99,
    so each of the 100 faces is measured by the network that never saw it.
    """
    fold = check_int(fold, "fold", 0)
    if fold > 1:
        raise ValueError(f"fold must be 0 or 1, got {fold}")
    return _load_face_cnn(fold)


@functools.cache
def _load_face_cnn(fold: int):
    from dlcv.models import load

    return load(asset_path(f"face_cnn_fold{fold}.npz"))


def face_logits(model, windows: np.ndarray) -> np.ndarray:
    """Log-odds of a face for a stack of 24x24 windows: logit(face) - logit(not face)."""
    from dlcv.layers import evaluation_mode

    x = np.asarray(windows, dtype=np.float32)[:, None]
    if len(x) == 0:
        return np.zeros(0)
    with evaluation_mode(model):
        out = np.concatenate([model.forward(x[i : i + 512]) for i in range(0, len(x), 512)])
    return (out[:, 1] - out[:, 0]).astype(np.float64)


def _cnn(image, fold: int = 0) -> tuple[Faces, Faces]:
    model = load_face_cnn(fold)
    grey = _grey_u8(image) / 255.0
    # start the pyramid where a 24-pixel window covers a MIN_FACE-pixel face
    first = CNN_WINDOW / MIN_FACE
    small = transform.rescale(grey, first, anti_aliasing=True)
    found = detect_multiscale(
        small, lambda w: face_logits(model, w), (CNN_WINDOW, CNN_WINDOW), step=4,
        scale=1.2, score_threshold=-2.0, iou_threshold=0.3,
    )  # fmt: skip
    factor = np.array(grey.shape[::-1] * 2) / np.array(small.shape[::-1] * 2)
    return Faces(found.boxes * factor, found.scores), Faces(
        found.raw_boxes * factor, found.raw_scores
    )


_DETECT = {"Haar cascade": _haar, "LBP cascade": _lbp, "dlib HOG": _hog, "BlazeFace": _blazeface}


def detect(image, detector: str, *, fold: int = 0, before_nms: bool = False) -> Faces:
    """Every face candidate ``detector`` (one of :data:`DETECTORS`) finds in ``image``.

    Faces smaller than :data:`MIN_FACE` pixels are not looked for. ``fold`` picks which of
    the course CNN's two networks runs (see :func:`load_face_cnn`). ``before_nms=True``
    gives the candidates before non-maximum suppression (the cascades' accepted windows
    with their votes, BlazeFace's anchors, the CNN's windows); dlib keeps none of its own,
    so for ``"dlib HOG"`` both are the same.
    """
    if not isinstance(before_nms, (bool, np.bool_)):
        raise TypeError(f"before_nms must be True or False, got {before_nms!r}")
    after, before = detect_both(image, detector, fold=fold)
    return before if before_nms else after


def detect_both(image, detector: str, *, fold: int = 0) -> tuple[Faces, Faces]:
    """:func:`detect`'s candidates after and before non-maximum suppression, from one run."""
    image = _check_image(image)
    detector = check_choice(detector, "detector", DETECTORS)
    if detector == "course CNN":
        return _cnn(image, fold)
    return _DETECT[detector](image)


# --- recognition ----------------------------------------------------------------------
def load_photo(name: str) -> np.ndarray:
    """One of the shipped real photos (:data:`PHOTOS`) as RGB floats in [0, 1]."""
    from dlcv.data import load_image

    name = check_choice(name, "name", PHOTOS)
    return load_image(asset_path(f"photo_{name}.jpg"))


def _rgb_u8(image: np.ndarray) -> np.ndarray:
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))


def _landmarks(image_u8, box):
    dlib = _require("dlib")

    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return _dlib_models()[1](image_u8, dlib.rectangle(x1, y1, x2 - 1, y2 - 1))


def face_chip(image, box, size: int = 150) -> np.ndarray:
    """The face in ``box``, aligned by dlib's 5 landmarks (eyes' corners, nose) and cut out.

    Returns ``(size, size, 3)`` RGB floats in [0, 1]: the eyes level and at the same place
    in every chip, the crop the descriptor network was trained on.
    """
    dlib = _require("dlib")
    image = _check_image(image)
    u8 = _rgb_u8(image)
    chip = dlib.get_face_chip(u8, _landmarks(u8, box), size=check_int(size, "size", 16))
    return np.asarray(chip, dtype=np.float64) / 255.0


def descriptor(image, box) -> np.ndarray:
    """dlib's 128-d descriptor of the face in ``box`` (aligned first, as in :func:`face_chip`).

    Two descriptors of the same person lie closer than 0.6 (Euclidean) in dlib's tests on
    Labeled Faces in the Wild, two of different people farther.
    """
    image = _check_image(image)
    u8 = _rgb_u8(image)
    net = _dlib_models()[2]
    return np.asarray(net.compute_face_descriptor(u8, _landmarks(u8, box)), dtype=np.float64)


# --- anonymisation --------------------------------------------------------------------
def anonymise(image, boxes, method: str = "blur", strength: float = 8.0) -> np.ndarray:
    """A copy of ``image`` with every box blurred or pixelated.

    ``method="blur"``: a Gaussian of ``strength`` pixels inside the box; ``"pixelate"``:
    blocks of ``strength`` x ``strength`` pixels, each its mean grey (or colour).
    """
    image = _check_image(image).copy()
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if not np.isfinite(boxes).all():
        raise ValueError("boxes must hold finite (x1, y1, x2, y2) values, got NaN or inf")
    method = check_choice(method, "method", ("blur", "pixelate"))
    if isinstance(strength, bool) or not np.isfinite(strength) or strength <= 0:
        raise ValueError(f"strength must be a positive number of pixels, got {strength!r}")
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in boxes:
        x1, y1 = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
        x2, y2 = min(int(np.ceil(x2)), w), min(int(np.ceil(y2)), h)
        if x2 <= x1 or y2 <= y1:
            continue
        region = image[y1:y2, x1:x2]
        if method == "blur":
            sigma = (strength, strength, 0)[: region.ndim]
            region[:] = ndimage.gaussian_filter(image, sigma, mode="reflect")[y1:y2, x1:x2]
        else:
            block = max(int(round(strength)), 1)
            for r in range(0, region.shape[0], block):
                for c in range(0, region.shape[1], block):
                    cell = region[r : r + block, c : c + block]
                    cell[:] = cell.mean(axis=(0, 1))
    return image
