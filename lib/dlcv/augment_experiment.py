"""Chapter 07's experiment: one training run with or without augmentation.

The LeNet-style CNN of :func:`dlcv.models.lenet` is trained on a stratified subset of the
MNIST training split, without augmentation, with label-preserving augmentation (small
rotations, zooms and shifts; no flips) or with the tutorial's kind of augmentation (coin
flips for a transpose, a left-right and a top-bottom flip), and tested on the held-out
images. ``scripts/augmentation_experiment.py`` runs the whole grid and writes
``lib/dlcv/assets/augmentation_experiment.csv``; chapter 07 reads that file and re-runs
some rows live with :func:`train_run` to check them.

Fairness: for a given size and seed, every setting gets the same subset, the same initial
weights, the same order of mini-batches and the same number of gradient steps; the only
difference is that with augmentation every epoch trains on a freshly augmented copy
(``fit(..., transform=...)``, with its own random generator).
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
from dlcv.models import lenet
from dlcv.optim import Adam
from dlcv.train import evaluate, fit

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
    "test_accuracy",
    "train_loss",
    "test_loss",
    "seconds",
)

# Label-preserving for digits: up to ±15 degrees, ±10 % zoom, ±2 pixels; no flips.
PIPELINE = Compose([RandomRotation(15), RandomScale(0.9, 1.1), RandomTranslation(2)])


def tutorial_flips(x, rng, layout="NCHW"):
    """Our version of the tutorial's augmentation, on a batch (N, C, H, W) of square
    images: three coin flips per image, for a transpose, a left-right and a top-bottom flip."""
    x = x.copy()
    flips = (lambda a: a.swapaxes(-1, -2), lambda a: a[..., ::-1], lambda a: a[..., ::-1, :])
    for flip in flips:
        chosen = rng.random(len(x)) < 0.5
        x[chosen] = flip(x[chosen])
    return x


SETTINGS = {"none": None, "label-preserving": PIPELINE, "tutorial flips": Compose([tutorial_flips])}
"""The three ways of training compared: no augmentation, the label-preserving pipeline,
and the tutorial's flips and transpose (which change what many digits look like)."""


def stratified_subset(x, y, n, seed):
    """``n`` images, classes in the proportions of ``y`` (10 per class for n = 100)."""
    if n >= len(y):
        return x, y
    index, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return x[index], y[index]


def train_run(data, n_train, augmentation, seed, steps=STEPS, batch_size=BATCH_SIZE, lr=LR):
    """Train one CNN; return the CSV row (a dict; accuracies as fractions) and the model.

    Runs with one BLAS thread: matrix products then add up in the same order on every
    run, so the same arguments give the same weights bit for bit (with two threads the
    last bits can differ), and on a busy machine it is also faster.
    """
    x, y = stratified_subset(data.x_train, data.y_train, n_train, seed)
    if steps * batch_size % n_train:
        raise ValueError(
            f"steps * batch_size ({steps * batch_size}) must be a multiple of n_train ({n_train})"
        )
    epochs = steps * batch_size // n_train
    model, optimizer = lenet(rng=seed), Adam(lr)
    start = time.perf_counter()
    with threadpool_limits(1):
        fit(
            model,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            seed=seed,
            transform=SETTINGS[augmentation],
            transform_rng=np.random.default_rng([seed, 7]),
            verbose=False,
        )
        train_loss, train_acc = evaluate(model, x, y)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
    row = {
        "n_train": n_train,
        "augmentation": augmentation,
        "seed": seed,
        "epochs": epochs,
        "steps": steps,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "train_loss": round(float(train_loss), 6),
        "test_loss": round(float(test_loss), 6),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return row, model


_INT_COLUMNS = ("n_train", "seed", "epochs", "steps")


@dataclass(frozen=True)
class Results:
    """The experiment's CSV, read back: the comment lines and one dict per run.

    Attributes
    ----------
    header : list of str
        The ``#`` lines at the top (command, date, library version, settings).
    runs : list of dict
        One per training run, with the keys of :data:`COLUMNS`; counts as ints,
        accuracies, losses and seconds as floats.
    """

    header: list[str]
    runs: list[dict]

    def values(self, n_train: int, augmentation: str, column: str = "test_accuracy"):
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


def load_results(path=None) -> Results:
    """Read the CSV that ``scripts/augmentation_experiment.py`` wrote.

    Parameters
    ----------
    path : str or Path, optional
        Default: the copy shipped with the library, ``assets/augmentation_experiment.csv``.
    """
    from dlcv.data import asset_path

    path = asset_path("augmentation_experiment.csv") if path is None else Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    missing = set(COLUMNS) - set(rows[0] if rows else ())
    if missing:
        raise ValueError(f"{path} is not the experiment's CSV: columns {sorted(missing)} missing")
    for row in rows:
        for key in COLUMNS:
            if key != "augmentation":
                row[key] = int(row[key]) if key in _INT_COLUMNS else float(row[key])
    return Results(header, rows)
