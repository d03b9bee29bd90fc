"""Real faces on real backgrounds, under controlled conditions, for chapter 10's experiment.

A *scene* is a 160x160 grey photograph crop (one of scikit-image's or scikit-learn's
sample photos) with one of the 100 faces of :func:`dlcv.data.load_faces` pasted on it,
upscaled to between 56 and 80 pixels, its edges feathered so the paste has no hard seam.
The face's square is the ground-truth box. A *condition* then changes the scene the way
the world does:

* ``angle``: the whole scene rotated about the face's centre (a tilted head, or camera);
* ``brightness``: the light scaled down before the sensor adds its noise and rounds to
  8 bits, so a dark scene has fewer grey levels and more noise, as a real camera's does;
* ``blur``: a Gaussian of that many pixels (focus, motion).

Every scene is seeded by the face's index, so the same face sits on the same background
at the same place under every condition; only the condition changes.

Two sets of photos keep the experiment honest: :data:`EVAL_BACKGROUNDS` make the scenes
every detector is measured on; :data:`TRAIN_BACKGROUNDS` are the only ones the course's
own CNN sees as non-faces during training.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage import transform

from dlcv.data import load_faces, sample_image
from dlcv.validate import check_int

__all__ = [
    "CONDITIONS",
    "EVAL_BACKGROUNDS",
    "SCENE_SIZE",
    "TRAIN_BACKGROUNDS",
    "Scene",
    "background_patches",
    "condition_scenes",
    "empty_scenes",
    "face_scene",
    "pair_scene",
    "render",
    "training_windows",
]

SCENE_SIZE = 160
FACE_SIZES = (56, 80)  # smallest and largest side of a pasted face, pixels
NOISE_SD = 0.01  # the sensor's noise, in units of full white, in every condition

EVAL_BACKGROUNDS = (
    "grass", "coffee", "chelsea", "coins", "moon", "text", "hubble_deep_field",
    "immunohistochemistry", "retina", "flower",
)  # fmt: skip
"""Photos the measured scenes are cut from (none shows a human face)."""
TRAIN_BACKGROUNDS = (
    "brick", "gravel", "page", "clock", "rocket", "cell", "colorwheel", "china",
    "shepp_logan_phantom", "microaneurysms", "logo", "checkerboard", "horse",
)  # fmt: skip
"""Photos the course's CNN learns non-faces from; never used in a measured scene."""

CONDITIONS: dict[str, dict] = {
    "upright": {},
    **{f"rotated {a}°": {"angle": a} for a in (15, 30, 45, 60)},
    **{f"dark ×{b}": {"brightness": b} for b in (0.25, 0.1, 0.05)},
    **{f"blurred σ={s}": {"blur": s} for s in (1.5, 3, 5)},
}
"""The experiment's conditions: name -> keyword arguments of :func:`render`."""


class Scene(NamedTuple):
    """A grey image in [0, 1] and its faces' boxes ``(K, 4)`` as (x1, y1, x2, y2)."""

    image: np.ndarray
    boxes: np.ndarray


@functools.cache
def _grey_photo(name: str) -> np.ndarray:
    photo = sample_image(name, grey=True)
    if min(photo.shape) < SCENE_SIZE:  # microaneurysms (102 px) is smaller than a scene
        photo = transform.rescale(photo, SCENE_SIZE / min(photo.shape) * 1.2, order=1)
    photo.setflags(write=False)
    return photo


def _crop(name: str, rng: np.random.Generator, size: int = SCENE_SIZE) -> np.ndarray:
    photo = _grey_photo(name)
    top = rng.integers(0, photo.shape[0] - size + 1)
    left = rng.integers(0, photo.shape[1] - size + 1)
    return photo[top : top + size, left : left + size].copy()


def _feather(size: int, ramp: int = 4) -> np.ndarray:
    """Alpha of a pasted square: 1 inside, falling linearly to 0 over ``ramp`` pixels."""
    edge = np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5
    alpha = np.clip(edge / ramp, 0.0, 1.0)
    return np.minimum.outer(alpha, alpha)


