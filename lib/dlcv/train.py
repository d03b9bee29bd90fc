"""Train networks built from :mod:`dlcv.layers`: a model, optimizers and a training loop.

>>> import numpy as np
>>> from dlcv.layers import Dense, ReLU
>>> from dlcv.train import Adam, Sequential, fit
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
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dlcv.layers import (
    LAYER_TYPES,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
    softmax,
    softmax_cross_entropy,
)

__all__ = [
    "SGD",
    "Adam",
    "History",
    "Sequential",
    "TrainingDivergedError",
    "activations",
    "conv_feature_maps",
    "evaluate",
    "fit",
    "lenet",
    "train_lenet_mnist",
    "load",
    "load_lenet_mnist",
    "predict",
    "predict_proba",
    "save",
]

_FORMAT = "dlcv.train/1"


class Sequential:
    """A stack of layers applied one after the other.

    Parameters
    ----------
    layers : iterable of dlcv.layers.Layer

    Notes
    -----
    ``forward(x)`` runs every layer; ``backward(dout)`` runs them in reverse and
    returns the gradient for the input, leaving each parameter's gradient in its
    layer's ``grads``. ``parameters()`` yields ``(key, param, grad)`` triples with keys
    ``"<index>.<name>"`` (e.g. ``"0.weight"``), which is all an optimizer needs.
    """

    def __init__(self, layers: Iterable[Layer]):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layer {i} must be a dlcv.layers.Layer, got {type(layer).__name__}"
                )
        self.metadata: dict = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as err:
                if i == 0:
                    raise
                raise ValueError(
                    f"layer {i} ({layer!r}) cannot take the output of layer "
                    f"{i - 1} ({self.layers[i - 1]!r}): {err}"
                ) from err
        return x

    __call__ = forward

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``dout`` (gradient of the loss for the output); returns the
        gradient for the input, or None when ``input_grad`` is False (faster in training)."""
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[i].backward(dout, input_grad=input_grad or i > 0)
        return dout

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                yield f"{i}.{name}", value, layer.grads[name]

    def train(self) -> Sequential:
        """Training mode (dropout active); returns the model."""
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self) -> Sequential:
        """Evaluation mode (dropout off); returns the model."""
        for layer in self.layers:
            layer.training = False
        return self

    def astype(self, dtype) -> Sequential:
        """Convert every parameter to ``dtype`` in place; returns the model."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless converted)."""
        for _, value, _ in self.parameters():
            return value.dtype
        return np.dtype(np.float32)

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    def get_config(self) -> list[dict]:
        return [
            {"type": type(layer).__name__, "config": layer.get_config()} for layer in self.layers
        ]

    def summary(self, input_shape: tuple[int, ...]) -> str:
        """A table of the layers, their output shapes and parameter counts.

        Parameters
        ----------
        input_shape : tuple
            Shape of one input without the batch axis, e.g. ``(1, 28, 28)``.
        """
        x = np.zeros((1, *input_shape), dtype=self.dtype)
        rows = [f"{'layer':<38}{'output shape':<18}{'parameters':>10}"]
        with _evaluation(self):
            for i, layer in enumerate(self.layers):
                x = layer.forward(x)
                rows.append(f"{f'{i} {layer!r}':<38}{str(x.shape[1:]):<18}{layer.n_params:>10,}")
        rows.append(f"{'total':<56}{self.n_params:>10,}")
        return "\n".join(rows)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner},\n])"

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


@contextlib.contextmanager
def _evaluation(model: Sequential):
    """Evaluation mode inside the block; every layer's previous mode is restored after."""
    saved = [layer.training for layer in model.layers]
    model.eval()
    try:
        yield model
    finally:
        for layer, mode in zip(model.layers, saved, strict=True):
            layer.training = mode


