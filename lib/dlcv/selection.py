"""Choosing settings on validation: chapter 06's tuning of the CNN and its two baselines.

The course's protocol (DESIGN.md) on the 5,000 MNIST digits of
:func:`dlcv.data.load_mnist_splits`: every model family is trained on the 3,500
training images, every setting of it (learning rate, width, number of epochs, the
regularisation of logistic regression) is scored on the 500 validation images, the
setting with the best mean validation accuracy over the seeds is chosen, and only the
chosen settings ever meet the 1,000 test images.

* :data:`GRIDS` — the settings tried for each family;
* :func:`validation_run` — one family, one setting, one seed: validation accuracy after
  every epoch (one row per epoch);
* :func:`choose` — the best setting of a family from those rows;
* :func:`train_chosen` — train a chosen setting and return the model;
* :func:`load_selection` — read the CSV files written by ``scripts/mnist_selection.py``.

Training with ``lr_decay`` multiplies the learning rate after every epoch whatever the
planned number of epochs, so the model after epoch ``e`` of a 12-epoch run *is* the
model of an ``e``-epoch run: one run scores every epoch count at once.
"""

from __future__ import annotations

import time

import numpy as np

from dlcv.grid import read_results
from dlcv.layers import Dense, Flatten, ReLU, Sequential
from dlcv.models import lenet
from dlcv.optim import Adam
from dlcv.train import evaluate, fit
from dlcv.validate import check_choice, check_int

__all__ = [
    "BATCH_SIZE",
    "COLUMNS",
    "GRIDS",
    "LR_DECAY",
    "MAX_EPOCHS",
    "SEEDS",
    "Selection",
    "choose",
    "load_selection",
    "make_model",
    "train_chosen",
    "validation_run",
]

BATCH_SIZE = 32
LR_DECAY = 0.7
MAX_EPOCHS = 12
SEEDS = (0, 1, 2)
#: The settings tried, per family. ``width`` is the CNN's (conv 1, conv 2) channels or
#: the MLP's hidden units; ``C`` is the inverse regularisation of logistic regression.
GRIDS = {
    "cnn": {"lr": [1e-3, 2e-3, 5e-3, 1e-2], "width": [(4, 8), (8, 16), (16, 32)]},
    "mlp": {"lr": [5e-4, 2e-3, 5e-3, 1e-2], "width": [64, 128, 256, 512]},
    "logreg": {"C": [0.001, 0.01, 0.1, 1.0, 10.0]},
}
COLUMNS = ["model", "lr", "width", "C", "seed", "epoch", "val_accuracy", "val_loss", "seconds"]
FAMILIES = tuple(GRIDS)


def make_model(model: str, width, seed: int) -> Sequential:
    """The untrained network of family ``"cnn"`` (LeNet, ``width`` = its two channel
    counts) or ``"mlp"`` (784 -> ``width`` -> ReLU -> 10), initialised from ``seed``."""
    check_choice(model, "model", ("cnn", "mlp"))
    if model == "cnn":
        return lenet(channels=tuple(width), rng=seed)
    rng = np.random.default_rng(seed)
    width = check_int(width, "width", minimum=1)
    return Sequential([Flatten(), Dense(784, width, rng=rng), ReLU(), Dense(width, 10, rng=rng)])


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _logreg(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000)


def validation_run(parts, model: str, seed: int = 0, *, lr=None, width=None, C=None):
    """Train one setting on ``parts.x_train`` and score it on ``parts.x_val``.

    Parameters
    ----------
    parts : ThreeWaySplit
        From :func:`dlcv.data.load_mnist_splits`; its test part is not touched.
    model : {"cnn", "mlp", "logreg"}
    seed : int
        Initial weights and order of the mini-batches (the networks only).
    lr, width : for "cnn" and "mlp"
    C : float, for "logreg"

    Returns
    -------
    list of dict
        One row (:data:`COLUMNS`) per epoch for a network, a single row (epoch 0) for
        logistic regression, which is fitted to convergence.
    """
    from threadpoolctl import threadpool_limits

    check_choice(model, "model", FAMILIES)
    start = time.perf_counter()
    if model == "logreg":
        with threadpool_limits(1):  # the same digits on any machine
            clf = _logreg(C).fit(_flat(parts.x_train), parts.y_train)
            proba = clf.predict_proba(_flat(parts.x_val))
        acc = float(np.mean(proba.argmax(axis=1) == parts.y_val))
        loss = float(-np.mean(np.log(proba[np.arange(len(proba)), parts.y_val] + 1e-12)))
        row = {"model": model, "lr": "", "width": "", "C": C, "seed": "", "epoch": 0}
        return [{**row, "val_accuracy": acc, "val_loss": loss, "seconds": _since(start)}]
    net = make_model(model, width, seed)
    history = fit(
        net,
        parts.x_train,
        parts.y_train,
        epochs=MAX_EPOCHS,
        batch_size=BATCH_SIZE,
        optimizer=Adam(lr),
        lr_decay=LR_DECAY,
        validation=(parts.x_val, parts.y_val),
        seed=seed,
        verbose=False,
        progress=False,
    )
    shown = "x".join(map(str, width)) if model == "cnn" else str(width)
    return [
        {
            "model": model,
            "lr": lr,
            "width": shown,
            "C": "",
            "seed": seed,
            "epoch": epoch,
            "val_accuracy": acc,
            "val_loss": loss,
            "seconds": history.seconds[epoch - 1],
        }
        for epoch, (acc, loss) in enumerate(
            zip(history.val_accuracy, history.val_loss, strict=True), start=1
        )
    ]


