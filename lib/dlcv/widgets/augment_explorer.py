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
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv import augment
from dlcv.augment_presets import (
    AUGMENTATIONS,
    IMAGES,
    PRESETS,
    Augmentation,
    augmented_samples,
    build_pipeline,
    explorer_image,
    label_warnings,
    percent_to_pixels,
)
from dlcv.render import DisplayRange, colorize, tile, to_png, zoom
from dlcv.widgets.base import Explorer, Picture, panel, row, tip

__all__ = ["AugmentExplorer", "augment_explorer"]

DIGIT_ZOOM = 4
"""Screen pixels per digit pixel (28x28 digits are shown 112x112)."""
N_SAMPLES = 12
N_COLUMNS = 4
GAP = 4  # white pixels between the tiles of the grid
_GREY = DisplayRange("gray", 0.0, 1.0, False, 0.0)


def _tile(image: np.ndarray) -> np.ndarray:
    """RGB uint8 picture of one image in [0, 1] (digits enlarged by nearest neighbour)."""
    if image.ndim == 2:
        return colorize(zoom(image, DIGIT_ZOOM), _GREY)
    return colorize(image)


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
        self.original_view = Picture(format="png")
        self.grid_view = Picture(format="png")
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
            layout=widgets.Layout(width="300px", max_width="100%"),
            **tip(f"{aug.label} probability"),
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
                layout=widgets.Layout(width="420px", max_width="100%"),
                **tip(f"{aug.label}: {aug.strength}"),
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
        shape = " by ".join(map(str, result.image.shape[:2]))
        steps = "; ".join(
            f"{key} with probability {p:g}"
            + ("" if strength is None else f", strength {strength:g}")
            for key, (p, strength) in result.settings.items()
        )
        self.original_view.alt = f"the original {self.image.value}, {shape}"
        self.grid_view.alt = (
            f"{N_SAMPLES} augmented samples of {self.image.value} drawn with seed "
            f"{self.seed.value}: {steps or 'no augmentation'}"
        )
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
        pixels.append(f"shift up to ±{percent_to_pixels(settings['translation'][1], side)} px")
    if "cutout" in settings:
        pixels.append(f"cutout square {percent_to_pixels(settings['cutout'][1], side, 1)} px")
    extra = f" ({'; '.join(pixels)})" if pixels else ""
    return (
        f"<small>{what} {shape[0]}×{shape[1]}{extra}; seed {seed}. The pipeline, applied "
        f"top to bottom:</small><pre style='font-size:11px;white-space:pre-wrap'>"
        f"{html.escape(repr(pipeline))}</pre>"
    )


def augment_explorer(**kwargs) -> AugmentExplorer:
    """Create an :class:`AugmentExplorer` (same arguments)."""
    return AugmentExplorer(**kwargs)