def lenet(
    in_channels: int = 1,
    n_classes: int = 10,
    *,
    image_size: int = 28,
    channels: tuple[int, int] = (8, 16),
    hidden: int = 64,
    dropout: float = 0.0,
    rng=0,
) -> Sequential:
    """A small LeNet-style CNN :cite:p:`lecun1998gradient` for ``image_size`` squares.

    conv 5x5 (padding 2) -> ReLU -> max-pool 2 -> conv 5x5 (padding 2) -> ReLU ->
    max-pool 2 -> flatten -> dense ``hidden`` -> ReLU -> [dropout] -> dense ``n_classes``.

    Parameters
    ----------
    in_channels, n_classes : int
    image_size : int
        Height and width of the inputs, a multiple of 4.
    channels : (int, int)
        Filters of the two convolution layers.
    hidden : int
        Units of the hidden dense layer.
    dropout : float
        Dropout probability after the hidden layer (0: no dropout layer).
    rng : None, int or numpy.random.Generator
        Seeds the He initialisation of all layers.
    """
    if image_size < 4 or image_size % 4:
        raise ValueError(f"image_size must be a positive multiple of 4, got {image_size}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    c1, c2 = channels
    side = image_size // 4
    layers = [
        Conv2D(in_channels, c1, 5, padding=2, rng=rng),
        ReLU(),
        MaxPool2D(2),
        Conv2D(c1, c2, 5, padding=2, rng=rng),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(c2 * side * side, hidden, rng=rng),
        ReLU(),
    ]
    if dropout:
        layers.append(Dropout(dropout, rng=rng))
    return Sequential([*layers, Dense(hidden, n_classes, rng=rng)])


LENET_MNIST_RECIPE = {"seed": 0, "epochs": 10, "batch_size": 32, "lr": 2e-3, "lr_decay": 0.7}
"""How :func:`train_lenet_mnist` trains by default (Adam, learning rate decayed per epoch)."""


def train_lenet_mnist(*, verbose: bool = False, progress: bool = False, **recipe):
    """Train the course's LeNet on the 4,000 MNIST training images, deterministically.

    Chapter 06 trains this network in front of the reader; later chapters load the
    same weights from ``chapters/data/lenet_mnist.npz`` (written by
    ``scripts/train_lenet_mnist.py`` with this function) or call it again.

    Parameters
    ----------
    verbose, progress : bool
        As in :func:`fit`.
    **recipe
        Overrides of :data:`LENET_MNIST_RECIPE` (``seed``, ``epochs``, ``batch_size``,
        ``lr``, ``lr_decay``).

    Returns
    -------
    model : Sequential
        In evaluation mode.
    history : History
        Per epoch, with the 1,000 held-out test images as validation data.
    """
    from dlcv.data import load_mnist

    unknown = set(recipe) - set(LENET_MNIST_RECIPE)
    if unknown:
        raise TypeError(
            f"unknown recipe keys {sorted(unknown)}; known: {sorted(LENET_MNIST_RECIPE)}"
        )
    r = {**LENET_MNIST_RECIPE, **recipe}
    data = load_mnist()
    model = lenet(rng=r["seed"])
    history = fit(
        model,
        data.x_train,
        data.y_train,
        epochs=r["epochs"],
        batch_size=r["batch_size"],
        optimizer=Adam(r["lr"]),
        lr_decay=r["lr_decay"],
        validation=(data.x_test, data.y_test),
        seed=r["seed"],
        verbose=verbose,
        progress=progress,
    )
    return model, history


def load_lenet_mnist() -> Sequential:
    """The LeNet weights shipped with the library (``dlcv/assets/lenet_mnist.npz``).

    Written by ``scripts/train_lenet_mnist.py`` with :func:`train_lenet_mnist`; its
    ``metadata`` records the recipe, the data, the test accuracy and the versions.
    """
    import importlib.resources

    path = importlib.resources.files("dlcv") / "assets" / "lenet_mnist.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python scripts/train_lenet_mnist.py` "
            "from the repository root to create it"
        )
    return load(Path(str(path)))


