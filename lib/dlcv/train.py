"""Training a :class:`~dlcv.layers.Sequential` network: the loop, evaluation, predictions.

The four lines of a training step are in :func:`train_epoch`; :func:`fit` validates its
arguments and calls it once per epoch.

>>> import numpy as np
>>> from dlcv.layers import Dense, ReLU, Sequential
>>> from dlcv.optim import Adam
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 2)).astype(np.float32)
>>> y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)          # XOR-like quadrants
>>> model = Sequential([Dense(2, 16, rng=rng), ReLU(), Dense(16, 2, rng=rng)])
>>> history = fit(model, x, y, epochs=40, batch_size=20, optimizer=Adam(0.01), verbose=False)
>>> history.accuracy[-1] > 0.9
True

Everything is seeded: the same model initialisation, data and ``seed`` give the same
weights after training, bit for bit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dlcv.layers import (
    Conv2D,
    ReLU,
    Sequential,
    evaluation_mode,
    softmax,
    softmax_cross_entropy,
)
from dlcv.optim import Adam
from dlcv.validate import check_int, generator

__all__ = [
    "History",
    "TrainingDivergedError",
    "activations",
    "conv_feature_maps",
    "evaluate",
    "fit",
    "minimise",
    "predict",
    "predict_proba",
    "train_epoch",
]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run (lists, one entry per epoch).

    ``loss``/``accuracy`` are averaged over the epoch's mini-batches while training
    (dropout active); ``val_loss``/``val_accuracy`` are measured after the epoch in
    evaluation mode (empty without validation data); ``seconds`` is wall time.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; ``epoch``, ``batch`` and ``history`` say when."""

    def __init__(self, message: str, epoch: int, batch: int, history: History):
        super().__init__(message)
        self.epoch, self.batch, self.history = epoch, batch, history