def _paste(face: np.ndarray, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paste ``face`` on ``image`` (in place) at a size and place drawn from ``rng``."""
    side = int(rng.integers(FACE_SIZES[0], FACE_SIZES[1] + 1))
    margin = int(np.ceil(side * 0.72))  # room for a 60° turn without leaving the scene
    cx, cy = rng.integers(margin, SCENE_SIZE - margin + 1, size=2)
    x1, y1 = int(cx - side // 2), int(cy - side // 2)
    big = transform.resize(face, (side, side), order=1, anti_aliasing=False)
    alpha = _feather(side)
    window = image[y1 : y1 + side, x1 : x1 + side]
    window[:] = alpha * big + (1 - alpha) * window
    return np.array([[x1, y1, x1 + side, y1 + side]], dtype=float)


def face_scene(index: int, face: np.ndarray | None = None) -> Scene:
    """Scene ``index`` (0-99): face ``index`` on an evaluation photo, before any condition.

    The background is ``EVAL_BACKGROUNDS[index % 10]``; the crop, the face's size and its
    place come from a generator seeded by ``index``. ``face`` replaces the face (used to
    paste an anonymised or altered copy at exactly the same place).
    """
    index = check_int(index, "index", 0)
    if index > 99:
        raise ValueError(f"index must be a face of load_faces(), 0-99, got {index}")
    rng = np.random.default_rng([10, index])
    image = _crop(EVAL_BACKGROUNDS[index % len(EVAL_BACKGROUNDS)], rng)
    face = load_faces().images[index] if face is None else np.asarray(face, dtype=float)
    return Scene(image, _paste(face, image, rng))


def pair_scene(first: int, second: int, shift: float = 0.5) -> Scene:
    """Scene ``first`` with face ``second`` pasted beside its face, overlapping it (a crowd).

    The second face has the first's size and row and sits ``shift`` of a face's width to
    the left (or to the right when there is no room), pasted over the first with the same
    feathered edge. Boxes: the first face, then the second.
    """
    if isinstance(shift, bool) or not 0 < shift <= 1:
        raise ValueError(f"shift must be in (0, 1], a share of the face's width, got {shift!r}")
    scene = face_scene(first)
    x1, y1, x2, _ = scene.boxes[0]
    side = int(x2 - x1)
    left = int(x1 - shift * side) if x1 - shift * side >= 0 else int(x1 + shift * side)
    if left + side > SCENE_SIZE:
        raise ValueError(f"no room for face {second} beside face {first} at shift {shift}")
    face = transform.resize(load_faces().images[check_int(second, "second", 0)], (side, side))
    alpha = _feather(side)
    window = scene.image[int(y1) : int(y1) + side, left : left + side]
    window[:] = alpha * face + (1 - alpha) * window
    second_box = [left, y1, left + side, y1 + side]
    return Scene(scene.image, np.array([scene.boxes[0], second_box], dtype=float))


def render(
    scene: Scene,
    *,
    angle: float = 0.0,
    brightness: float = 1.0,
    blur: float = 0.0,
    seed: int = 0,
) -> Scene:
    """``scene`` under a condition: rotated, darkened and blurred, then through a sensor.

    The rotation turns the whole image about the first face's centre (the box keeps its
    size and centre: a face's extent does not change when it tilts); the reflection of
    the photo fills the corners. The sensor adds Gaussian noise of :data:`NOISE_SD` and
    rounds to 256 grey levels in every condition, so a condition differs only by what it
    names.
    """
    for name, value in (("angle", angle), ("brightness", brightness), ("blur", blur)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    seed = check_int(seed, "seed", 0)
    if not 0 < brightness <= 1:
        raise ValueError(f"brightness must be in (0, 1], got {brightness}")
    if blur < 0:
        raise ValueError(f"blur must be >= 0 pixels, got {blur}")
    image = scene.image
    if angle and len(scene.boxes):
        x1, y1, x2, y2 = scene.boxes[0]
        centre = ((x1 + x2) / 2 - 0.5, (y1 + y2) / 2 - 0.5)  # pixel centres, (col, row)
        image = transform.rotate(image, angle, center=centre, order=1, mode="symmetric")
    elif angle:  # no face: about the image's centre
        image = transform.rotate(image, angle, order=1, mode="symmetric")
    if blur:
        image = ndimage.gaussian_filter(image, blur, mode="reflect")
    rng = np.random.default_rng([11, seed])
    image = image * brightness + rng.normal(0.0, NOISE_SD, image.shape)
    image = np.clip(np.round(image * 255), 0, 255) / 255
    return Scene(image, scene.boxes.copy())


def condition_scenes(condition: str, indices=range(100)) -> list[Scene]:
    """The scenes of faces ``indices`` under one of :data:`CONDITIONS`."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {list(CONDITIONS)}, got {condition!r}")
    kwargs = CONDITIONS[condition]
    return [render(face_scene(i), seed=i, **kwargs) for i in indices]


def empty_scenes(n: int = 200, seed: int = 0, backgrounds=EVAL_BACKGROUNDS) -> list[Scene]:
    """``n`` face-free scenes from the evaluation photos (upright, through the sensor).

    Each detector's threshold is set on these so that every detector lets through the
    same number of false detections per image. With ``backgrounds=TRAIN_BACKGROUNDS``
    they are the scenes the course CNN's hard non-faces are mined from.
    """
    n = check_int(n, "n", 1)
    rng = np.random.default_rng([12, seed])
    scenes = []
    for i in range(n):
        image = _crop(backgrounds[i % len(backgrounds)], rng)
        scenes.append(render(Scene(image, np.zeros((0, 4))), seed=10_000 + i))
    return scenes


