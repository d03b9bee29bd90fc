"""Reading a traffic light's state: a colour rule in HSV against a tiny CNN.

Chapter 11 crops every traffic light out of the road scenes of :mod:`dlcv.scenes`
(:func:`dlcv.scenes.light_crops`, 24 x 12 pixels) and reads its state, one of
:data:`~dlcv.scenes.LIGHT_STATES` ("red", "amber", "green", "off"), two ways:

* :func:`hsv_rule`, the hand-made way: a lit lamp is bright and saturated, and its hue
  says which colour it is. Its thresholds are chosen on validation crops by
  :func:`fit_hsv_rule`, so the baseline is tuned as fairly as the network.
* :func:`light_cnn`, a network of two small convolutions that learns the same from
  labelled crops (trained by ``scripts/train_light_cnn.py``, loaded by
  :func:`load_light_cnn`, applied by :func:`predict_states`).

:func:`accuracy_by_condition` breaks the accuracy of either down by the lighting of each
crop (day, dusk, glare), which is where the two differ.

>>> crop = np.zeros((1, 24, 12, 3), np.float32) + 0.08   # a dark housing ...
>>> crop[0, 3:7, 4:8] = (1.0, 0.12, 0.08)                # ... with its top lamp lit red
>>> [LIGHT_STATES[s] for s in hsv_rule(crop)]
['red']
"""

from __future__ import annotations

import functools
import itertools
import numbers

import numpy as np

from dlcv.scenes import LIGHT_STATES, LIGHTING

__all__ = [
    "CROP_SIZE",
    "HUE_BANDS",
    "RULE_DEFAULTS",
    "RULE_GRID",
    "accuracy_by_condition",
    "as_cnn_input",
    "check_crops",
    "fit_hsv_rule",
    "hsv_rule",
    "light_cnn",
    "load_light_cnn",
    "load_light_results",
    "predict_states",
]

CROP_SIZE = (24, 12)
"""(rows, columns) of the crops :func:`light_cnn` reads (``light_crops``' default)."""

HUE_BANDS = {"red": (0.9, 0.06), "amber": (0.06, 0.25), "green": (0.25, 0.55)}
"""Hue intervals ``[start, end)`` on the colour wheel (0 to 1; 0 is red, 1/6 yellow, 1/3
green, 1/2 cyan, 2/3 blue); a band whose start is above its end wraps through 0."""

RULE_DEFAULTS = {"saturation": 0.4, "value": 0.5, "hues": HUE_BANDS, "min_fraction": 0.01}
"""The thresholds :func:`hsv_rule` uses unless told otherwise (set by eye, before tuning)."""

RULE_GRID = {
    "saturation": (0.1, 0.2, 0.25, 0.3, 0.4, 0.5),
    "value": (0.3, 0.4, 0.5, 0.6, 0.7),
    "min_fraction": (0.0, 0.0025, 0.005, 0.01, 0.02),
    "red_end": (0.04, 0.06, 0.1),  # where red turns amber
    "green_end": (0.5, 0.55, 0.6),  # where green turns blue (the sky is at about 0.6)
}
"""The values :func:`fit_hsv_rule` tries (every combination, 1,350; the defaults are one)."""


# --- checks -------------------------------------------------------------------------------


def check_crops(crops, name: str = "crops") -> np.ndarray:
    """``crops`` after checking it is a non-empty float array ``(N, H, W, 3)`` in [0, 1]."""
    if not isinstance(crops, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array (N, H, W, 3) of RGB values in [0, 1], "
            f"got {type(crops).__name__}"
        )
    if not np.issubdtype(crops.dtype, np.floating):
        raise TypeError(
            f"{name} must hold floats in [0, 1], got dtype {crops.dtype} "
            "(8-bit images: divide by 255)"
        )
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (N, H, W, 3), got shape {crops.shape}"
            + (" (one crop? add a first axis: crop[None])" if crops.ndim == 3 else "")
        )
    if len(crops) == 0:
        raise ValueError(f"{name} must hold at least one crop, got shape {crops.shape}")
    if not np.isfinite(crops).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    low, high = float(crops.min()), float(crops.max())
    if low < 0 or high > 1:
        hint = " (8-bit levels? divide by 255)" if 1 < high <= 255 and low >= 0 else ""
        raise ValueError(f"{name} must lie in [0, 1], got values from {low:g} to {high:g}{hint}")
    return crops


def _check_states(states, n: int, name: str = "states") -> np.ndarray:
    states = np.asarray(states)
    if states.ndim != 1 or not np.issubdtype(states.dtype, np.integer):
        raise TypeError(
            f"{name} must be a 1-D array of integers indexing {LIGHT_STATES}, "
            f"got shape {states.shape} and dtype {states.dtype}"
        )
    if len(states) != n:
        raise ValueError(f"{name} has {len(states)} entries for {n} crops")
    if n and (states.min() < 0 or states.max() >= len(LIGHT_STATES)):
        raise ValueError(
            f"{name} must index {LIGHT_STATES} (0 to {len(LIGHT_STATES) - 1}), "
            f"got values from {states.min()} to {states.max()}"
        )
    return states.astype(np.int64, copy=False)