def _since(start: float) -> float:
    return time.perf_counter() - start


def _setting(row: dict) -> tuple:
    return tuple(row[k] for k in ("lr", "width", "C", "epoch"))


def choose(rows, model: str) -> dict:
    """The setting of ``model`` with the best mean validation accuracy over seeds.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`validation_run` (or of the CSV), any families mixed.
    model : {"cnn", "mlp", "logreg"}

    Returns
    -------
    dict
        ``lr``, ``width``, ``C``, ``epochs``, the mean and standard deviation of the
        validation accuracy over the seeds (``val_mean``, ``val_std``) and ``n_seeds``.
        Ties (equal means, which 500 validation images make common) go to fewer
        epochs, then to the smaller width, then to the smaller ``C``: the cheaper model.
    """
    check_choice(model, "model", FAMILIES)
    scores: dict[tuple, list[float]] = {}
    for row in rows:
        if row["model"] == model:
            scores.setdefault(_setting(row), []).append(float(row["val_accuracy"]))
    if not scores:
        raise ValueError(f"rows hold no run of model {model!r}")

    def rank(item):
        (lr, width, C, epoch), accs = item
        size = np.prod([int(w) for w in str(width).split("x")]) if width != "" else 0
        return (-round(float(np.mean(accs)), 10), int(epoch), size, float(C or 0))

    (lr, width, C, epoch), accs = min(scores.items(), key=rank)
    return {
        "model": model,
        "lr": float(lr) if lr != "" else None,
        "width": _parse_width(model, width),
        "C": float(C) if C != "" else None,
        "epochs": int(epoch),
        "val_mean": float(np.mean(accs)),
        "val_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "n_seeds": len(accs),
    }


def _parse_width(model: str, width):
    if width == "" or width is None:
        return None
    if model == "cnn":
        return tuple(int(w) for w in str(width).split("x"))
    return int(width)


def train_chosen(parts, chosen: dict, seed: int = 0, *, progress: bool = False):
    """Train the setting ``chosen`` (from :func:`choose`) on ``parts.x_train``.

    Returns the fitted model (a :class:`~dlcv.layers.Sequential` in evaluation mode, or
    a scikit-learn ``LogisticRegression`` on flattened pixels) and, for a network, its
    :class:`~dlcv.train.History` with the validation part scored after every epoch.
    """
    if chosen["model"] == "logreg":
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return _logreg(chosen["C"]).fit(_flat(parts.x_train), parts.y_train), None
    net = make_model(chosen["model"], chosen["width"], seed)
    history = fit(
        net,
        parts.x_train,
        parts.y_train,
        epochs=chosen["epochs"],
        batch_size=BATCH_SIZE,
        optimizer=Adam(chosen["lr"]),
        lr_decay=LR_DECAY,
        validation=(parts.x_val, parts.y_val),
        seed=seed,
        verbose=False,
        progress=progress,
    )
    return net, history


def test_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a network or of the logistic regression of :func:`train_chosen`."""
    if isinstance(model, Sequential):
        return float(evaluate(model, x, y)[1])
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return float(model.score(_flat(x), y))


test_accuracy.__test__ = False  # not a pytest test


class Selection:
    """The two CSV files of ``scripts/mnist_selection.py``, read back.

    ``rows`` — every validation row (strings converted to numbers); ``final`` — the test
    accuracy of each family's chosen setting for each seed; ``header`` — the comment
    lines (command, date, commit, machine).
    """

    def __init__(self, rows: list[dict], final: list[dict], header: list[str]):
        self.rows, self.final, self.header = rows, final, header

    def chosen(self, model: str) -> dict:
        return choose(self.rows, model)

    def curve(self, model: str, lr: float, width, seed: int) -> list[float]:
        """Validation accuracy per epoch of one stored run."""
        shown = "x".join(map(str, width)) if model == "cnn" else str(width)
        return [
            r["val_accuracy"]
            for r in self.rows
            if r["model"] == model
            and r["lr"] == lr
            and str(r["width"]) == shown
            and r["seed"] == seed
        ]


def load_selection(folder=None) -> Selection:
    """Read ``mnist_selection.csv`` and ``mnist_final.csv`` (the package's own by default)."""
    (rows, header), (final, _) = read_results(
        ("mnist_selection.csv", "mnist_final.csv"), "scripts/mnist_selection.py", folder
    )
    return Selection(rows, final, header)
