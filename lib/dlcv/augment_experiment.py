"""Chapter 07's experiments: training runs with and without augmentation, and shift curves.

Both use the course's fixed parts, :func:`dlcv.data.load_mnist_splits` (3,500 training,
500 validation and 1,000 test digits): networks learn from the training part only, every
run is scored on the validation part, and the test part is scored too but only reported.

* :func:`train_run` trains the LeNet-style CNN of :func:`dlcv.models.lenet` on a
  stratified subset (100, 300 or 1,000 images) of the training part, with one of the
  :data:`SETTINGS`: no augmentation, random shifts, label-preserving augmentation (small
  rotations, zooms and shifts; no flips) drawn afresh every epoch or drawn once before
  training, or three coin flips per image (a transpose, a left-right and a top-bottom
  flip). One row of ``assets/augmentation_experiment.csv`` (:func:`load_results`).
* :func:`shift_run` trains the network of chapter 06 with its recipe
  (:data:`dlcv.models.LENET_MNIST_RECIPE`) on all 3,500 training digits, with or without
  augmentation, and measures its validation accuracy on digits moved by 0 to 6 pixels
  (:func:`dlcv.shift.accuracy_under_shift`). Rows of ``assets/augmentation_shifts.csv``
  (:func:`load_shift_results`).

``scripts/augmentation_experiment.py`` runs both grids and writes both files; chapter 07
reads them and re-runs some rows live to check them.

Fairness: for a given seed, every setting gets the same subset, the same initial weights,
the same order of mini-batches and the same number of gradient steps; the only difference
is what the augmentation does to the images (``fit(..., transform=...)``, with a random
generator of its own, so adding it does not change the order of the mini-batches).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from dlcv.augment import Compose, RandomRotation, RandomScale, RandomTranslation
from dlcv.models import LENET_MNIST_RECIPE, lenet
from dlcv.optim import Adam
from dlcv.shift import accuracy_under_shift
from dlcv.train import evaluate, fit

__all__ = [
    "COLUMNS",
    "MAX_SHIFT",
    "ONCE",
    "PIPELINE",
    "SETTINGS",
    "SHIFTS",
    "SHIFT_COLUMNS",
    "SHIFT_DISTANCES",
    "SHIFT_SETTINGS",
    "Results",
    "ShiftResults",
    "coin_flips",
    "load_results",
    "load_shift_results",
    "shift_run",
    "stratified_subset",
    "train_run",
]

SIZES = (100, 300, 1000)
SEEDS = (0, 1, 2, 3, 4)
STEPS = 750
BATCH_SIZE = 20
LR = 1e-3
COLUMNS = (
    "n_train",
    "augmentation",
    "seed",
    "epochs",
    "steps",
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "seconds",
)

MAX_SHIFT = 3
"""Largest random shift (pixels, per axis) of the ``"shifts"`` setting: it keeps nearly all
of a centred MNIST digit's ink inside the 28x28 frame."""

# Label-preserving for digits: up to ±15 degrees, ±10 % zoom, ±2 pixels; no flips.
PIPELINE = Compose([RandomRotation(15), RandomScale(0.9, 1.1), RandomTranslation(2)])
SHIFTS = Compose([RandomTranslation(MAX_SHIFT)])


def coin_flips(x, rng, layout="NCHW"):
    """Three coin flips per image of a batch (N, C, H, W) of square images: a transpose,
    a left-right flip and a top-bottom flip, each with probability 1/2 (so each of the
    eight symmetries of a square with probability 1/8)."""
    x = x.copy()
    flips = (lambda a: a.swapaxes(-1, -2), lambda a: a[..., ::-1], lambda a: a[..., ::-1, :])
    for flip in flips:
        chosen = rng.random(len(x)) < 0.5
        x[chosen] = flip(x[chosen])
    return x


SETTINGS = {
    "none": None,
    "shifts": SHIFTS,
    "label-preserving": PIPELINE,
    "label-preserving once": PIPELINE,
    "flips": Compose([coin_flips]),
}
"""The ways of training compared: no augmentation; random shifts of up to
:data:`MAX_SHIFT` pixels; the label-preserving pipeline, drawn afresh every epoch or
(``"label-preserving once"``, see :data:`ONCE`) once before training; and three coin flips
(which turn or mirror seven digits in eight)."""

ONCE = frozenset({"label-preserving once"})
"""Settings whose augmentation is drawn once, before training, and reused in every epoch
(a common mistake); the copy equals the first epoch's copy of the per-epoch setting."""

SHIFT_SETTINGS = ("none", "shifts", "label-preserving")
"""The settings of :func:`shift_run` (the shift curves)."""
SHIFT_DISTANCES = tuple(range(7))
"""Distances (pixels) at which :func:`shift_run` measures accuracy."""
SHIFT_COLUMNS = ("augmentation", "seed", "direction", "shift", "val_accuracy")


