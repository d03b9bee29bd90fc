"""Transfer learning: chapter 06's MNIST network reused on other images (chapters 08 and 09).

The **source** is the LeNet the library ships (:func:`dlcv.models.load_lenet_mnist`,
trained on 3,500 MNIST digits). The **target** is scikit-learn's ``load_digits``: 1,797
digits written by other people and scanned by another device into 8x8 blocks of counts
(0-16), brought to MNIST's format by :func:`digits_as_mnist`. A far target, where the
source has little to give, is scikit-image's faces / non-faces (:func:`load_target_faces`).

* :func:`load_target_digits`, :func:`load_target_faces` — fixed training / validation /
  test parts (a :class:`~dlcv.data.ThreeWaySplit`);
* :func:`budget_indices` — a labelled subset with ``per_class`` labels of every class;
* :func:`features` — what the source network computes at a depth (:data:`DEPTHS`), and
  :func:`hog_features`, the hand-made baseline;
* :func:`linear_probe` — logistic regression on features, its ``C`` chosen on validation;
* :func:`prepare` and :func:`fine_tune` — the four ways of :data:`WAYS` to train on the
  target, by freezing layers (``layer.trainable = False``);
* :func:`probe_run`, :func:`tune_run` and :func:`keep_best_lr` — one run each of
  ``scripts/transfer_experiment.py`` (in the library, so worker processes can import them).
"""

from __future__ import annotations

import copy
import functools
import math
import time

import numpy as np

from dlcv.data import ThreeWaySplit, load_faces
from dlcv.layers import Dense, Sequential
from dlcv.models import LENET_MNIST_RECIPE, lenet, load_lenet_mnist
from dlcv.optim import Adam
from dlcv.train import activations, evaluate, train_epoch
from dlcv.validate import check_choice, check_int, generator

__all__ = [
    "BUDGETS",
    "C_GRID",
    "DEPTHS",
    "PROBE_COLUMNS",
    "STEPS",
    "TUNE_COLUMNS",
    "TransferResults",
    "WAYS",
    "budget_indices",
    "digits_as_mnist",
    "features",
    "fine_tune",
    "hog_features",
    "keep_best_lr",
    "linear_probe",
    "load_target_digits",
    "load_transfer_results",
    "load_target_faces",
    "prepare",
    "probe_run",
    "target_parts",
    "tune_run",
]

#: Labels per class of the experiments; ``None`` means every training image.
BUDGETS = (1, 5, 10, 50, None)
#: Where to read the source network: index into :func:`dlcv.train.activations` (0 is the
#: input itself; ``i + 1`` the output of layer ``i`` of :func:`dlcv.models.lenet`).
DEPTHS = {"pixels": 0, "block 1": 3, "block 2": 6, "dense": 9}
#: Inverse regularisation strengths tried for every linear probe.
C_GRID = (0.01, 0.1, 1.0, 10.0)
#: How to train on the target: which layers start from the source and which train.
WAYS = {
    "scratch": "random initial weights, every layer trained",
    "frozen": "source weights frozen, only a new last layer trained",
    "fine-tune all": "source weights as the start, every layer trained (new last layer)",
    "fine-tune dense": "convolutions frozen, the dense layers trained (new last layer)",
}


def digits_as_mnist(images) -> np.ndarray:
    """scikit-learn's 8x8 digits in MNIST's format: 28x28, ink centred, values in [0, 1].

    MNIST's digits were scaled to fit a 20x20 box, anti-aliased, and centred by their
    centre of mass in a 28x28 frame. So each 8x8 image of counts (0-16) is divided by 16,
    enlarged to 20x20 by bilinear interpolation (``skimage.transform.resize``, order 1;
    enlarging needs no anti-aliasing filter, shrinking would), padded with 4 black
    pixels on every side, and moved by whole pixels so that its centre of mass is at
    the centre of the frame.

    Parameters
    ----------
    images : array_like, shape (N, 8, 8) or (N, 1, 8, 8)
        Counts 0-16, as ``sklearn.datasets.load_digits().images``.

    Returns
    -------
    ndarray, shape (N, 1, 28, 28), float32
    """
    from scipy import ndimage
    from skimage.transform import resize

    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1:] != (8, 8):
        raise ValueError(f"images must have shape (N, 8, 8), got {np.shape(images)}")
    if x.size and (x.min() < 0 or x.max() > 16):
        raise ValueError(
            f"images must hold counts from 0 to 16 (load_digits' scale), got values "
            f"from {x.min():g} to {x.max():g}"
        )
    out = np.zeros((len(x), 1, 28, 28), dtype=np.float32)
    for i, image in enumerate(x / 16.0):
        big = np.pad(resize(image, (20, 20), order=1, anti_aliasing=False), 4)
        if big.sum() > 0:
            cy, cx = ndimage.center_of_mass(big)
            big = np.roll(big, (round(13.5 - cy), round(13.5 - cx)), axis=(0, 1))
        out[i, 0] = np.clip(big, 0.0, 1.0)
    return out