class _Optimizer:
    def __init__(self, lr: float, weight_decay: float):
        if not lr > 0:
            raise ValueError(f"lr (learning rate) must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.state: dict[str, tuple] = {}

    def _grad(self, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return grad + self.weight_decay * param if self.weight_decay else grad


class SGD(_Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v <- momentum * v - lr * g``; ``p <- p + v`` :cite:p:`rumelhart1986learning`.

    Parameters
    ----------
    lr : float
    momentum : float in [0, 1)
    weight_decay : float
        L2 penalty added to the gradient, ``g + weight_decay * p``.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def step(self, model: Sequential) -> None:
        """Update every parameter of ``model`` in place from its gradient."""
        for key, param, grad in model.parameters():
            g = self._grad(param, grad)
            if self.momentum:
                v = self.state.get(key)
                v = np.zeros_like(param) if v is None else v
                v *= self.momentum
                v -= self.lr * g
                self.state[key] = v
                param += v
            else:
                param -= (self.lr * g).astype(param.dtype, copy=False)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, momentum={self.momentum:g})"


class Adam(_Optimizer):
    """Adam :cite:p:`kingma2015adam`: per-parameter steps from running moments of the gradient.

    Parameters
    ----------
    lr : float
    beta1, beta2 : float in [0, 1)
        Decay of the first and second moment estimates.
    eps : float
    weight_decay : float
        L2 penalty added to the gradient.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.t = 0

    def step(self, model: Sequential) -> None:
        """Update every parameter of ``model`` in place from its gradient."""
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for key, param, grad in model.parameters():
            g = self._grad(param, grad)
            m, v = self.state.get(key) or (np.zeros_like(param), np.zeros_like(param))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            self.state[key] = (m, v)
            param -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g})"


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
        with _evaluation(model):
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


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


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
    verbose: bool = True,
    progress: bool | None = None,
    threads: int | None = 1,
) -> History:
    """Train ``model`` with mini-batches to minimise softmax cross-entropy.

    Parameters
    ----------
    model : Sequential
        Outputs class scores ``(N, K)``; trained in place.
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
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    optimizer = Adam() if optimizer is None else optimizer
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must have a step(model) method, got {type(optimizer).__name__}")
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
    x, y = _check_data(model, x, y, "training data")
    if validation is not None:
        if not (isinstance(validation, tuple) and len(validation) == 2):
            raise TypeError("validation must be a tuple (x_val, y_val)")
        x_val, y_val = _check_data(model, *validation, "validation data")
    progress = verbose if progress is None else progress
    limit = (
        contextlib.nullcontext()
        if threads is None
        else threadpool_limits(limits=_positive_int(threads, "threads"), user_api="blas")
    )
    with limit:
        return _train(
            model,
            x,
            y,
            None if validation is None else (x_val, y_val),
            epochs,
            batch_size,
            optimizer,
            seed,
            lr_decay,
            verbose,
            progress,
        )


def _train(
    model, x, y, validation, epochs, batch_size, optimizer, seed, lr_decay, verbose, progress
) -> History:
    """The loop of :func:`fit`, on validated arguments."""
    rng = np.random.default_rng(seed)
    history = History()
    n_batches = -(-len(x) // batch_size)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x))
        model.train()
        total_loss, correct = 0.0, 0
        bar = tqdm(
            range(n_batches),
            desc=f"epoch {epoch}/{epochs}",
            leave=False,
            disable=not progress,
            unit="batch",
        )
        for b in bar:
            idx = order[b * batch_size : (b + 1) * batch_size]
            logits = model.forward(x[idx])
            loss, dlogits = softmax_cross_entropy(logits, y[idx])
            if not np.isfinite(loss):
                lr = getattr(optimizer, "lr", None)
                hint = f" (lr={lr:g}); try {lr / 10:g}" if lr else ""
                raise TrainingDivergedError(
                    f"the loss became {loss} at epoch {epoch}, batch {b + 1} of {n_batches}: "
                    f"training diverged. Lower the learning rate{hint}.",
                    epoch,
                    b + 1,
                    history,
                )
            model.backward(dlogits, input_grad=False)
            optimizer.step(model)
            total_loss += loss * len(idx)
            correct += int((logits.argmax(axis=1) == y[idx]).sum())
            if b % 10 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")
        bar.close()
        history.loss.append(total_loss / len(x))
        history.accuracy.append(correct / len(x))
        line = (
            f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {history.loss[-1]:.3f}  "
            f"accuracy {history.accuracy[-1]:.1%}"
        )
        if validation is not None:
            val_loss, val_acc = evaluate(model, *validation)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc)
            line += f"  val_loss {val_loss:.3f}  val_accuracy {val_acc:.1%}"
        history.seconds.append(time.perf_counter() - start)
        if lr_decay != 1:
            optimizer.lr *= lr_decay
        if verbose:
            print(line, flush=True)
    model.eval()
    return history


def _batched_forward(model: Sequential, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Logits in evaluation mode, ``batch_size`` images at a time, on one BLAS thread."""
    batch_size = _positive_int(batch_size, "batch_size")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(
            f"x must be a numeric NumPy array, got {getattr(x, 'dtype', type(x).__name__)}"
        )
    if len(x) == 0:
        raise ValueError(f"x is empty (shape {x.shape})")
    x = x.astype(model.dtype, copy=False)
    with _evaluation(model), threadpool_limits(limits=1, user_api="blas"):
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
    with _evaluation(model), threadpool_limits(limits=1, user_api="blas"):
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


def save(model: Sequential, path, metadata: dict | None = None) -> Path:
    """Write weights and architecture to one ``.npz`` file (no pickle).

    Parameters
    ----------
    model : Sequential
    path : str or Path
        Should end with ``.npz``.
    metadata : dict, optional
        JSON-serialisable notes kept with the weights (how they were made, accuracy).

    Returns
    -------
    Path
        The file written. The architecture is stored as JSON text under
        ``"architecture"``; parameter ``i.name`` under the same key.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end with .npz, got {path.name!r}")
    arch = {
        "format": _FORMAT,
        "dtype": str(model.dtype),
        "layers": model.get_config(),
        "metadata": metadata or {},
    }
    arrays = {key: value for key, value, _ in model.parameters()}
    np.savez_compressed(path, architecture=np.array(json.dumps(arch)), **arrays)
    return path


def load(path) -> Sequential:
    """Rebuild a model written by :func:`save`; its ``metadata`` attribute holds the notes."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "architecture" not in data.files:
            raise ValueError(f"{path} was not written by dlcv.train.save (no 'architecture' entry)")
        arch = json.loads(str(data["architecture"]))
        if arch.get("format") != _FORMAT:
            raise ValueError(f"{path}: unknown format {arch.get('format')!r}, expected {_FORMAT!r}")
        layers = []
        for spec in arch["layers"]:
            if spec["type"] not in LAYER_TYPES:
                raise ValueError(f"{path}: unknown layer type {spec['type']!r}")
            layers.append(LAYER_TYPES[spec["type"]](**spec["config"]))
        model = Sequential(layers).astype(arch["dtype"])
        for i, layer in enumerate(model.layers):
            for name, value in layer.params.items():
                stored = data[f"{i}.{name}"]
                if stored.shape != value.shape:
                    raise ValueError(
                        f"{path}: parameter {i}.{name} has shape {stored.shape}, "
                        f"the architecture needs {value.shape}"
                    )
                layer.params[name] = stored.astype(arch["dtype"])
    model.metadata = arch.get("metadata", {})
    return model.eval()