def training_windows(faces, n_variants: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """24x24 windows for the course CNN: faces and non-faces, from the training photos only.

    Each face of ``faces`` (indices into :func:`dlcv.data.load_faces`) is pasted
    ``n_variants`` times on a :data:`TRAIN_BACKGROUNDS` crop and rendered at a random
    angle (within ±25°), brightness (×0.2-1) and blur (σ 0-2), then its box is cut out with
    a little jitter (±10 % in size, ±8 % in place). The non-faces, twice as many, are:
    windows of the same scenes that overlap the face by IoU < 0.3 (near misses, one per
    variant), the 100 non-face crops of :func:`dlcv.data.load_faces` (each 5 times, flipped
    at random and at a random brightness), and windows of random size anywhere in
    face-free training crops, at least twice as many non-faces as faces in all (exactly
    twice from 250 faces on, since the 500 crops are always there).

    Returns ``x`` (K, 24, 24) float32 in [0, 1] and ``y`` (K,) int64, 1 for a face.
    """
    from dlcv.detect import box_iou

    n_variants = check_int(n_variants, "n_variants", 1)
    rng = np.random.default_rng([14, seed])
    images = load_faces().images
    pos, neg = [], []

    def cut(image, box):
        x1, y1, x2, y2 = np.round(box).astype(int)
        return transform.resize(image[y1:y2, x1:x2], (24, 24), order=1, anti_aliasing=True)

    for index in faces:
        for _ in range(n_variants):
            image = _crop(TRAIN_BACKGROUNDS[rng.integers(len(TRAIN_BACKGROUNDS))], rng)
            box = _paste(images[index], image, rng)
            scene = render(
                Scene(image, box), angle=rng.uniform(-25, 25),
                brightness=rng.uniform(0.2, 1.0), blur=rng.uniform(0, 2),
                seed=int(rng.integers(2**31)),
            )  # fmt: skip
            x1, y1, x2, y2 = box[0]
            side = (x2 - x1) * rng.uniform(0.9, 1.1)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            cx, cy = cx + rng.uniform(-0.08, 0.08) * side, cy + rng.uniform(-0.08, 0.08) * side
            jittered = np.clip([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], 0, 160)
            pos.append(cut(scene.image, jittered))
            for _ in range(20):  # a near miss: same scene, same scale range, elsewhere
                s = rng.uniform(0.5, 1.5) * (x2 - x1)
                nx, ny = rng.uniform(0, SCENE_SIZE - s, size=2)
                miss = np.array([nx, ny, nx + s, ny + s])
                if box_iou(miss[None], box)[0, 0] < 0.3:
                    neg.append(cut(scene.image, miss))
                    break
    for crop in images[100:]:
        for _ in range(5):
            flipped = crop[:, ::-1] if rng.random() < 0.5 else crop
            small = transform.resize(flipped, (24, 24), order=1, anti_aliasing=True)
            neg.append(small * rng.uniform(0.2, 1.0))
    for _ in range(2 * len(pos) - len(neg)):
        image = _crop(TRAIN_BACKGROUNDS[rng.integers(len(TRAIN_BACKGROUNDS))], rng)
        scene = render(Scene(image, np.zeros((0, 4))), brightness=rng.uniform(0.2, 1.0),
                       blur=rng.uniform(0, 2), seed=int(rng.integers(2**31)))  # fmt: skip
        s = rng.uniform(24, SCENE_SIZE)
        nx, ny = rng.uniform(0, SCENE_SIZE - s, size=2)
        neg.append(cut(scene.image, [nx, ny, nx + s, ny + s]))
    x = np.concatenate([np.array(pos), np.array(neg)]).astype(np.float32)
    y = np.repeat(np.array([1, 0], dtype=np.int64), [len(pos), len(neg)])
    return x, y


def background_patches(n: int, size: int = 24, seed: int = 0) -> np.ndarray:
    """``n`` random ``size``-square non-face patches from :data:`TRAIN_BACKGROUNDS`.

    Patches are cut at random scales (side 24-96 px, resized to ``size``) so the CNN
    sees texture at the scales its sliding window will meet.
    """
    n, size = check_int(n, "n", 1), check_int(size, "size", 4)
    rng = np.random.default_rng([13, seed])
    out = np.empty((n, size, size))
    for i in range(n):
        photo = _grey_photo(TRAIN_BACKGROUNDS[i % len(TRAIN_BACKGROUNDS)])
        side = int(rng.integers(24, 97))
        top = rng.integers(0, photo.shape[0] - side + 1)
        left = rng.integers(0, photo.shape[1] - side + 1)
        patch = photo[top : top + side, left : left + side]
        out[i] = transform.resize(patch, (size, size), order=1, anti_aliasing=True)
    return out