def _three_parts(x, y, test_size: int, validation_size: int, seed: int) -> ThreeWaySplit:
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_size, stratify=y_rest, random_state=seed
    )
    return ThreeWaySplit(x_train, y_train, x_val, y_val, x_test, y_test)


def load_target_digits(seed: int = 0, raw: bool = False) -> ThreeWaySplit:
    """scikit-learn's 1,797 digits as MNIST-like images, in fixed stratified parts:
    997 training, 300 validation and 500 test images (labels int64, 0-9).

    With ``raw=True``, the same parts (the same digits in the same order) as stored by
    scikit-learn: ``(N, 1, 8, 8)`` float32 counts from 0 to 16, before
    :func:`digits_as_mnist`.
    """
    from sklearn.datasets import load_digits

    check_int(seed, "seed")
    bunch = load_digits()
    images = bunch.images[:, None].astype(np.float32) if raw else digits_as_mnist(bunch.images)
    return _three_parts(images, bunch.target.astype(np.int64), 500, 300, seed)


def load_target_faces(seed: int = 0) -> ThreeWaySplit:
    """scikit-image's 100 faces and 100 non-faces (label 1 and 0), 25x25 padded to 28x28
    (values in [0, 1]): 100 training, 40 validation and 60 test images."""
    check_int(seed, "seed")
    faces = load_faces()
    x = np.pad(faces.images, ((0, 0), (1, 2), (1, 2)))[:, None].astype(np.float32)
    return _three_parts(x, faces.labels, 60, 40, seed)


