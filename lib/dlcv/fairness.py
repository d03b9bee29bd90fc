"""Chapter 15's disaggregated evaluation: who does the digit network fail, and why.

A single accuracy hides the people (here: the writers) a model serves worst. Chapter 15
measures the course's MNIST network **by subgroup**, the way Buolamwini and Gebru (2018)
measured face classifiers by skin type and gender, and runs one controlled experiment on
what under-representation in training does and what two fixes undo.

Subgroups are defined on each digit image by a fixed rule, never by the labels:

* **stroke thickness** (:func:`stroke_thickness`): ink pixels over skeleton pixels
  (:func:`skimage.morphology.skeletonize`), the mean width of the pen stroke in pixels;
* **slant** (:func:`slant`): the shear of the ink from its second-order image moments
  (``-mu11 / mu02``, the correction that deskewing removes), in degrees, positive
  when the digit leans right.

Each is cut into three groups at its **terciles on the training part**
(:func:`group_edges`), so the three groups are equally common where the model learns and
the test part is sorted by the same edges (:func:`subgroups`).

:func:`disaggregate` is the report: accuracy, error and count per group from
``fairlearn.metrics.MetricFrame`` (the field's tool), a percentile bootstrap interval per
group (:func:`bootstrap_accuracy`, each group resampled on its own) and the largest gap
between groups with its own bootstrap interval.

:func:`representation_run` is the experiment (``ethics_representation.csv``, made by
``scripts/ethics_experiment.py``): LeNet (chapter 06's recipe, the same number of steps
in every condition) trained on four mixes of the training part (:data:`CONDITIONS`):

* ``"balanced"``: the natural mix, cut at random to the size of the next one;
* ``"under-represented"``: every digit of the other two groups, but only
  :data:`RARE_FRACTION` of the rare group's;
* ``"reweighted"``: that set with the rare group's few digits drawn again (with
  replacement) until the group has its natural count: reweighting by resampling;
* ``"augmented"``: that set plus new digits of the rare group made from the other groups'
  digits by a morphological change aimed at the rare group (:func:`towards`: grey
  dilation to thicken, erosion to thin, a shear to slant), kept only when the changed
  digit's measured attribute does land in the rare group.

Every run is scored on the validation part and, once, on the test part, by group.
Every run is a pure function of its arguments: seeded, one BLAS thread. Nothing is tuned:
the rare share, the steps, the learning rate (the shipped recipe's, chosen on validation
in chapter 06) and the strength of each morphological change were fixed before the run
(the change's strength so that most changed digits land in the rare group, checked on
training digits only); the validation columns stand beside the test ones so a reader can
see whether the two parts agree.

What the results say (the full run at commit 80fe661, ``ethics_*.csv``; test accuracy of
the rare group, mean +- standard deviation over seeds 0-2):

* **The shipped network by group**: no group is measurably worse. Test accuracy by
  thickness 97.5 / 98.2 / 97.0 % (thin / medium / thick), by slant 98.6 / 96.8 / 97.2 %
  (left / upright / right); every group's 95 % interval is about 3-4 points wide and
  they all overlap (largest gaps 1.2 and 1.8 points).
* **Right-leaning digits cut to 5 %**: 97.7 +- 0.2 % (balanced) -> 94.2 +- 1.3 %
  (validation 96.9 -> 94.3 %: both parts agree). Reweighting by resampling the 58
  remaining right-leaning digits gives back a third of the loss (95.3 +- 0.4 %);
  targeted augmentation (other digits sheared to the right) most of it (97.0 +- 1.1 %).
* **Thin digits cut to 5 %**: 96.5 +- 1.2 -> 95.0 +- 0.3 % on test, but 96.3 -> 96.9 %
  on validation: the two parts disagree, so no effect is established. Reweighting
  96.1 +- 1.0 %; thinning other digits by grey erosion does not help (95.4 +- 0.4 %).
* **Thick digits cut to 5 %**: 96.6 +- 0.7 -> 95.9 +- 0.7 %, within the seed spread: a
  negative result (augmentation 96.8 +- 0.6 %, reweighting 96.3 +- 0.5 %). A likely
  reason, not tested here: a thicker stroke still fires the same 5x5 edge filters after
  max-pooling, so the other groups already teach what thick digits need.

Why the gaps are small: the "rare" group is still present (58 digits) and its digits
differ from the others by a matter of degree; the network learns the digit shapes from
the other groups and transfers most of them. The test part holds about 330 digits per
group, so a difference under 2 points is within the noise of one seed. Measured cost:
the 36 training runs took 12-24 s each on the shared 2-core machine.
"""

from __future__ import annotations

import functools
import math
import numbers
import time

import numpy as np
from scipy import ndimage
from threadpoolctl import threadpool_limits

