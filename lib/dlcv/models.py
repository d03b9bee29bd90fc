"""The course's networks: LeNet, its training recipe, the shipped weights, and files.

* :func:`lenet` builds the LeNet-style CNN of chapter 06;
* :func:`train_lenet_mnist` trains it with :data:`LENET_MNIST_RECIPE`, deterministically;
* :func:`load_lenet_mnist` loads the weights shipped with the library (made by
  ``scripts/train_lenet_mnist.py``);
* :func:`save` and :func:`load` write and read any :class:`~dlcv.layers.Sequential` as one
  ``.npz`` file (weights plus the architecture as JSON; no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcv.layers import (
    LAYER_TYPES,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
)
from dlcv.optim import Adam
from dlcv.train import fit
from dlcv.validate import generator

__all__ = ["LENET_MNIST_RECIPE", "lenet", "load", "load_lenet_mnist", "save", "train_lenet_mnist"]

_FORMAT = "dlcv.train/1"  # the format string of every file written so far; keep it


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
    rng = generator(rng)
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


LENET_MNIST_RECIPE = {
    "seed": 0,
    "channels": (16, 32),
    "epochs": 5,
    "batch_size": 32,
    "lr": 5e-3,
    "lr_decay": 0.7,
}
"""How :func:`train_lenet_mnist` trains by default (Adam, learning rate decayed per epoch).

``channels``, ``lr`` and ``epochs`` are the setting chosen on the validation part by
``scripts/mnist_selection.py`` (:mod:`dlcv.selection`; a test checks they agree)."""


def train_lenet_mnist(*, verbose: bool = False, progress: bool = False, **recipe):
    """Train the course's LeNet on the 3,500 MNIST training images, deterministically.

    Chapter 06 trains this network in front of the reader; later chapters load the
    same weights from ``dlcv/assets/lenet_mnist.npz`` (written by
    ``scripts/train_lenet_mnist.py`` with this function) or call it again.

    Parameters
    ----------
    verbose, progress : bool
        As in :func:`fit`.
    **recipe
        Overrides of :data:`LENET_MNIST_RECIPE` (``seed``, ``channels``, ``epochs``,
        ``batch_size``, ``lr``, ``lr_decay``).

    Returns
    -------
    model : Sequential
        In evaluation mode.
    history : History
        Per epoch, with the 500 images of the validation part as validation data
        (:func:`dlcv.data.load_mnist_splits`; the test part is not touched).
    """
    from dlcv.data import load_mnist_splits

    unknown = set(recipe) - set(LENET_MNIST_RECIPE)
    if unknown:
        raise TypeError(
            f"unknown recipe keys {sorted(unknown)}; known: {sorted(LENET_MNIST_RECIPE)}"
        )
    r = {**LENET_MNIST_RECIPE, **recipe}
    data = load_mnist_splits()
    model = lenet(channels=tuple(r["channels"]), rng=r["seed"])
    history = fit(
        model,
        data.x_train,
        data.y_train,
        epochs=r["epochs"],
        batch_size=r["batch_size"],
        optimizer=Adam(r["lr"]),
        lr_decay=r["lr_decay"],
        validation=(data.x_val, data.y_val),
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
    arrays = {
        f"{i}.{name}": value
        for i, layer in enumerate(model.layers)
        for name, value in layer.params.items()
    }
    np.savez_compressed(path, architecture=np.array(json.dumps(arch)), **arrays)
    return path


def load(path) -> Sequential:
    """Rebuild a model written by :func:`save`; its ``metadata`` attribute holds the notes."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "architecture" not in data.files:
            raise ValueError(f"{path} was not written by dlcv.models.save (no 'architecture')")
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