def budget_indices(y, per_class: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a labelled subset: ``per_class`` images of every class, drawn at random.

    ``None`` returns every index. The same seed always draws the same subset, and a
    larger budget of the same seed does not contain a smaller one (each is drawn anew).
    """
    y = np.asarray(y)
    if per_class is None:
        return np.arange(len(y))
    per_class = check_int(per_class, "per_class", minimum=1)
    rng = generator(seed, "seed")
    picked = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if per_class > len(members):
            raise ValueError(
                f"per_class={per_class} but class {label} has only {len(members)} images"
            )
        picked.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(picked))


def features(model: Sequential, x: np.ndarray, depth: str, batch_size: int = 256) -> np.ndarray:
    """The source network's activations at ``depth`` (a key of :data:`DEPTHS`), flattened.

    Returns an array ``(N, D)`` float32: the pixels themselves for ``"pixels"``, the
    pooled maps of a convolution block, or the 64 hidden units after their ReLU.
    """
    check_choice(depth, "depth", tuple(DEPTHS))
    index = DEPTHS[depth]
    if index > len(model.layers):
        raise ValueError(f"the model has {len(model.layers)} layers, too few for {depth!r}")
    parts = [
        activations(model, x[i : i + batch_size])[index].reshape(len(x[i : i + batch_size]), -1)
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32, copy=False)


def hog_features(x: np.ndarray) -> np.ndarray:
    """Histograms of oriented gradients (``skimage.feature.hog``: 9 orientations, 7x7-pixel
    cells, blocks of 2x2 cells) of every image ``(N, 1, H, W)``: the hand-made features."""
    from skimage.feature import hog

    return np.stack(
        [
            hog(image[0], orientations=9, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
            for image in x
        ]
    ).astype(np.float32)


def linear_probe(train_x, train_y, val_x, val_y, c_grid=C_GRID):
    """Logistic regression on features, standardised on the training set, ``C`` chosen on
    validation (ties go to the stronger penalty).

    Returns
    -------
    classifier : sklearn Pipeline
        Fitted with the chosen ``C``; ``classifier.predict`` takes features.
    C : float
    val_accuracy : float
        Of the chosen ``C``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    best = None
    with threadpool_limits(1):
        for C in sorted(c_grid):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
            clf.fit(train_x, train_y)
            acc = float(clf.score(val_x, val_y))
            if best is None or acc > best[2]:
                best = (clf, C, acc)
    return best


def prepare(way: str, n_classes: int = 10, seed: int = 0, source: Sequential | None = None):
    """The network to train on the target for one of :data:`WAYS`.

    A copy of ``source`` (the shipped LeNet by default) whose last layer is replaced by a
    new ``Dense(64, n_classes)`` initialised from ``seed``, with the layers that must not
    change set to ``trainable = False``; for ``"scratch"``, a LeNet of the same shape
    initialised from ``seed``.
    """
    check_choice(way, "way", tuple(WAYS))
    channels = tuple(LENET_MNIST_RECIPE["channels"])
    if way == "scratch":
        return lenet(n_classes=n_classes, channels=channels, rng=seed)
    model = copy.deepcopy(source if source is not None else load_lenet_mnist())
    hidden = model.layers[-1].params["weight"].shape[0]
    model.layers[-1] = Dense(hidden, n_classes, rng=np.random.default_rng(seed))
    model.train()
    frozen = {"frozen": len(model.layers) - 1, "fine-tune dense": 6}.get(way, 0)
    for layer in model.layers[:frozen]:
        layer.trainable = False
    return model


def fine_tune(
    model: Sequential,
    parts: ThreeWaySplit,
    train_index,
    *,
    lr: float = 1e-3,
    steps: int = 300,
    batch_size: int = 32,
    checkpoints: int = 10,
    seed: int = 0,
):
    """Train ``model`` on ``parts.x_train[train_index]`` for about ``steps`` mini-batches.

    Adam with a constant learning rate; the batches are ``batch_size`` images (or the
    whole labelled set, if smaller), reshuffled every epoch from ``seed``. The validation
    part is scored at ``checkpoints`` evenly spaced points of the run.

    Returns
    -------
    curve : list of (int, float)
        (steps taken, validation accuracy) at each checkpoint; the last is the end.
    """
    steps = check_int(steps, "steps", minimum=1)
    idx = np.asarray(train_index)
    x, y = parts.x_train[idx], parts.y_train[idx]
    batch = min(batch_size, len(idx))
    per_epoch = math.ceil(len(idx) / batch)
    epochs = max(1, round(steps / per_epoch))
    marks = {round(e) for e in np.linspace(epochs / checkpoints, epochs, checkpoints)}
    optimizer, rng = Adam(lr), np.random.default_rng(seed)
    curve = []
    for epoch in range(1, epochs + 1):
        train_epoch(model, x, y, optimizer, batch_size=batch, rng=rng)
        if epoch in marks:
            curve.append((epoch * per_epoch, float(evaluate(model, parts.x_val, parts.y_val)[1])))
    model.eval()
    return curve


# ------------------------------------------------- the runs of scripts/transfer_experiment.py
STEPS = 300
PROBE_COLUMNS = ["target", "features", "budget", "seed", "C", "val_accuracy", "test_accuracy"]
TUNE_COLUMNS = ["target", "way", "budget", "seed", "lr", "steps", "curve", "val_accuracy",
                "test_accuracy", "seconds"]  # fmt: skip


@functools.cache
def target_parts(name: str) -> ThreeWaySplit:
    """The parts of ``"digits"`` or ``"faces"``, loaded once per process."""
    return load_target_digits() if name == "digits" else load_target_faces()


@functools.cache
def _cached_features(kind: str, part: str) -> np.ndarray:
    x = getattr(target_parts("digits"), f"x_{part}")
    return hog_features(x) if kind == "HOG" else features(load_lenet_mnist(), x, kind)


def probe_run(kind: str, budget, seed: int) -> dict:
    """One linear probe (in a worker): features of one kind, one labelled subset."""
    parts = target_parts("digits")
    idx = budget_indices(parts.y_train, budget or None, seed)
    train = _cached_features(kind, "train")[idx]
    clf, C, val = linear_probe(
        train, parts.y_train[idx], _cached_features(kind, "val"), parts.y_val
    )
    test = float(clf.score(_cached_features(kind, "test"), parts.y_test))
    return {"target": "digits", "features": kind, "budget": budget or "all", "seed": seed,
            "C": C, "val_accuracy": val, "test_accuracy": test}  # fmt: skip


def tune_run(target: str, way: str, budget, seed: int, lr: float) -> tuple[dict, float]:
    """One training run (in a worker): its row, and its test accuracy kept aside."""
    parts = target_parts(target)
    n_classes = len(np.unique(parts.y_train))
    start = time.perf_counter()
    model = prepare(way, n_classes=n_classes, seed=seed)
    idx = budget_indices(parts.y_train, budget or None, seed)
    curve = fine_tune(model, parts, idx, lr=lr, steps=STEPS, seed=seed)
    row = {
        "target": target,
        "way": way,
        "budget": budget or "all",
        "seed": seed,
        "lr": lr,
        "steps": curve[-1][0],
        "curve": ";".join(f"{s}:{a:.4f}" for s, a in curve),
        "val_accuracy": curve[-1][1],
        "test_accuracy": "",
        "seconds": round(time.perf_counter() - start, 2),
    }
    return row, float(evaluate(model, parts.x_test, parts.y_test)[1])


def keep_best_lr(results: list[tuple[dict, float]]) -> list[dict]:
    """Fill in the test accuracy of the runs whose learning rate won on validation."""
    groups: dict[tuple, dict[float, list[float]]] = {}
    for row, _ in results:
        key = (row["target"], row["way"], row["budget"])
        groups.setdefault(key, {}).setdefault(row["lr"], []).append(row["val_accuracy"])
    best = {key: max(sorted(by_lr), key=lambda lr: np.mean(by_lr[lr])) for key, by_lr in
            groups.items()}  # fmt: skip
    rows = []
    for row, test in results:
        if row["lr"] == best[(row["target"], row["way"], row["budget"])]:
            row = {**row, "test_accuracy": test}
        rows.append(row)
    return rows


class TransferResults:
    """The two CSV files of ``scripts/transfer_experiment.py``, read back.

    ``probes`` and ``runs`` are lists of rows (numbers converted; a run's ``curve`` as a
    list of (steps, validation accuracy)); ``header`` holds the comment lines.
    """

    def __init__(self, probes: list[dict], runs: list[dict], header: list[str]):
        self.probes, self.runs, self.header = probes, runs, header

    def probe(self, kind: str, budget, column: str = "val_accuracy") -> np.ndarray:
        """``column`` of the linear probes of one feature kind and budget, one per seed."""
        budget = "all" if budget in (None, "all") else budget
        return np.array(
            [r[column] for r in self.probes if r["features"] == kind and r["budget"] == budget]
        )

    def chosen_runs(self, target: str, way: str, budget) -> list[dict]:
        """The runs of one way and budget with the learning rate chosen on validation."""
        budget = "all" if budget in (None, "all") else budget
        return [
            r
            for r in self.runs
            if (r["target"], r["way"], r["budget"]) == (target, way, budget)
            and r["test_accuracy"] != ""
        ]


def load_transfer_results(folder=None) -> TransferResults:
    """Read ``transfer_probe.csv`` and ``transfer_finetune.csv`` (the package's own by default)."""
    from dlcv.grid import read_results

    (probes, header), (runs, _) = read_results(
        ("transfer_probe.csv", "transfer_finetune.csv"), "scripts/transfer_experiment.py", folder
    )
    for run in runs:
        run["curve"] = [
            (int(s), float(a)) for s, a in (p.split(":") for p in str(run["curve"]).split(";"))
        ]
    return TransferResults(probes, runs, header)