from dlcv.challenges import mnist_parts, recipe_schedule
from dlcv.models import LENET_MNIST_RECIPE
from dlcv.optim import Adam
from dlcv.privacy import MEMBERSHIP_COLUMNS, membership_run, shipped_membership_run
from dlcv.train import fit, predict
from dlcv.transfer import prepare
from dlcv.validate import check_choice, check_int

__all__ = [
    "ATTRIBUTES",
    "CONDITIONS",
    "Disaggregated",
    "EthicsResults",
    "FILES",
    "LIVE_CONFIG",
    "LIVE_MODEL_FILE",
    "GROUPS",
    "INK",
    "N_BOOT",
    "RARE_FRACTION",
    "REPRESENTATION_CELLS",
    "REPRESENTATION_COLUMNS",
    "RUNS",
    "STEPS",
    "SUBGROUP_COLUMNS",
    "assign_groups",
    "bootstrap_accuracy",
    "disaggregate",
    "group_edges",
    "group_examples",
    "load_ethics_results",
    "load_live_model",
    "measure",
    "representation_cell",
    "representation_run",
    "run_cell",
    "slant",
    "stroke_thickness",
    "subgroup_run",
    "subgroups",
    "subgroups_of",
    "towards",
    "training_mix",
]

# ------------------------------------------------------------------------------ settings
#: A pixel is ink when its grey value (in [0, 1]) is at least this.
INK = 0.5
#: The two measured attributes and their three groups, from low to high values.
ATTRIBUTES = ("thickness", "slant")
GROUPS = {"thickness": ("thin", "medium", "thick"), "slant": ("left", "upright", "right")}
#: Share of the rare group's training digits kept in the under-represented mix.
RARE_FRACTION = 0.05
#: The four training mixes of the experiment.
CONDITIONS = ("balanced", "under-represented", "reweighted", "augmented")
#: The (attribute, rare group) pairs of the experiment: the extremes, where a targeted
#: augmentation has a direction to push towards.
REPRESENTATION_CELLS = (("thickness", "thick"), ("thickness", "thin"), ("slant", "right"))
#: Training steps of every run (the shipped recipe's 550: 5 epochs of 3,500 digits).
STEPS = 550
#: Bootstrap resamples of the intervals.
N_BOOT = 2000
_PARTS = ("train", "val", "test")

REPRESENTATION_COLUMNS = [
    "attribute", "rare", "condition", "seed", "n_train", "n_rare", "n_synthetic", "steps",
    "val_accuracy", "val_rare", "val_others", "val_gap",
    "test_accuracy", "test_rare", "test_others", "test_gap", "test_rare_low",
    "test_rare_high", "seconds",
]  # fmt: skip


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def _images(images, name: str = "images") -> np.ndarray:
    """``(N, 28, 28)`` floats from ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` digits in [0, 1]."""
    x = np.asarray(images)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or
                                 np.issubdtype(x.dtype, np.integer)):  # fmt: skip
        raise TypeError(f"{name} must be an array of numbers, got dtype {x.dtype}")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, H, W) or (N, 1, H, W) with N >= 1, got {x.shape}"
        )
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return x


# ---------------------------------------------------------------------- the attributes
def stroke_thickness(images) -> np.ndarray:
    """Mean stroke width of each digit, in pixels: ink pixels over skeleton pixels.

    Ink is every pixel ``>= INK``; the skeleton is its one-pixel-wide medial line
    (:func:`skimage.morphology.skeletonize`). A one-pixel line gives 1; a stroke
    ``w`` pixels wide gives about ``w``. An image without ink gives 0.

    Parameters
    ----------
    images : array, shape (N, H, W) or (N, 1, H, W), values in [0, 1]

    Returns
    -------
    ndarray, shape (N,)
    """
    from skimage.morphology import skeletonize

    ink = _images(images) >= INK
    out = np.zeros(len(ink))
    for i, mask in enumerate(ink):
        length = int(skeletonize(mask).sum())
        out[i] = mask.sum() / length if length else 0.0
    return out