def _check_setting(augmentation, allowed) -> None:
    if augmentation not in allowed:
        raise ValueError(f"augmentation must be one of {list(allowed)}, got {augmentation!r}")


def _check_parts(data) -> None:
    if not all(hasattr(data, a) for a in ("x_train", "x_val", "x_test")):
        raise TypeError(
            "data must be the course's three parts, dlcv.data.load_mnist_splits() "
            f"(x_train, x_val, x_test, ...), got {type(data).__name__}"
        )


def _augmentation_rng(seed: int) -> np.random.Generator:
    """The generator handed to the augmentation: its own, so batches keep their order."""
    return np.random.default_rng([seed, 7])


def stratified_subset(x, y, n, seed):
    """``n`` images, classes in the proportions of ``y`` (10 per class for n = 100)."""
    if n >= len(y):
        return x, y
    index, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return x[index], y[index]


def train_run(data, n_train, augmentation, seed, steps=STEPS, batch_size=BATCH_SIZE, lr=LR):
    """Train one CNN on a subset of the training part; return its CSV row and the model.

    Parameters
    ----------
    data : ThreeWaySplit
        :func:`dlcv.data.load_mnist_splits`; the subset is drawn from ``x_train`` only.
    n_train : int
        Images in the stratified subset (chosen by ``seed``).
    augmentation : str
        A key of :data:`SETTINGS`.
    seed : int
        Seeds the subset, the initial weights, the mini-batches and the augmentation.
    steps, batch_size, lr : int, int, float
        ``steps * batch_size`` must be a whole number of epochs of ``n_train`` images.

    Returns
    -------
    row : dict
        The keys of :data:`COLUMNS`; accuracies as fractions. Training accuracy and loss
        are measured on the un-augmented subset, validation and test on their parts.
    model : Sequential

    Runs with one BLAS thread: matrix products then add up in the same order on every
    run, so the same arguments give the same weights bit for bit (with two threads the
    last bits can differ), and on a busy machine it is also faster.
    """
    _check_parts(data)
    _check_setting(augmentation, SETTINGS)
    x, y = stratified_subset(data.x_train, data.y_train, n_train, seed)
    if steps * batch_size % n_train:
        raise ValueError(
            f"steps * batch_size ({steps * batch_size}) must be a multiple of n_train ({n_train})"
        )
    epochs = steps * batch_size // n_train
    model, optimizer = lenet(rng=seed), Adam(lr)
    transform, images = SETTINGS[augmentation], x
    start = time.perf_counter()
    with threadpool_limits(1):
        if augmentation in ONCE:  # one augmented copy, reused in every epoch
            images, transform = transform(x, _augmentation_rng(seed)), None
        fit(
            model,
            images,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            seed=seed,
            transform=transform,
            transform_rng=_augmentation_rng(seed),
            verbose=False,
        )
        train_loss, train_acc = evaluate(model, x, y)
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
    row = {
        "n_train": n_train,
        "augmentation": augmentation,
        "seed": seed,
        "epochs": epochs,
        "steps": steps,
        "train_accuracy": train_acc,
        "val_accuracy": val_acc,
        "test_accuracy": test_acc,
        "train_loss": round(float(train_loss), 6),
        "val_loss": round(float(val_loss), 6),
        "test_loss": round(float(test_loss), 6),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return row, model


def shift_run(data, augmentation, seed, shifts=SHIFT_DISTANCES):
    """Chapter 06's network and recipe, with an augmentation; accuracy on shifted digits.

    Trains :func:`dlcv.models.lenet` with :data:`dlcv.models.LENET_MNIST_RECIPE` (its
    channels, epochs, batch size, learning rate and decay; ``seed`` for the weights and
    the mini-batches) on all of the training part, with the augmentation of
    :data:`SETTINGS` drawn afresh every epoch, then measures the accuracy on the
    validation part moved by each distance in ``shifts`` to the right, left, down and up
    (zero fill). With ``"none"`` and seed 0 this is the network shipped with the library.

    Returns
    -------
    rows : list of dict
        One per direction and distance, with the keys of :data:`SHIFT_COLUMNS`.
    model : Sequential
    """
    _check_parts(data)
    _check_setting(augmentation, SHIFT_SETTINGS)
    recipe = LENET_MNIST_RECIPE
    model = lenet(channels=tuple(recipe["channels"]), rng=seed)
    with threadpool_limits(1):
        fit(
            model,
            data.x_train,
            data.y_train,
            epochs=recipe["epochs"],
            batch_size=recipe["batch_size"],
            optimizer=Adam(recipe["lr"]),
            lr_decay=recipe["lr_decay"],
            seed=seed,
            transform=SETTINGS[augmentation],
            transform_rng=_augmentation_rng(seed),
            verbose=False,
        )
        measured = accuracy_under_shift(model, data.x_val, data.y_val, shifts)
    rows = [
        {
            "augmentation": augmentation,
            "seed": seed,
            "direction": direction,
            "shift": d,
            "val_accuracy": float(a),
        }
        for direction, accuracy in measured.accuracy.items()
        for d, a in zip(measured.shifts, accuracy, strict=True)
    ]
    return rows, model


def _read(path: Path, columns, ints, texts) -> tuple[list[str], list[dict]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    missing = set(columns) - set(rows[0] if rows else ())
    if missing:
        raise ValueError(f"{path} is not the experiment's CSV: columns {sorted(missing)} missing")
    for row in rows:
        for key in columns:
            if key not in texts:
                row[key] = int(row[key]) if key in ints else float(row[key])
    return header, rows


@dataclass(frozen=True)
class Results:
    """The experiment's CSV, read back: the comment lines and one dict per run.

    Attributes
    ----------
    header : list of str
        The ``#`` lines at the top (command, date, library version, machine, settings).
    runs : list of dict
        One per training run, with the keys of :data:`COLUMNS`; counts as ints,
        accuracies, losses and seconds as floats.
    """

    header: list[str]
    runs: list[dict]

    def values(self, n_train: int, augmentation: str, column: str = "val_accuracy"):
        """One value per seed, in seed order, for a training size and a setting."""
        if column not in COLUMNS:
            raise ValueError(f"column must be one of {COLUMNS}, got {column!r}")
        chosen = sorted(
            (r for r in self.runs if r["n_train"] == n_train and r["augmentation"] == augmentation),
            key=lambda r: r["seed"],
        )
        if not chosen:
            raise ValueError(f"no run with n_train={n_train} and augmentation={augmentation!r}")
        return np.array([r[column] for r in chosen])


@dataclass(frozen=True)
class ShiftResults:
    """The shift-curve CSV, read back.

    Attributes
    ----------
    header : list of str
        The ``#`` lines at the top.
    rows : list of dict
        One per setting, seed, direction and distance (keys of :data:`SHIFT_COLUMNS`).
    """

    header: list[str]
    rows: list[dict]

    @property
    def shifts(self) -> tuple[int, ...]:
        """The distances measured, in pixels."""
        return tuple(sorted({r["shift"] for r in self.rows}))

    def seeds(self, augmentation: str) -> tuple[int, ...]:
        """The seeds of one setting."""
        return tuple(sorted({r["seed"] for r in self.rows if r["augmentation"] == augmentation}))

    def accuracy(self, augmentation: str, direction: str | None = None) -> np.ndarray:
        """Validation accuracy, shape (seeds, distances): in one ``direction``, or by
        default the mean over the four directions."""
        chosen = [r for r in self.rows if r["augmentation"] == augmentation]
        if not chosen:
            raise ValueError(f"no run with augmentation={augmentation!r}")
        directions = sorted({r["direction"] for r in chosen})
        if direction is not None and direction not in directions:
            raise ValueError(f"direction must be one of {directions}, got {direction!r}")
        table = {(r["seed"], r["direction"], r["shift"]): r["val_accuracy"] for r in chosen}
        used = directions if direction is None else [direction]
        return np.array(
            [
                [np.mean([table[s, name, d] for name in used]) for d in self.shifts]
                for s in self.seeds(augmentation)
            ]
        )


def load_results(path=None) -> Results:
    """Read the CSV of :func:`train_run` rows that ``scripts/augmentation_experiment.py``
    wrote.

    Parameters
    ----------
    path : str or Path, optional
        Default: the copy shipped with the library, ``assets/augmentation_experiment.csv``.
    """
    from dlcv.data import asset_path

    path = asset_path("augmentation_experiment.csv") if path is None else Path(path)
    header, rows = _read(path, COLUMNS, ("n_train", "seed", "epochs", "steps"), ("augmentation",))
    return Results(header, rows)


def load_shift_results(path=None) -> ShiftResults:
    """Read the CSV of :func:`shift_run` rows that ``scripts/augmentation_experiment.py``
    wrote.

    Parameters
    ----------
    path : str or Path, optional
        Default: the copy shipped with the library, ``assets/augmentation_shifts.csv``.
    """
    from dlcv.data import asset_path

    path = asset_path("augmentation_shifts.csv") if path is None else Path(path)
    header, rows = _read(path, SHIFT_COLUMNS, ("seed", "shift"), ("augmentation", "direction"))
    return ShiftResults(header, rows)
