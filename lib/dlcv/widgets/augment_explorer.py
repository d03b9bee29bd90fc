"""Augmentation explorer: compose augmentations and see a grid of augmented samples.

The learner switches augmentations of :mod:`dlcv.augment` on and off, sets for each
one the probability that it is applied to a sample and its strength (the largest
angle, shift, zoom, ...), and sees twelve augmented samples of a real photo or of a
real MNIST digit. The samples are drawn from one seeded generator: the same settings
and seed always give the same grid, and the *new seed* button (or the seed field)
draws another one.

For digits, settings that can change the label are flagged (a mirrored 7 is no digit,
a 6 turned upside down reads as a 9).

Photos are augmented at :data:`WORK_SIZE` pixels on their longer side (the size they
are shown at), so an update takes tens of milliseconds even for the 512x512 astronaut;
digits are augmented at their real 28x28 and enlarged for display. Sizes that are
given as a percentage of the image side (shift, cutout square) are converted to whole
pixels of the image being augmented; the status line says how many.

>>> from dlcv.widgets.augment_explorer import AugmentExplorer
>>> explorer = AugmentExplorer(image="digit 7", preset="digits: label-preserving")  # doctest: +SKIP
>>> explorer.seed.value = 3            # doctest: +SKIP
>>> explorer.samples.shape             # doctest: +SKIP
(12, 28, 28)
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from skimage.transform import resize

from dlcv import augment
from dlcv.augment import RandomApply
from dlcv.data import load_mnist, sample_image
from dlcv.render import DisplayRange, colorize, tile, to_png, zoom
from dlcv.widgets.base import Explorer, panel, row

__all__ = [
    "AUGMENTATIONS",
    "IMAGES",
    "PRESETS",
    "AugmentExplorer",
    "augment_explorer",
    "augmented_samples",
    "build_pipeline",
    "explorer_image",
]

PHOTOS = ("astronaut", "chelsea", "coffee")
DIGITS = (7, 4, 2, 6, 9, 3)
IMAGES = (*PHOTOS, *(f"digit {d}" for d in DIGITS))
"""Images offered: scikit-image photos (colour) and the first MNIST training digit of a class."""

WORK_SIZE = 112
"""Longer side, in pixels, at which photos are augmented and shown."""
DIGIT_ZOOM = 4
"""Screen pixels per digit pixel (28x28 digits are shown 112x112)."""
N_SAMPLES = 12
N_COLUMNS = 4
GAP = 4  # white pixels between the tiles of the grid
_GREY = DisplayRange("gray", 0.0, 1.0, False, 0.0)


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


def _pixels(percent: float, side: int, minimum: int = 0) -> int:
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
        lambda s, p, side: RandomApply(augment.RandomTranslation(_pixels(s, side)), p),
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
        lambda s, p, side: augment.Cutout(_pixels(s, side, 1), p=p),
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
    if not isinstance(side, (int, np.integer)) or side < 1:
        raise ValueError(f"side must be a positive int (pixels), got {side!r}")
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
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
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


def _tile(image: np.ndarray) -> np.ndarray:
    """RGB uint8 picture of one image in [0, 1] (digits enlarged by nearest neighbour)."""
    if image.ndim == 2:
        return colorize(zoom(image, DIGIT_ZOOM), _GREY)
    return colorize(image)


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


class AugmentResult(NamedTuple):
    """What :meth:`AugmentExplorer.compute` returns."""

    image: np.ndarray
    settings: dict
    pipeline: augment.Compose
    samples: np.ndarray
    notes: list[str]  # why the settings may change a digit's label


class AugmentExplorer(Explorer):
    """Compose augmentations and see a grid of augmented samples (an :class:`Explorer`).

    Parameters
    ----------
    image : str
        One of :data:`IMAGES` (``"astronaut"``, ``"digit 7"``, ...).
    preset : str
        Starting settings, a key of :data:`PRESETS`.
    seed : int >= 0

    Attributes
    ----------
    image : ipywidgets.Dropdown
    preset : ipywidgets.Dropdown
        Choosing one sets every row below (then it shows ``"custom"`` after an edit).
    rows : dict
        Augmentation key -> ``(enabled Checkbox, p FloatSlider, strength slider or None)``.
    seed : ipywidgets.BoundedIntText
        Seed of the generator; the same seed and settings give the same grid.
    new_seed : ipywidgets.Button
        Adds one to the seed.
    original_view, grid_view : ipywidgets.Image
        The image and the grid of samples (PNG).
    status : ipywidgets.HTML
        The pipeline in words and in code.
    notes : ipywidgets.HTML
        Empty, or a warning about settings that can change a digit's label.
    samples : ndarray, shape (12, H, W) or (12, H, W, 3)
        The samples on display.
    pipeline : dlcv.augment.Compose
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`.
    """

    def __init__(
        self, image: str = "astronaut", preset: str = "photos: flips and colour", seed: int = 0
    ):
        super().__init__()
        self._images: dict[str, tuple[np.ndarray, bytes]] = {}
        self.samples = np.zeros((0, 1, 1))
        self.pipeline = augment.Compose([])
        self.image = widgets.Dropdown(
            options=IMAGES, value=image, description="image", layout=widgets.Layout(width="220px")
        )
        self.preset = widgets.Dropdown(
            options=[*PRESETS, "custom"],
            value=preset,
            description="preset",
            layout=widgets.Layout(width="320px"),
        )
        self.seed = widgets.BoundedIntText(
            value=seed,
            min=0,
            max=2**31 - 1,
            description="seed",
            layout=widgets.Layout(width="180px"),
        )
        self.new_seed = widgets.Button(
            description="new seed", icon="refresh", tooltip="draw another grid (seed + 1)"
        )
        self.new_seed.on_click(lambda _: self._next_seed())
        self.rows = {a.key: self._row(a) for a in AUGMENTATIONS}
        self.original_view = widgets.Image(format="png")
        self.grid_view = widgets.Image(format="png")
        self.status = widgets.HTML()
        self.notes = widgets.HTML()
        self._apply_preset(preset)
        header = widgets.VBox([row(self.image, self.preset), row(self.seed, self.new_seed)])
        table = widgets.VBox([row(*filter(None, r)) for r in self.rows.values()])
        pictures = row(
            panel("original", self.original_view),
            panel(f"{N_SAMPLES} augmented samples", self.grid_view),
            align_items="flex-start",
        )
        self.children = [header, table, self.notes, self.message, pictures, self.status]
        self.watch(self.image, self.seed)
        self.watch(self.preset, handler=self._on_preset)
        controls = [c for r in self.rows.values() for c in r if c is not None]
        self.watch(*controls, handler=self._on_edit)
        self.update()

    # ------------------------------------------------------------------ controls
    @staticmethod
    def _row(aug: Augmentation):
        checkbox = widgets.Checkbox(
            value=False, description=aug.label, indent=False, layout=widgets.Layout(width="150px")
        )
        p = widgets.FloatSlider(
            value=0.5,
            min=0,
            max=1,
            step=0.05,
            description="probability",
            readout_format=".2f",
            continuous_update=False,
            layout=widgets.Layout(width="300px"),
        )
        strength = None
        if aug.strength is not None:
            strength = widgets.FloatSlider(
                value=aug.default,
                min=aug.low,
                max=aug.high,
                step=aug.step,
                description=aug.strength,
                continuous_update=False,
                style={"description_width": "150px"},
                layout=widgets.Layout(width="420px"),
            )
        return checkbox, p, strength

    def settings(self) -> dict:
        """The enabled augmentations: key -> (probability, strength or None)."""
        return {
            key: (p.value, None if s is None else s.value)
            for key, (on, p, s) in self.rows.items()
            if on.value
        }

    def _apply_preset(self, name: str) -> None:
        chosen = PRESETS[name]
        with self.quiet():
            for key, (checkbox, p, strength) in self.rows.items():
                checkbox.value = key in chosen
                if key in chosen:
                    p.value = chosen[key][0]
                    if strength is not None:
                        strength.value = chosen[key][1]

    def _next_seed(self) -> None:
        self.seed.value = min(self.seed.value + 1, self.seed.max)

    def _on_preset(self, change) -> None:
        if change["new"] != "custom":
            self._apply_preset(change["new"])
            self.update()

    def _on_edit(self, change) -> None:
        with self.quiet():
            self.preset.value = "custom"
        self.update()

    # ------------------------------------------------------------------ compute and draw
    def _source(self) -> tuple[np.ndarray, bytes]:
        """The chosen image and its PNG (cached per image)."""
        name = self.image.value
        if name not in self._images:
            image = explorer_image(name)
            self._images[name] = (image, to_png(_tile(image)))
        return self._images[name]

    def compute(self) -> AugmentResult:
        """Build the pipeline for the settings and draw the samples with the seed."""
        image, _ = self._source()
        settings = self.settings()
        pipeline = build_pipeline(settings, max(image.shape[:2]))
        samples = augmented_samples(image, pipeline, N_SAMPLES, self.seed.value)
        return AugmentResult(
            image, settings, pipeline, samples, label_warnings(settings, self.image.value)
        )

    def draw(self, result: AugmentResult) -> None:
        _, original = self._source()
        grid = to_png(tile([_tile(s) for s in result.samples], N_COLUMNS, GAP))
        self.samples, self.pipeline = result.samples, result.pipeline
        self.original_view.value, self.grid_view.value = original, grid
        self.status.value = _status_html(
            result.pipeline, result.settings, result.image.shape, self.seed.value
        )
        self.notes.value = (
            ""
            if not result.notes
            else (
                "<div style='color:#b35806'><b>⚠ These settings can change the label:</b><ul>"
                + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
                + "</ul></div>"
            )
        )


def _status_html(pipeline, settings: dict, shape, seed: int) -> str:
    side = max(shape[:2])
    what = "digit" if len(shape) == 2 else "photo"
    pixels = []
    if "translation" in settings:
        pixels.append(f"shift up to ±{_pixels(settings['translation'][1], side)} px")
    if "cutout" in settings:
        pixels.append(f"cutout square {_pixels(settings['cutout'][1], side, 1)} px")
    extra = f" ({'; '.join(pixels)})" if pixels else ""
    return (
        f"<small>{what} {shape[0]}×{shape[1]}{extra}; seed {seed}. The pipeline, applied "
        f"top to bottom:</small><pre style='font-size:11px;white-space:pre-wrap'>"
        f"{html.escape(repr(pipeline))}</pre>"
    )


def augment_explorer(**kwargs) -> AugmentExplorer:
    """Create an :class:`AugmentExplorer` (same arguments)."""
    return AugmentExplorer(**kwargs)