def slant(images) -> np.ndarray:
    """Slant of each digit in degrees from its grey-value moments; positive leans right.

    With ``x`` the column, ``y`` the row (downwards) and the central moments ``mu11``
    (covariance of ``x`` and ``y``) and ``mu02`` (variance of ``y``), a digit whose
    strokes drift right by ``s`` columns per row *upwards* has ``s = -mu11 / mu02``; the
    slant is ``degrees(arctan(s))``. An image without ink, or one row tall, gives 0.

    Parameters
    ----------
    images : array, shape (N, H, W) or (N, 1, H, W), values in [0, 1]

    Returns
    -------
    ndarray, shape (N,)
    """
    x = _images(images)
    h, w = x.shape[1:]
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    mass = x.sum(axis=(1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    my = (x * rows).sum(axis=(1, 2)) / safe
    mx = (x * cols).sum(axis=(1, 2)) / safe
    dy = rows[None] - my[:, None, None]
    dx = cols[None] - mx[:, None, None]
    mu11 = (x * dx * dy).sum(axis=(1, 2)) / safe
    mu02 = (x * dy * dy).sum(axis=(1, 2)) / safe
    ok = (mass > 0) & (mu02 > 1e-12)
    shear = np.where(ok, -mu11 / np.where(ok, mu02, 1.0), 0.0)
    return np.degrees(np.arctan(shear))


_MEASURES = {"thickness": stroke_thickness, "slant": slant}


def measure(attribute: str, images) -> np.ndarray:
    """:func:`stroke_thickness` or :func:`slant` of every image, by name (:data:`ATTRIBUTES`)."""
    return _MEASURES[check_choice(attribute, "attribute", ATTRIBUTES)](images)


@functools.cache
def _part_values(attribute: str, part: str) -> np.ndarray:
    values = measure(attribute, getattr(mnist_parts(), f"x_{part}"))
    values.setflags(write=False)
    return values


def group_edges(attribute: str) -> tuple[float, float]:
    """The two tercile edges of ``attribute`` on the course's **training** part.

    The edges are fixed by the training digits alone, so the validation and test parts
    are sorted by a rule that never saw them.
    """
    values = _part_values(check_choice(attribute, "attribute", ATTRIBUTES), "train")
    low, high = np.quantile(values, [1 / 3, 2 / 3])
    return float(low), float(high)


def assign_groups(values, edges, names) -> np.ndarray:
    """Sort ``values`` into ``len(names)`` groups at the increasing ``edges``.

    Value ``v`` goes to ``names[i]`` where ``i`` is the number of edges ``<= v`` (so an
    edge itself belongs to the group above it).

    Returns
    -------
    ndarray of str, shape (N,)
    """
    values = np.asarray(values, dtype=float)
    edges = np.asarray(edges, dtype=float)
    names = tuple(names)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(f"values must be a finite 1-d array, got shape {values.shape}")
    if edges.ndim != 1 or not np.isfinite(edges).all() or np.any(np.diff(edges) < 0):
        raise ValueError(f"edges must be finite and increasing, got {edges.tolist()}")
    if len(names) != len(edges) + 1 or len(set(names)) != len(names):
        raise ValueError(
            f"names must be {len(edges) + 1} different names for {len(edges)} edges, got {names}"
        )
    return np.array(names)[np.searchsorted(edges, values, side="right")]


def subgroups(attribute: str, part: str) -> np.ndarray:
    """The group (:data:`GROUPS`) of every digit of a course part (``"train"``, ``"val"``,
    ``"test"``), by the training part's terciles of ``attribute``."""
    check_choice(part, "part", _PARTS)
    values = _part_values(check_choice(attribute, "attribute", ATTRIBUTES), part)
    return assign_groups(values, group_edges(attribute), GROUPS[attribute])


def group_examples(attribute: str, part: str = "test", per_group: int = 8, seed: int = 0):
    """A few digits of each group of ``attribute`` in a course part, for pictures.

    Returns
    -------
    dict
        group name -> ``(images (per_group, 28, 28), values (per_group,))``, sorted by the
        attribute's value, drawn at random (``seed``) from the group.
    """
    attribute = check_choice(attribute, "attribute", ATTRIBUTES)
    per_group, seed = check_int(per_group, "per_group", 1), check_int(seed, "seed", 0)
    x = getattr(mnist_parts(), f"x_{check_choice(part, 'part', _PARTS)}")[:, 0]
    values, groups = _part_values(attribute, part), subgroups(attribute, part)
    rng = np.random.default_rng(seed)
    out = {}
    for g in GROUPS[attribute]:
        idx = np.flatnonzero(groups == g)
        pick = rng.choice(idx, size=min(per_group, len(idx)), replace=False)
        pick = pick[np.argsort(values[pick])]
        out[g] = (x[pick], values[pick])
    return out


# ------------------------------------------------------------- disaggregated evaluation
def _check_correct(correct) -> np.ndarray:
    c = np.asarray(correct)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"correct must be a non-empty 1-d array, got shape {c.shape}")
    if c.dtype != bool and not np.isin(c, (0, 1)).all():
        raise ValueError("correct must hold True/False (or 1/0): one per image, right or wrong")
    return c.astype(np.float64)


def _check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(level)


def bootstrap_accuracy(correct, *, n_boot: int = N_BOOT, level: float = 0.95, rng=0):
    """Percentile bootstrap interval of the accuracy of one group.

    ``n_boot`` times, draw ``len(correct)`` images with replacement and take their
    accuracy; the interval holds the central ``level`` of those accuracies.

    Parameters
    ----------
    correct : array of bool, shape (N,)
        One per image: was it classified right.
    n_boot : int
    level : float in (0, 1)
    rng : None, int or numpy.random.Generator

    Returns
    -------
    low, high : float
    """
    from dlcv.validate import generator

    c = _check_correct(correct)
    n_boot, level = check_int(n_boot, "n_boot", 1), _check_level(level)
    draws = generator(rng).integers(0, len(c), size=(n_boot, len(c)))
    means = c[draws].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


class Disaggregated:
    """The result of :func:`disaggregate`.

    Attributes
    ----------
    groups : tuple of str
        In the order given (or sorted).
    accuracy, error, count, low, high : dict
        Per group: accuracy, error (``1 - accuracy``), images, bootstrap interval.
    overall : float
        Accuracy over all images.
    gap : float
        Largest accuracy difference between two groups (fairlearn's ``difference()``).
    gap_low, gap_high : float
        Bootstrap interval of the gap (each group resampled on its own).
    frame : fairlearn.metrics.MetricFrame
        The frame itself, for anything else.
    """

    def __init__(self, frame, groups, low, high, gap_interval):
        by = frame.by_group
        self.frame, self.groups = frame, tuple(groups)
        self.accuracy = {g: float(by.loc[g, "accuracy"]) for g in self.groups}
        self.error = {g: float(by.loc[g, "error"]) for g in self.groups}
        self.count = {g: int(by.loc[g, "count"]) for g in self.groups}
        self.low, self.high = low, high
        self.overall = float(frame.overall["accuracy"])
        self.gap = float(frame.difference(method="between_groups")["accuracy"])
        self.gap_low, self.gap_high = gap_interval

    def rows(self) -> list[dict]:
        """One dict per group: group, count, accuracy, error, low, high."""
        return [{"group": g, "count": self.count[g], "accuracy": self.accuracy[g],
                 "error": self.error[g], "low": self.low[g], "high": self.high[g]}
                for g in self.groups]  # fmt: skip

    def __repr__(self) -> str:
        parts = ", ".join(f"{g}: {self.accuracy[g]:.3f} (n={self.count[g]})" for g in self.groups)
        return f"Disaggregated({parts}; gap {self.gap:.3f})"


def _error(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) != np.asarray(y_pred)))