def _fraction(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


def _check_hues(hues) -> dict:
    if not isinstance(hues, dict):
        raise TypeError(f"hues must be a dict of hue intervals, got {type(hues).__name__}")
    if set(hues) != {"red", "amber", "green"}:
        raise ValueError(
            "hues must be a dict with the keys 'red', 'amber' and 'green', each a hue "
            f"interval (start, end) in [0, 1], got {hues!r}"
        )
    for colour, band in hues.items():
        if not (isinstance(band, (tuple, list)) and len(band) == 2):
            raise ValueError(f"hues[{colour!r}] must be a pair (start, end), got {band!r}")
        for bound in band:
            _fraction(bound, f"hues[{colour!r}]")
    return hues


# --- the colour rule ----------------------------------------------------------------------


def _in_band(hue: np.ndarray, band) -> np.ndarray:
    start, end = band
    return (hue >= start) & (hue < end) if start <= end else (hue >= start) | (hue < end)


def _vote(hsv, saturation, value, hues, min_fraction) -> np.ndarray:
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    lit = (sat >= saturation) & (val >= value)  # bright and saturated enough to be a lamp
    votes = np.stack(  # (N, 3): lit pixels of each colour, in the order red, amber, green
        [(lit & _in_band(hue, hues[c])).sum(axis=(1, 2)) for c in LIGHT_STATES[:3]], axis=1
    )
    states = votes.argmax(axis=1)
    pixels = hue.shape[1] * hue.shape[2]
    states[votes.max(axis=1) <= min_fraction * pixels] = LIGHT_STATES.index("off")
    return states


def hsv_rule(
    crops,
    saturation: float = RULE_DEFAULTS["saturation"],
    value: float = RULE_DEFAULTS["value"],
    hues: dict = HUE_BANDS,
    min_fraction: float = RULE_DEFAULTS["min_fraction"],
) -> np.ndarray:
    """The state of each light read by a colour rule in HSV space.

    Every pixel whose saturation and value (brightness) reach the thresholds counts as
    lamp light and votes for the colour band its hue falls in; the colour with most votes
    wins, and the light is "off" when no more than ``min_fraction`` of the crop's pixels
    vote for it (0: when none does).

    Parameters
    ----------
    crops : ndarray (N, H, W, 3) of float in [0, 1]
        RGB crops, e.g. from :func:`dlcv.scenes.light_crops`.
    saturation, value : float in [0, 1]
        The least saturation and value of a lamp's pixel.
    hues : dict
        ``{"red": (start, end), "amber": ..., "green": ...}``, hue intervals as in
        :data:`HUE_BANDS`; hues outside all three (blue, purple) do not vote.
    min_fraction : float in [0, 1]
        The share of the crop's pixels the winning colour must exceed; else "off".

    Returns
    -------
    ndarray (N,) of int
        Indices into :data:`~dlcv.scenes.LIGHT_STATES`.
    """
    from skimage.color import rgb2hsv

    crops = check_crops(crops)
    saturation, value = _fraction(saturation, "saturation"), _fraction(value, "value")
    min_fraction = _fraction(min_fraction, "min_fraction")
    return _vote(rgb2hsv(crops), saturation, value, _check_hues(hues), min_fraction)


def _grid_hues(red_end: float, green_end: float) -> dict:
    return {"red": (0.9, red_end), "amber": (red_end, 0.25), "green": (0.25, green_end)}


def fit_hsv_rule(crops, states, grid: dict | None = None) -> dict:
    """The thresholds of :func:`hsv_rule` with the highest accuracy on ``crops``.

    Tries every combination of :data:`RULE_GRID` (or ``grid``, a dict of the same keys)
    and keeps the first best in the grid's order. Fit on validation crops, never on the
    crops the rule is scored on.

    Parameters
    ----------
    crops : ndarray (N, H, W, 3) of float in [0, 1]
    states : ndarray (N,) of int
        The true states (indices into :data:`~dlcv.scenes.LIGHT_STATES`).
    grid : dict, optional
        Values to try for ``saturation``, ``value``, ``min_fraction``, ``red_end`` and
        ``green_end`` (the hue where red turns amber and where green ends).

    Returns
    -------
    dict
        Keyword arguments for :func:`hsv_rule` (``saturation``, ``value``, ``hues``,
        ``min_fraction``): ``hsv_rule(crops, **fit_hsv_rule(crops, states))``.
    """
    from skimage.color import rgb2hsv

    crops = check_crops(crops)
    states = _check_states(states, len(crops))
    grid = RULE_GRID if grid is None else grid
    if not isinstance(grid, dict) or set(grid) != set(RULE_GRID):
        raise ValueError(f"grid must be a dict with the keys {sorted(RULE_GRID)}, got {grid!r}")
    hsv = rgb2hsv(crops)
    best, best_correct = None, -1
    for sat, val, frac, red_end, green_end in itertools.product(
        *(grid[key] for key in ("saturation", "value", "min_fraction", "red_end", "green_end"))
    ):
        thresholds = {
            "saturation": _fraction(sat, "saturation"),
            "value": _fraction(val, "value"),
            "hues": _check_hues(_grid_hues(red_end, green_end)),
            "min_fraction": _fraction(frac, "min_fraction"),
        }
        correct = int((_vote(hsv, **thresholds) == states).sum())
        if correct > best_correct:
            best, best_correct = thresholds, correct
    return best


# --- the network --------------------------------------------------------------------------


def light_cnn(rng=0):
    """A tiny CNN for (N, 3, 24, 12) crops: 4 class scores in the order of LIGHT_STATES.

    conv 3x3 3->8 (padding 1) -> ReLU -> max-pool 2 -> conv 3x3 8->16 (padding 1) ->
    ReLU -> max-pool 2 -> flatten (16 x 6 x 3) -> dense 288->4; 2,548 parameters.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        Seeds the He initialisation of all layers.
    """
    from dlcv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    from dlcv.validate import generator

    rng = generator(rng)
    rows, cols = CROP_SIZE
    return Sequential(
        [
            Conv2D(3, 8, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Conv2D(8, 16, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(16 * (rows // 4) * (cols // 4), len(LIGHT_STATES), rng=rng),
        ]
    )


def as_cnn_input(crops) -> np.ndarray:
    """Crops ``(N, 24, 12, 3)`` as the network's input ``(N, 3, 24, 12)`` float32."""
    crops = check_crops(crops)
    if crops.shape[1:3] != CROP_SIZE:
        raise ValueError(
            f"crops must be {CROP_SIZE[0]}x{CROP_SIZE[1]} pixels for the light CNN "
            f"(light_crops(frames, size={CROP_SIZE})), got shape {crops.shape}"
        )
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)


def predict_states(model, crops) -> np.ndarray:
    """The state the network gives each crop: indices into LIGHT_STATES, shape (N,)."""
    from dlcv.layers import Sequential
    from dlcv.train import predict

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a dlcv.layers.Sequential, got {type(model).__name__}")
    return predict(model, as_cnn_input(crops)).astype(np.int64)


def load_light_cnn():
    """The light CNN shipped with the library (``dlcv/assets/light_cnn.npz``, seed 0).

    Written by ``scripts/train_light_cnn.py``; its ``metadata`` holds the recipe, the
    scenes it learned from, its validation accuracy and the fitted HSV rule. Loaded once
    and cached: the same model object every call (do not train it in place).
    """
    return _load_light_cnn()


@functools.cache
def _load_light_cnn():
    from dlcv.data import asset_path
    from dlcv.models import load

    path = asset_path("light_cnn.npz")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python scripts/train_light_cnn.py` from the "
            "repository root to make it"
        )
    return load(path)


def load_light_results() -> tuple[list[dict], list[str]]:
    """The rows and header lines of ``light_results.csv`` (``scripts/train_light_cnn.py``)."""
    from dlcv.grid import read_results

    return read_results(["light_results.csv"], "scripts/train_light_cnn.py")[0]


# --- scoring ------------------------------------------------------------------------------


def accuracy_by_condition(predicted, states, lightings) -> dict:
    """Accuracy over all crops and over the crops of each lighting.

    Parameters
    ----------
    predicted, states : ndarray (N,) of int
        Predicted and true states (indices into LIGHT_STATES).
    lightings : array_like (N,) of str
        Each crop's lighting (the third output of :func:`dlcv.scenes.light_crops`).

    Returns
    -------
    dict
        ``{"all": {"accuracy": a, "n": n}, "day": {...}, "dusk": {...}, "glare": {...}}``,
        accuracy a fraction in [0, 1]; only the lightings present, in the order of
        :data:`~dlcv.scenes.LIGHTING` (any other label after them, sorted).
    """
    states = _check_states(states, len(np.asarray(states).reshape(-1)))
    predicted = _check_states(predicted, len(states), "predicted")
    lightings = np.asarray(lightings)
    if lightings.shape != states.shape:
        raise ValueError(
            f"lightings must have one entry per crop, shape {states.shape}, "
            f"got shape {lightings.shape}"
        )
    if len(states) == 0:
        raise ValueError("states is empty: there is nothing to score")
    correct = predicted == states
    present = set(lightings.tolist())
    groups = [g for g in LIGHTING if g in present] + sorted(present - set(LIGHTING))
    out = {"all": {"accuracy": float(correct.mean()), "n": len(correct)}}
    for group in groups:
        chosen = lightings == group
        out[group] = {"accuracy": float(correct[chosen].mean()), "n": int(chosen.sum())}
    return out
