"""Named augmentation settings, the pipeline they build, and samples of it.

Chapter 07's augmentation explorer (:mod:`dlcv.widgets.augment_explorer`) is a view of
this module: :data:`AUGMENTATIONS` are its rows (an augmentation of :mod:`dlcv.augment`
with a probability and a strength, and the strength's range), :data:`PRESETS` its named
settings, :func:`build_pipeline` turns settings into a :class:`dlcv.augment.Compose`,
:func:`augmented_samples` draws seeded samples of one image, :func:`explorer_image` loads
the images it offers and :func:`label_warnings` says which settings can change a digit's
label.

Sizes given as a percentage of the image side (shift, cutout square) are converted to
whole pixels of the image being augmented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.transform import resize

from dlcv import augment
from dlcv.augment import RandomApply
from dlcv.data import load_mnist, sample_image
from dlcv.validate import check_int

__all__ = [
    "AUGMENTATIONS",
    "IMAGES",
    "PRESETS",
    "Augmentation",
    "augmented_samples",
    "build_pipeline",
    "explorer_image",
    "label_warnings",
    "percent_to_pixels",
]

PHOTOS = ("astronaut", "chelsea", "coffee")
DIGITS = (7, 4, 2, 6, 9, 3)
IMAGES = (*PHOTOS, *(f"digit {d}" for d in DIGITS))
"""Images offered: scikit-image photos (colour) and the first MNIST training digit of a class."""

WORK_SIZE = 112
"""Longer side, in pixels, at which photos are augmented and shown."""
N_SAMPLES = 12
"""Samples drawn by :func:`augmented_samples` by default (the explorer's grid)."""


@dataclass(frozen=True)
class Augmentation:
    """One row of the explorer: an augmentation with a probability and a strength.

    ``make(strength, p, side)`` returns the transform for images whose longer side is
    ``side`` pixels; ``strength`` is None for augmentations that have none (flips).
    """

    key: str
    label: str
    make: Callable[[float | None, float, int], Callable]
    strength: str | None = None  # label of the strength slider
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    default: float = 0.0


def percent_to_pixels(percent: float, side: int, minimum: int = 0) -> int:
    """``percent`` % of ``side`` pixels, rounded to a whole number of pixels."""
    return max(minimum, int(round(percent / 100 * side)))


AUGMENTATIONS = (
    Augmentation(
        "hflip",
        "horizontal flip",
        lambda s, p, side: augment.RandomFlip(horizontal=True, vertical=False, p=p),
    ),
    Augmentation(
        "vflip",
        "vertical flip",
        lambda s, p, side: augment.RandomFlip(horizontal=False, vertical=True, p=p),
    ),
    Augmentation(
        "rotation",
        "rotation",
        lambda s, p, side: RandomApply(augment.RandomRotation(s), p),
        "max angle (°)",
        0,
        180,
        1,
        15,
    ),
    Augmentation(
        "scale",
        "scaling",
        lambda s, p, side: RandomApply(augment.RandomScale(1 - s / 100, 1 + s / 100), p),
        "max zoom (± %)",
        0,
        50,
        1,
        10,
    ),
    Augmentation(
        "translation",
        "translation",
        lambda s, p, side: RandomApply(augment.RandomTranslation(percent_to_pixels(s, side)), p),
        "max shift (% of side)",
        0,
        25,
        1,
        8,
    ),
    Augmentation(
        "brightness",
        "brightness",
        lambda s, p, side: RandomApply(augment.RandomBrightness(s), p),
        "max change (±)",
        0,
        0.5,
        0.01,
        0.2,
    ),
    Augmentation(
        "contrast",
        "contrast",
        lambda s, p, side: RandomApply(augment.RandomContrast(1 - s / 100, 1 + s / 100), p),
        "max change (± %)",
        0,
        90,
        1,
        30,
    ),
    Augmentation(
        "noise",
        "Gaussian noise",
        lambda s, p, side: RandomApply(augment.GaussianNoise(s), p),
        "σ",
        0,
        0.3,
        0.01,
        0.05,
    ),
    Augmentation(
        "cutout",
        "cutout",
        lambda s, p, side: augment.Cutout(percent_to_pixels(s, side, 1), p=p),
        "square side (% of side)",
        5,
        60,
        1,
        30,
    ),
)
"""The rows of the explorer, in the order the pipeline applies them."""
_BY_KEY = {a.key: a for a in AUGMENTATIONS}

PRESETS = {
    "digits: label-preserving": {
        "rotation": (1.0, 15),
        "scale": (1.0, 10),
        "translation": (1.0, 8),
    },
    "photos: flips and colour": {
        "hflip": (0.5, None),
        "rotation": (0.5, 10),
        "scale": (0.5, 15),
        "brightness": (0.8, 0.15),
        "contrast": (0.8, 25),
    },
    "digits: label-changing flips": {"hflip": (0.5, None), "vflip": (0.5, None)},
    "everything": {a.key: (0.5, a.default) for a in AUGMENTATIONS},
    "none": {},
}
"""Named settings: augmentation key -> (probability, strength); unnamed ones are off.
``"digits: label-preserving"`` is close to the chapter's experiment (±15°, ±10 % zoom,
±2 pixels on a 28x28 digit)."""


def build_pipeline(settings: dict, side: int) -> augment.Compose:
    """The :class:`dlcv.augment.Compose` for ``settings`` on images of ``side`` pixels.

    Parameters
    ----------
    settings : dict
        Augmentation key (see :data:`AUGMENTATIONS`) -> ``(p, strength)``; ``strength``
        is ignored for flips. Missing keys are off. Applied in the order of
        :data:`AUGMENTATIONS`, whatever the order of the dict.
    side : int
        Longer side of the images, to turn percentages into pixels.

    Returns
    -------
    dlcv.augment.Compose
    """
    unknown = set(settings) - set(_BY_KEY)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; choose from {list(_BY_KEY)}")
    side = check_int(side, "side", 1)
    steps = []
    for aug in AUGMENTATIONS:
        if aug.key in settings:
            p, strength = settings[aug.key]
            strength = None if aug.strength is None else float(strength)
            steps.append(aug.make(strength, float(p), int(side)))
    return augment.Compose(steps)


def augmented_samples(
    image: np.ndarray, pipeline: Callable, n: int = N_SAMPLES, seed: int = 0
) -> np.ndarray:
    """``n`` augmented copies of one image, drawn with one generator seeded by ``seed``.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Floats in [0, 1].
    pipeline : callable
        ``pipeline(batch, rng=..., layout=...)``, e.g. :func:`build_pipeline`'s result.
    n : int
    seed : int >= 0

    Returns
    -------
    ndarray, shape (n, H, W) or (n, H, W, C)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    n, seed = check_int(n, "n", 1), check_int(seed, "seed", 0)
    batch = np.repeat(image[None], n, axis=0)
    return pipeline(batch, rng=int(seed), layout="NHW" if image.ndim == 2 else "NHWC")


def explorer_image(name: str) -> np.ndarray:
    """An image of :data:`IMAGES`, float32 in [0, 1]: a photo (H, W, 3) at :data:`WORK_SIZE`,
    or a digit (28, 28).

    Digits are the first image of their class in ``load_mnist().x_train``.
    """
    if name not in IMAGES:
        raise ValueError(f"image must be one of {IMAGES}, got {name!r}")
    if name.startswith("digit "):
        data = load_mnist()
        first = int(np.flatnonzero(data.y_train == int(name.split()[1]))[0])
        return data.x_train[first, 0].copy()
    photo = sample_image(name)
    h, w = photo.shape[:2]
    scale = WORK_SIZE / max(h, w)
    small = resize(photo, (round(h * scale), round(w * scale)), anti_aliasing=True)
    return small.astype(np.float32)


def label_warnings(settings: dict, image_name: str) -> list[str]:
    """Why ``settings`` may change the label of the digit ``image_name`` (empty for photos)."""
    if not image_name.startswith("digit "):
        return []
    digit = image_name.split()[1]
    notes = []
    if "hflip" in settings and settings["hflip"][0] > 0:
        notes.append(
            f"a horizontal flip mirrors the {digit}: the mirror image is not a {digit} "
            "(except for symmetric shapes like 0, 1 and 8)"
        )
    if "vflip" in settings and settings["vflip"][0] > 0:
        notes.append(
            "a vertical flip turns digits upside down (a 6 flipped top-bottom is a "
            "mirrored 9, not a 6)"
        )
    if "rotation" in settings and settings["rotation"][0] > 0 and settings["rotation"][1] > 45:
        notes.append(
            f"rotations beyond ±45° (here up to ±{settings['rotation'][1]:g}°) make "
            "digits lie on their side or upside down: a 6 turned by 180° is a 9"
        )
    return notes