def disaggregate(y_true, y_pred, groups, *, order=None, n_boot: int = N_BOOT,
                 level: float = 0.95, rng=0) -> Disaggregated:  # fmt: skip
    """Accuracy, error and count by group (``fairlearn.metrics.MetricFrame``), with
    bootstrap intervals per group and for the largest gap.

    Parameters
    ----------
    y_true, y_pred : array of int, shape (N,)
    groups : array of str, shape (N,)
        The subgroup of every image (e.g. :func:`subgroups`).
    order : sequence of str, optional
        The groups in the order to report (default: sorted). Each must occur.
    n_boot, level, rng
        As in :func:`bootstrap_accuracy`; the same resamples give the gap's interval.

    Returns
    -------
    Disaggregated
    """
    from fairlearn.metrics import MetricFrame, count
    from sklearn.metrics import accuracy_score

    from dlcv.validate import generator

    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    if not (y_true.ndim == y_pred.ndim == groups.ndim == 1) or not (
        len(y_true) == len(y_pred) == len(groups) > 0
    ):
        raise ValueError(
            "y_true, y_pred and groups must be 1-d and of one non-zero length, got shapes "
            f"{y_true.shape}, {y_pred.shape} and {groups.shape}"
        )
    present = sorted(set(groups.tolist()))
    order = present if order is None else list(order)
    missing = [g for g in order if g not in present]
    extra = [g for g in present if g not in order]
    if missing or extra or len(set(order)) != len(order):
        raise ValueError(
            f"order must name every group once: groups present {present}, order {order}"
        )
    n_boot, level = check_int(n_boot, "n_boot", 1), _check_level(level)
    frame = MetricFrame(
        metrics={"accuracy": accuracy_score, "error": _error, "count": count},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    rng = generator(rng)
    correct = y_true == y_pred
    low, high, boots = {}, {}, []
    for g in order:
        c = correct[groups == g].astype(np.float64)
        means = c[rng.integers(0, len(c), size=(n_boot, len(c)))].mean(axis=1)
        low[g], high[g] = (float(q) for q in np.quantile(means, [(1 - level) / 2,
                                                                  (1 + level) / 2]))  # fmt: skip
        boots.append(means)
    boots = np.array(boots)
    gaps = boots.max(axis=0) - boots.min(axis=0)
    gap_interval = tuple(float(q) for q in np.quantile(gaps, [(1 - level) / 2, (1 + level) / 2]))
    return Disaggregated(frame, order, low, high, gap_interval)


# ------------------------------------------------------------ the under-representation run
def _check_cell(attribute, rare) -> tuple[str, str]:
    attribute = check_choice(attribute, "attribute", ATTRIBUTES)
    rare = check_choice(rare, "rare", GROUPS[attribute])
    return attribute, rare


def _check_fraction(fraction) -> float:
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, numbers.Real)
        or not (0 < fraction <= 1)
    ):
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    return float(fraction)