def _check_data(model: Sequential, x, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``x``/``y`` against each other and the model; return float/int arrays."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(
            f"{name}: x must be a numeric NumPy array, got {getattr(x, 'dtype', type(x).__name__)}"
        )
    y = np.asarray(y)
    if len(x) == 0:
        raise ValueError(f"{name}: the dataset is empty (x has shape {x.shape})")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"{name}: y must be a 1-D array of integer class labels, got shape "
            f"{y.shape} and dtype {y.dtype}"
        )
    if len(x) != len(y):
        raise ValueError(
            f"{name}: x has {len(x)} samples (shape {x.shape}) but y has {len(y)} labels"
        )
    x = x.astype(model.dtype, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: x contains NaN or infinite values")
    try:
        with evaluation_mode(model):
            out = model.forward(x[:1])
    except ValueError as err:
        raise ValueError(
            f"{name}: the data (x of shape {x.shape}) does not fit the model: {err}"
        ) from err
    if out.ndim != 2:
        raise ValueError(
            f"{name}: the model must output class scores of shape (N, K), got {out.shape}"
        )
    k = out.shape[1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"{name}: labels must be in [0, {k - 1}] (the model has {k} outputs); "
            f"found labels from {y.min()} to {y.max()}"
        )
    return x, y.astype(np.int64, copy=False)


def fit(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer=None,
    validation: tuple | None = None,
    seed: int = 0,
    lr_decay: float = 1.0,
    transform: Callable | None = None,
    transform_rng=None,
    verbose: bool = True,
    progress: bool | None = None,
    threads: int | None = 1,
) -> History:
    """Train ``model`` with mini-batches to minimise softmax cross-entropy.

    Parameters
    ----------
    model : Sequential
        Outputs class scores ``(N, K)``; trained in place (its trainable layers).
    x : ndarray, shape (N, ...)
        Inputs the model accepts; converted to the model's dtype.
    y : ndarray of int, shape (N,)
        Labels in ``[0, K - 1]``.
    epochs, batch_size : int
    optimizer : SGD or Adam, optional
        ``Adam(1e-3)`` by default.
    validation : (x_val, y_val), optional
        Evaluated after every epoch.
    seed : int
        Seeds the shuffling of every epoch.
    lr_decay : float in (0, 1]
        After every epoch the optimizer's learning rate is multiplied by this
        (exponential decay; 1 keeps it constant). The optimizer keeps the decayed rate.
    transform : callable, optional
        Per-epoch augmentation: ``transform(x, rng)`` is called at the start of every
        epoch and must return new images of ``x``'s shape, on which that epoch trains
        (e.g. a :class:`dlcv.augment.Compose`). The labels stay ``y``.
    transform_rng : None, int or numpy.random.Generator
        The random generator handed to ``transform``, separate from the shuffling so
        that adding a transform does not change the order of the mini-batches. By
        default ``np.random.default_rng([seed, 1])``.
    verbose : bool
        Print one summary line per epoch (rounded, so it is reproducible).
    progress : bool, optional
        Show a ``tqdm`` progress bar over the batches (default: same as ``verbose``).
    threads : int or None
        BLAS threads while training (``threadpoolctl``); None leaves BLAS's own
        setting. The matrices of a small network are too small to share between
        threads: one thread is several times faster on a busy 2-core machine, and it
        makes the result independent of the number of cores.

    Returns
    -------
    History

    Raises
    ------
    TrainingDivergedError
        When a batch's loss is NaN or infinite (usually: the learning rate is too high).
    """
    epochs, batch_size = check_int(epochs, "epochs", 1), check_int(batch_size, "batch_size", 1)
    optimizer = Adam() if optimizer is None else optimizer
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must have a step(model) method, got {type(optimizer).__name__}")
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
    if transform is not None and not callable(transform):
        raise TypeError(
            f"transform must be a function (x, rng) -> x, got {type(transform).__name__}"
        )
    x, y = _check_data(model, x, y, "training data")
    if validation is not None:
        if not (isinstance(validation, tuple) and len(validation) == 2):
            raise TypeError("validation must be a tuple (x_val, y_val)")
        validation = _check_data(model, *validation, "validation data")
    progress = verbose if progress is None else progress
    shuffle = np.random.default_rng(seed)
    augment_rng = (
        np.random.default_rng([seed, 1])
        if transform_rng is None
        else generator(transform_rng, "transform_rng")
    )
    threads = None if threads is None else check_int(threads, "threads", 1)
    limit = contextlib.nullcontext() if threads is None else threadpool_limits(threads, "blas")
    history = History()
    with limit:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            images = x if transform is None else _transformed(transform, x, augment_rng)
            bar = tqdm(
                desc=f"epoch {epoch}/{epochs}",
                total=len(x),
                unit="img",
                leave=False,
                disable=not progress,
            )
            try:
                loss, accuracy = train_epoch(
                    model, images, y, optimizer, batch_size=batch_size, rng=shuffle, bar=bar
                )
            except TrainingDivergedError as error:
                error.epoch, error.history = epoch, history
                error.args = (error.args[0].replace("at batch", f"at epoch {epoch}, batch", 1),)
                raise
            finally:
                bar.close()
            _record(history, model, loss, accuracy, validation, start)
            if lr_decay != 1:
                optimizer.lr *= lr_decay
            if verbose:
                print(_summary_line(history, epochs), flush=True)
    model.eval()
    return history


def minimise(
    model: Sequential,
    x: np.ndarray,
    targets,
    loss: Callable,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer=None,
    seed: int = 0,
    lr_decay: float = 1.0,
    progress: bool = False,
    threads: int | None = 1,
    on_epoch: Callable | None = None,
) -> list[float]:
    """Train ``model`` in mini-batches to minimise any ``loss`` (regression, detection).

    The same four steps as :func:`train_epoch`, with the loss given: ``loss(output,
    batch_targets)`` returns ``(value, d value / d output)``. ``targets`` is an array, a
    tuple of arrays, or any object with ``len`` and indexing by an array of rows (e.g.
    :class:`dlcv.grid_detector.GridTargets`), whose rows match ``x``; a batch takes the
    same rows of each. ``on_epoch(epoch, mean_loss)``, if given, runs after every epoch
    (to validate or record). Returns the mean loss of every epoch. Raises
    :class:`TrainingDivergedError` (with its epoch and batch) when a batch's loss is not
    finite.
    """
    epochs, batch_size = check_int(epochs, "epochs", 1), check_int(batch_size, "batch_size", 1)
    optimizer = Adam() if optimizer is None else optimizer
    if not callable(loss):
        raise TypeError(f"loss must be a function (output, targets) -> (loss, grad), got {loss!r}")
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(f"on_epoch must be a function (epoch, loss), got {on_epoch!r}")
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
    x = np.asarray(x, dtype=model.dtype)
    parts = targets if isinstance(targets, tuple) else (targets,)
    parts = tuple(np.asarray(p) if isinstance(p, list) else p for p in parts)
    for i, part in enumerate(parts):
        if len(part) != len(x):
            raise ValueError(f"targets[{i}] has {len(part)} rows for {len(x)} inputs in x")
    shuffle = np.random.default_rng(seed)
    threads = None if threads is None else check_int(threads, "threads", 1)
    limit = contextlib.nullcontext() if threads is None else threadpool_limits(threads, "blas")
    losses = []
    n_batches = -(-len(x) // batch_size)
    with limit:
        for epoch in range(1, epochs + 1):
            order = shuffle.permutation(len(x))
            model.train()
            total = 0.0
            bar = tqdm(desc=f"epoch {epoch}/{epochs}", total=len(x), unit="img", leave=False,
                       disable=not progress)  # fmt: skip
            with bar:
                for first in range(0, len(x), batch_size):
                    batch = order[first : first + batch_size]
                    picked = tuple(p[batch] for p in parts)
                    output = model.forward(x[batch])
                    value, doutput = loss(
                        output, picked if isinstance(targets, tuple) else picked[0]
                    )
                    if not np.isfinite(value):
                        error = _diverged(value, first // batch_size + 1, n_batches, optimizer)
                        error.epoch, error.history = epoch, losses
                        error.args = (
                            error.args[0].replace("at batch", f"at epoch {epoch}, batch", 1),
                        )
                        raise error
                    model.backward(doutput.astype(output.dtype, copy=False), input_grad=False)
                    optimizer.step(model)
                    total += float(value) * len(batch)
                    bar.update(len(batch))
            losses.append(total / len(x))
            if lr_decay != 1:
                optimizer.lr *= lr_decay
            if on_epoch is not None:
                on_epoch(epoch, losses[-1])
    model.eval()
    return losses


def train_epoch(model, x, y, optimizer, *, batch_size=64, rng=None, bar=None):
    """One pass over ``(x, y)`` in shuffled mini-batches; returns mean loss and accuracy.

    ``rng`` (a numpy Generator) shuffles; ``bar`` is an optional ``tqdm`` bar.
    Raises :class:`TrainingDivergedError` when a batch's loss is not finite.
    """
    order = generator(rng).permutation(len(x))
    model.train()
    total_loss, correct = 0.0, 0
    for first in range(0, len(x), batch_size):
        batch = order[first : first + batch_size]
        logits = model.forward(x[batch])  # 1. predict
        loss, dlogits = softmax_cross_entropy(logits, y[batch])  # 2. measure the error
        if not np.isfinite(loss):  # NaN or inf: the steps were too large
            raise _diverged(loss, first // batch_size + 1, -(-len(x) // batch_size), optimizer)
        model.backward(dlogits, input_grad=False)  # 3. gradients
        optimizer.step(model)  # 4. update
        total_loss += loss * len(batch)
        correct += int((logits.argmax(axis=1) == y[batch]).sum())
        if bar is not None:
            bar.update(len(batch))
    return total_loss / len(x), correct / len(x)


def _transformed(transform, x, rng):
    """``transform(x, rng)``, checked to keep the shape, in ``x``'s dtype."""
    out = np.asarray(transform(x, rng))
    if out.shape != x.shape:
        raise ValueError(
            f"transform must return images of the shape it was given, {x.shape}; "
            f"it returned shape {out.shape}"
        )
    return out.astype(x.dtype, copy=False)


def _diverged(loss, batch: int, n_batches: int, optimizer) -> TrainingDivergedError:
    """The error for a non-finite loss (:func:`fit` adds the epoch and the history)."""
    return TrainingDivergedError(
        f"the loss became {loss} at batch {batch} of {n_batches}: training diverged. "
        f"{_lower_lr_hint(optimizer)}",
        0,
        batch,
        None,
    )


def _lower_lr_hint(optimizer) -> str:
    lr = getattr(optimizer, "lr", None)
    return f"Lower the learning rate (lr={lr:g}); try {lr / 10:g}." if lr else "Lower the lr."


def _record(history, model, loss, accuracy, validation, start) -> None:
    """Append one epoch's figures (and the validation ones) to ``history``."""
    history.loss.append(loss)
    history.accuracy.append(accuracy)
    if validation is not None:
        val_loss, val_acc = evaluate(model, *validation)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_acc)
    history.seconds.append(time.perf_counter() - start)


def _summary_line(history, epochs: int) -> str:
    epoch = history.epochs
    line = (
        f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {history.loss[-1]:.3f}  "
        f"accuracy {history.accuracy[-1]:.1%}"
    )
    if history.val_loss:
        line += (
            f"  val_loss {history.val_loss[-1]:.3f}  val_accuracy {history.val_accuracy[-1]:.1%}"
        )
    return line


def _batched_forward(model: Sequential, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Logits in evaluation mode, ``batch_size`` images at a time, on one BLAS thread."""
    batch_size = check_int(batch_size, "batch_size", 1)
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(
            f"x must be a numeric NumPy array, got {getattr(x, 'dtype', type(x).__name__)}"
        )
    if len(x) == 0:
        raise ValueError(f"x is empty (shape {x.shape})")
    x = x.astype(model.dtype, copy=False)
    with evaluation_mode(model), threadpool_limits(limits=1, user_api="blas"):
        return np.concatenate(
            [model.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        )


def activations(model: Sequential, x: np.ndarray) -> list[np.ndarray]:
    """The input and the output of every layer for ``x``, in evaluation mode.

    Returns
    -------
    list of ndarray
        ``len(model) + 1`` arrays: ``x`` (in the model's dtype), then each layer's output
        (entry ``i + 1`` is the output of layer ``i``).
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(
            f"x must be a numeric NumPy array, got {getattr(x, 'dtype', type(x).__name__)}"
        )
    outs = [x.astype(model.dtype, copy=False)]
    with evaluation_mode(model), threadpool_limits(limits=1, user_api="blas"):
        for layer in model.layers:
            outs.append(layer.forward(outs[-1]))
    return outs


def conv_feature_maps(model: Sequential, image: np.ndarray) -> list[np.ndarray]:
    """Feature maps of one image after each convolution (and its ReLU, when one follows).

    Parameters
    ----------
    model : Sequential
    image : ndarray, shape (C, H, W)

    Returns
    -------
    list of ndarray, each (F, H', W')
        One entry per :class:`~dlcv.layers.Conv2D` layer, in order.
    """
    if np.ndim(image) != 3:
        raise ValueError(f"image must be one image (C, H, W), got shape {np.shape(image)}")
    outs = activations(model, image[None])
    maps = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Conv2D):
            after_relu = i + 1 < len(model.layers) and isinstance(model.layers[i + 1], ReLU)
            maps.append(outs[i + 2 if after_relu else i + 1][0])
    return maps


def evaluate(
    model: Sequential, x: np.ndarray, y: np.ndarray, batch_size: int = 500
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    Returns
    -------
    (loss, accuracy) : (float, float)
        Accuracy as a fraction in [0, 1].
    """
    x, y = _check_data(model, x, y, "evaluate")
    logits = _batched_forward(model, x, batch_size)
    loss, _ = softmax_cross_entropy(logits, y)
    return loss, float((logits.argmax(axis=1) == y).mean())


def predict_proba(model: Sequential, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities ``(N, K)`` (softmax of the outputs), in evaluation mode."""
    return softmax(_batched_forward(model, x, batch_size).astype(np.float64))


def predict(model: Sequential, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted class labels ``(N,)``, in evaluation mode."""
    return _batched_forward(model, x, batch_size).argmax(axis=1)