#: The morphological change that moves a digit towards each extreme group.
_TOWARDS = {
    "thick": "grey dilation, 2x2",
    "thin": "grey erosion, 2x2 (digits that lose all ink are dropped)",
    "right": "shear leaning right by 0.3 columns per row",
    "left": "shear leaning left by 0.3 columns per row",
}


def towards(group: str, images) -> np.ndarray:
    """The digits changed towards ``group`` (``"thick"``, ``"thin"``, ``"right"``, ``"left"``).

    Thicker: grey dilation (a 2x2 maximum); thinner: grey erosion (a 2x2 minimum);
    slanted: an affine shear of 0.3 columns per row about the image centre, bilinear.
    Labels do not change: a thicker 3 is still a 3.

    Returns
    -------
    ndarray, shape (N, 28, 28), values in [0, 1]
    """
    check_choice(group, "group", tuple(_TOWARDS))
    x = _images(images)
    if group == "thick":
        return np.stack([ndimage.grey_dilation(im, size=(2, 2)) for im in x])
    if group == "thin":
        return np.stack([ndimage.grey_erosion(im, size=(2, 2)) for im in x])
    shear = 0.3 if group == "right" else -0.3
    h = x.shape[1]
    centre = (h - 1) / 2
    # output (row, col) samples input (row, col + shear * (row - centre)): rows below the
    # centre take ink from the right, so the top of the digit moves right.
    matrix = np.array([[1.0, 0.0], [shear, 1.0]])
    offset = np.array([0.0, -shear * centre])
    out = np.stack([ndimage.affine_transform(im, matrix, offset=offset, order=1) for im in x])
    return np.clip(out, 0.0, 1.0)


def training_mix(attribute: str, rare: str, condition: str, seed: int, *,
                 fraction: float = RARE_FRACTION):  # fmt: skip
    """The training digits of one condition of :func:`representation_run`.

    Returns
    -------
    x : ndarray, shape (M, 1, 28, 28)
    y : ndarray of int, shape (M,)
    info : dict
        ``n_rare`` (rare-group digits in the mix, repeats counted), ``n_synthetic``
        (changed digits added).
    """
    attribute, rare = _check_cell(attribute, rare)
    condition = check_choice(condition, "condition", CONDITIONS)
    seed, fraction = check_int(seed, "seed", 0), _check_fraction(fraction)
    parts = mnist_parts()
    groups = subgroups(attribute, "train")
    rng = np.random.default_rng([seed, 15])
    rare_idx = np.flatnonzero(groups == rare)
    other_idx = np.flatnonzero(groups != rare)
    kept = rng.choice(rare_idx, size=max(1, round(fraction * len(rare_idx))), replace=False)
    cut = np.sort(np.concatenate([other_idx, kept]))
    n_synthetic = 0
    if condition == "balanced":
        idx = np.sort(rng.choice(len(groups), size=len(cut), replace=False))
        x, y = parts.x_train[idx], parts.y_train[idx]
        n_rare = int(np.sum(groups[idx] == rare))
    elif condition == "under-represented":
        x, y, n_rare = parts.x_train[cut], parts.y_train[cut], len(kept)
    elif condition == "reweighted":
        extra = rng.choice(kept, size=len(rare_idx) - len(kept), replace=True)
        idx = np.concatenate([cut, extra])
        x, y, n_rare = parts.x_train[idx], parts.y_train[idx], len(rare_idx)
    else:
        need = len(rare_idx) - len(kept)
        source = rng.permutation(other_idx)
        changed = towards(rare, parts.x_train[source])
        lands = subgroups_of(attribute, changed) == rare
        if attribute == "thickness" and rare == "thin":
            lands &= (changed >= INK).any(axis=(1, 2))
        chosen = np.flatnonzero(lands)[:need]
        n_synthetic = len(chosen)
        x = np.concatenate([parts.x_train[cut], changed[chosen][:, None]])
        y = np.concatenate([parts.y_train[cut], parts.y_train[source[chosen]]])
        n_rare = len(kept) + n_synthetic
    return x.astype(parts.x_train.dtype), y, {"n_rare": int(n_rare), "n_synthetic": n_synthetic}


def subgroups_of(attribute: str, images) -> np.ndarray:
    """The group of any digits by the training part's terciles of ``attribute``."""
    attribute = check_choice(attribute, "attribute", ATTRIBUTES)
    return assign_groups(measure(attribute, images), group_edges(attribute), GROUPS[attribute])


def _scores(model, part: str, attribute: str, rare: str, *, n_boot: int, seed: int) -> dict:
    parts = mnist_parts()
    x, y = getattr(parts, f"x_{part}"), getattr(parts, f"y_{part}")
    groups = subgroups(attribute, part)
    with threadpool_limits(1):
        pred = predict(model, x)
    result = disaggregate(y, pred, groups, order=GROUPS[attribute], n_boot=n_boot, rng=seed)
    others = groups != rare
    return {
        "accuracy": result.overall,
        "rare": result.accuracy[rare],
        "others": float(np.mean(pred[others] == y[others])),
        "gap": result.gap,
        "rare_low": result.low[rare],
        "rare_high": result.high[rare],
    }


def representation_run(attribute: str, rare: str, condition: str, seed: int = 0, *,
                       fraction: float = RARE_FRACTION, steps: int = STEPS,
                       n_boot: int = N_BOOT, save_to=None) -> dict:  # fmt: skip
    """One row of ``ethics_representation.csv``: LeNet trained on one mix, scored by group.

    The network is chapter 06's LeNet (channels 16 and 32) from random weights
    (``seed``), trained with the shipped recipe's learning rate (5e-3, chosen on
    validation in chapter 06) and its decay kept *in steps* (:func:`dlcv.challenges.
    recipe_schedule`) for about ``steps`` steps, whatever the size of the mix, so no
    condition gets more training than another. The mix is :func:`training_mix`.

    Returns
    -------
    dict
        The keys of :data:`REPRESENTATION_COLUMNS`: accuracy overall, of the rare group,
        of the other two groups together and the largest gap between the three groups
        (fairlearn's ``difference``), on validation and on test; the rare group's test
        bootstrap interval.

    ``save_to``: a path where the trained network is written (:func:`dlcv.models.save`),
    with the run's configuration in its record (:func:`representation_cell` re-scores it).
    """
    attribute, rare = _check_cell(attribute, rare)
    condition = check_choice(condition, "condition", CONDITIONS)
    seed, steps = check_int(seed, "seed", 0), check_int(steps, "steps", 1)
    start = time.perf_counter()
    x, y, info = training_mix(attribute, rare, condition, seed, fraction=fraction)
    batch, epochs, decay = recipe_schedule(len(x), steps)
    model = prepare("scratch", seed=seed)
    fit(model, x, y, epochs=epochs, batch_size=batch, optimizer=Adam(LENET_MNIST_RECIPE["lr"]),
        lr_decay=decay, seed=seed, verbose=False)  # fmt: skip
    val = _scores(model, "val", attribute, rare, n_boot=n_boot, seed=seed)
    test = _scores(model, "test", attribute, rare, n_boot=n_boot, seed=seed)
    if save_to is not None:
        from dlcv.grid import library_version
        from dlcv.models import save

        save(model, save_to, {
            "what": "LeNet of chapter 15's under-representation experiment "
            "(dlcv.fairness.representation_run)",
            "config": {"attribute": attribute, "rare": rare, "condition": condition,
                       "seed": seed, "fraction": fraction, "steps": steps, "n_boot": n_boot},
            "data": "a mix of the training part of dlcv.data.load_mnist_splits() "
            "(dlcv.fairness.training_mix)", "library": library_version(),
        })  # fmt: skip
    return {
        "attribute": attribute, "rare": rare, "condition": condition, "seed": seed,
        "n_train": len(x), **info, "steps": epochs * math.ceil(len(x) / batch),
        **{f"val_{k}": v for k, v in val.items() if k in ("accuracy", "rare", "others", "gap")},
        **{f"test_{k}": v for k, v in test.items()}, "seconds": _since(start),
    }  # fmt: skip


# ------------------------------------------------------------------- the shipped network
SUBGROUP_COLUMNS = ["attribute", "group", "part", "lower", "upper", "count", "accuracy",
                    "error", "low", "high", "gap", "gap_low", "gap_high"]  # fmt: skip


def subgroup_run(attribute: str, part: str = "test", *, n_boot: int = N_BOOT,
                 model=None) -> list[dict]:  # fmt: skip
    """Rows of ``ethics_subgroups.csv``: the shipped network (or ``model``) by group.

    One row per group of ``attribute`` on ``part`` (``"val"`` or ``"test"``): the group's
    range of the attribute (``lower`` <= value < ``upper``; blank at the open ends),
    count, accuracy, error and bootstrap interval (:func:`disaggregate`, seed 0), and the
    largest gap between the groups with its interval (the same on every row).
    """
    from dlcv.models import load_lenet_mnist

    attribute = check_choice(attribute, "attribute", ATTRIBUTES)
    part = check_choice(part, "part", ("val", "test"))
    model = load_lenet_mnist() if model is None else model
    parts = mnist_parts()
    with threadpool_limits(1):
        pred = predict(model, getattr(parts, f"x_{part}"))
    result = disaggregate(getattr(parts, f"y_{part}"), pred, subgroups(attribute, part),
                          order=GROUPS[attribute], n_boot=n_boot, rng=0)  # fmt: skip
    bounds = ["", *group_edges(attribute), ""]
    return [{"attribute": attribute, "group": g, "part": part, "lower": bounds[i],
             "upper": bounds[i + 1], "count": result.count[g], "accuracy": result.accuracy[g],
             "error": result.error[g], "low": result.low[g], "high": result.high[g],
             "gap": result.gap, "gap_low": result.gap_low, "gap_high": result.gap_high}
            for i, g in enumerate(GROUPS[attribute])]  # fmt: skip


# ------------------------------------------------------------------------ the live cells
#: The network shipped with the results: seed 0 of ``LIVE_CONFIG`` (written by the script).
LIVE_MODEL_FILE = "ethics_underrepresented.npz"
#: The run whose network is shipped: the cell the trial runs showed the largest gap in.
LIVE_CONFIG = {"attribute": "slant", "rare": "right", "condition": "under-represented",
               "seed": 0}  # fmt: skip


def load_live_model():
    """The network of :data:`LIVE_CONFIG` shipped in ``dlcv/assets`` (its record holds the
    configuration it was trained with)."""
    import importlib.resources
    from pathlib import Path

    from dlcv.models import load

    path = Path(str(importlib.resources.files("dlcv") / "assets" / LIVE_MODEL_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python scripts/ethics_experiment.py` "
                                "from the repository root to make it")  # fmt: skip
    return load(path)


def representation_cell(model=None) -> dict:
    """The row of :data:`LIVE_CONFIG` re-made live without training: the mix is rebuilt
    (:func:`training_mix`), the shipped network (or ``model``) re-scored by group on the
    validation and test parts. Equal to the file's row but for ``seconds``. About 2 s."""
    model = load_live_model() if model is None else model
    config = model.metadata.get("config")
    if config is None:
        raise ValueError("the model has no 'config' in its record: it was not written by "
                         "dlcv.fairness.representation_run(save_to=...)")  # fmt: skip
    attribute, rare, condition = config["attribute"], config["rare"], config["condition"]
    seed = config["seed"]
    start = time.perf_counter()
    x, _, info = training_mix(attribute, rare, condition, seed, fraction=config["fraction"])
    batch, epochs, _ = recipe_schedule(len(x), config["steps"])
    val = _scores(model, "val", attribute, rare, n_boot=config["n_boot"], seed=seed)
    test = _scores(model, "test", attribute, rare, n_boot=config["n_boot"], seed=seed)
    return {
        "attribute": attribute, "rare": rare, "condition": condition, "seed": seed,
        "n_train": len(x), **info, "steps": epochs * math.ceil(len(x) / batch),
        **{f"val_{k}": v for k, v in val.items() if k in ("accuracy", "rare", "others", "gap")},
        **{f"test_{k}": v for k, v in test.items()}, "seconds": _since(start),
    }  # fmt: skip


RUNS = {
    "subgroups": subgroup_run,
    "representation": representation_run,
    "membership": membership_run,
    "shipped_membership": shipped_membership_run,
}
"""The run function of each kind of run of the script (both membership runs fill
``ethics_membership.csv``)."""


def run_cell(table: str, **config):
    """One run of ``scripts/ethics_experiment.py``: ``"subgroups"`` (rows of
    :func:`subgroup_run`), ``"representation"`` (:func:`representation_run`),
    ``"membership"`` (:func:`dlcv.privacy.membership_run`) or ``"shipped_membership"``
    (:func:`dlcv.privacy.shipped_membership_run`); always a list of rows."""
    check_choice(table, "table", tuple(RUNS))
    out = RUNS[table](**config)
    return out if isinstance(out, list) else [out]


# ------------------------------------------------------------------------ the results
#: The three files of ``scripts/ethics_experiment.py``: table name -> (file, columns).
FILES = {
    "subgroups": ("ethics_subgroups.csv", SUBGROUP_COLUMNS),
    "representation": ("ethics_representation.csv", REPRESENTATION_COLUMNS),
    "membership": ("ethics_membership.csv", MEMBERSHIP_COLUMNS),
}
#: What the columns that are not finite numbers hold (:func:`dlcv.grid.check_rows`).
_KINDS = {
    **{c: ("text",) for c in ("attribute", "group", "part", "rare", "condition", "model")},
    "lower": ("blank", "number"), "upper": ("blank", "number"),
    "threshold": ("blank", "number", "-inf"),
}  # fmt: skip


class EthicsResults:
    """The three CSV files of ``scripts/ethics_experiment.py``, read back.

    ``tables`` maps ``"subgroups"``, ``"representation"`` and ``"membership"`` to their
    rows (numbers converted, blank fields ``""``); ``headers`` each file's comment lines
    (command, date, commit, machine, settings); ``commit`` the library's commit of the run.
    """

    def __init__(self, tables: dict[str, list[dict]], headers: dict[str, list[str]]):
        self.tables, self.headers = tables, headers
        lines = [h for h in headers["subgroups"] if h.startswith("library: ")]
        self.commit = lines[0].removeprefix("library: ") if lines else ""

    def rows(self, table: str, **where) -> list[dict]:
        """The rows of ``table`` whose columns equal ``where`` (e.g. ``condition="balanced"``)."""
        check_choice(table, "table", tuple(FILES))
        for key in where:
            check_choice(key, "column", FILES[table][1])
        return [r for r in self.tables[table] if all(r[k] == v for k, v in where.items())]

    def summary(self, table: str, column: str, **where) -> tuple[float, float, int]:
        """Mean, standard deviation (``ddof=1``; 0 for one row) and number of rows of
        ``column`` over the rows matching ``where`` (e.g. over seeds)."""
        check_choice(column, "column", FILES[table][1])
        values = np.array([r[column] for r in self.rows(table, **where)], dtype=float)
        if len(values) == 0:
            raise ValueError(f"no row of {table} matches {where}")
        spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        return float(values.mean()), spread, len(values)

    def representation(self, attribute: str, rare: str, part: str = "test") -> dict:
        """Per condition of :data:`CONDITIONS`: mean and spread over seeds (as
        :meth:`summary`) of the rare group's accuracy, the other groups' and the largest
        gap on ``part`` (``"val"`` or ``"test"``), and the drop of the rare group from
        ``"balanced"`` (mean over seeds). What the chapter's widget shows for one choice
        of split and training mix."""
        attribute, rare = _check_cell(attribute, rare)
        part = check_choice(part, "part", ("val", "test"))
        out = {}
        for condition in CONDITIONS:
            where = {"attribute": attribute, "rare": rare, "condition": condition}
            out[condition] = {
                key: self.summary("representation", f"{part}_{key}", **where)
                for key in ("rare", "others", "gap")
            }
        base = out["balanced"]["rare"][0]
        for condition in CONDITIONS:
            out[condition]["drop"] = base - out[condition]["rare"][0]
        return out

    def compare(
        self,
        attribute: str,
        rare: str,
        condition: str,
        against: str = "balanced",
        part: str = "test",
        level: float = 0.05,
    ) -> dict:
        """Is the rare group's accuracy under ``condition`` different from ``against``?

        Over the seeds of each mix, Welch's t-test (:func:`scipy.stats.ttest_ind_from_stats`,
        unequal variances). Returns ``difference`` (``condition`` minus ``against``, as a
        fraction), ``p`` and ``established`` (``p < level``). The seeds vary the training
        (the mix drawn, the initial weights, the batches); both mixes are scored on the
        same digits, so the test sample's own noise is not part of the spread.
        """
        from scipy.stats import ttest_ind_from_stats

        condition = check_choice(condition, "condition", CONDITIONS)
        against = check_choice(against, "against", CONDITIONS)
        summary = self.representation(attribute, rare, part)
        (m1, s1, n1), (m2, s2, n2) = summary[condition]["rare"], summary[against]["rare"]
        if s1 == 0 and s2 == 0 or min(n1, n2) < 2:
            p = 1.0 if m1 == m2 or min(n1, n2) < 2 else 0.0
        else:
            p = float(ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False).pvalue)
        return {"difference": m1 - m2, "p": p, "established": bool(p < level)}


def load_ethics_results(folder=None) -> EthicsResults:
    """The three tables, from the package's assets or from ``folder``.

    A missing file raises ``FileNotFoundError`` naming ``scripts/ethics_experiment.py``;
    a damaged one (a column lost, no rows, a number that is text or not finite, an empty
    name) raises ``ValueError`` naming the file, the row and the column.
    """
    from dlcv.grid import check_rows, read_results

    read = read_results([name for name, _ in FILES.values()], "scripts/ethics_experiment.py",
                        folder)  # fmt: skip
    tables, headers = {}, {}
    for (table, (name, columns)), (rows, header) in zip(FILES.items(), read, strict=True):
        check_rows(name, rows, columns, _KINDS, "scripts/ethics_experiment.py")
        tables[table], headers[table] = rows, header
    return EthicsResults(tables, headers)
