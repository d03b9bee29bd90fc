"""Neural-network layers with a forward and a backward pass, and the softmax loss.

Every layer follows the same small contract (the style of Stanford's CS231n):

* ``out = layer.forward(x)`` computes the output and keeps in ``layer.cache`` what
  the backward pass needs;
* ``dx = layer.backward(dout)`` takes the gradient of the loss with respect to the
  output, returns the gradient with respect to the input and stores the gradient of
  every parameter in ``layer.grads`` (same keys as ``layer.params``).

Parameters and their gradients are plain NumPy arrays in two dictionaries,
``layer.params`` and ``layer.grads``, so an optimizer updates any layer the same way.
Layers compute in ``float32`` by default (fast); ``layer.astype(np.float64)`` switches
to double precision for gradient checks (see :mod:`dlcv.gradcheck`).

Images are ``(N, C, H, W)`` (batch, channels, height, width), as in PyTorch.

>>> import numpy as np
>>> from dlcv.layers import Conv2D, ReLU
>>> conv = Conv2D(1, 4, 3, padding=1, rng=0)
>>> x = np.zeros((2, 1, 8, 8), dtype=np.float32)
>>> conv.forward(x).shape
(2, 4, 8, 8)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import numpy as np

# The im2col/col2im pair is shared with dlcv.conv.conv2d/conv2d_backward (one copy of
# the code); the layer keeps the im2col matrix of its forward pass for its backward pass.
from dlcv.conv import check_conv2d_args, col2im, im2col, resolve_padding
from dlcv.pool import max_pool2d, max_pool2d_backward
from dlcv.validate import check_int, generator, int_pair

__all__ = [
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ReLU",
    "Sequential",
    "LAYER_TYPES",
    "evaluation_mode",
    "softmax",
    "softmax_cross_entropy",
]


def _check_input(layer: Layer, x, ndim: int | None, expected: str) -> np.ndarray:
    """Check that ``x`` is a floating-point array with ``ndim`` dimensions (None: any >= 2)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer!r} expects a NumPy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{layer!r} expects a floating-point array, got dtype {x.dtype}")
    if (x.ndim != ndim) if ndim is not None else (x.ndim < 2):
        raise ValueError(f"{layer!r} expects input of shape {expected}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{layer!r} got an empty batch (shape {x.shape})")
    return x


class Layer:
    """Base class: holds ``params``, ``grads``, the ``cache`` and the train/eval mode.

    Attributes
    ----------
    trainable : bool
        True by default. False freezes the layer: its ``backward`` still returns the
        gradient for its input (so the layers before it keep learning) but no longer
        computes its parameters' gradients, and :meth:`Sequential.parameters` (what
        every optimizer updates) leaves its parameters out, so training changes them
        not one bit. Set it back to True to train them again.
    training : bool
        Training mode (dropout active) or evaluation mode.
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache = None
        self.training = True
        self.trainable = True

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Gradient for the input (None when ``input_grad`` is False: the first layer of
        a network needs only its parameters' gradients, so it may skip this work)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _need_cache(self):
        if self.cache is None:
            raise RuntimeError(f"{self!r}: call forward before backward")
        return self.cache

    def get_config(self) -> dict:
        """The constructor arguments, JSON-serialisable (used by ``dlcv.models.save``)."""
        return {}

    def astype(self, dtype) -> Layer:
        """Convert the parameters to ``dtype`` in place and return the layer."""
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return self

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "dtype")
        return f"{type(self).__name__}({args})"


class Conv2D(Layer):
    """2-D convolution layer (cross-correlation, as ``torch.nn.Conv2d``) by im2col + matmul.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels ``C`` of the input and ``F`` of the output.
    kernel_size : int or (int, int)
    stride, padding, dilation
        As in :func:`dlcv.conv.conv2d` (padding: int, pair, ``"same"`` or ``"valid"``).
    rng : None, int or numpy.random.Generator
        Source of the He-normal initial weights, ``N(0, 2 / (C * kh * kw))``
        (He et al., 2015); biases start at 0.
    dtype : numpy dtype, default float32

    Notes
    -----
    ``forward(x)`` maps ``(N, C, H, W)`` to ``(N, F, H', W')`` and equals
    ``dlcv.conv.conv2d(x, weight, bias, stride, padding, dilation)``, whose validation
    it uses; ``backward`` gives what ``dlcv.conv.conv2d_backward`` gives. The layer
    keeps the im2col matrix of the forward pass for the backward pass (memory for
    speed). ``params``: ``weight`` ``(F, C, kh, kw)`` and ``bias`` ``(F,)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        *,
        rng=None,
        dtype=np.float32,
    ):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1)
        self.out_channels = check_int(out_channels, "out_channels", 1)
        self.kernel_size = int_pair(kernel_size, "kernel_size", 1)
        self.stride = int_pair(stride, "stride", 1)
        self.dilation = int_pair(dilation, "dilation", 1)
        resolve_padding(padding, self.kernel_size, self.dilation)  # validates
        self.padding = padding if isinstance(padding, str) else int_pair(padding, "padding", 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        weight = generator(rng).standard_normal((self.out_channels, self.in_channels, kh, kw))
        self.params = {
            "weight": (weight * np.sqrt(2.0 / fan_in)).astype(dtype),
            "bias": np.zeros(self.out_channels, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def get_config(self) -> dict:
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": padding,
            "dilation": list(self.dilation),
        }

    def __repr__(self) -> str:
        return (
            f"Conv2D({self.in_channels}->{self.out_channels}, kernel={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding})"
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, 4, f"(N, {self.in_channels}, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channels, i.e. input "
                f"of shape (N, {self.in_channels}, H, W); got shape {x.shape}"
            )
        weight = self.params["weight"]
        x, _, _, stride, dilation, pads, out_hw = check_conv2d_args(
            x, weight, None, self.stride, self.padding, self.dilation
        )
        cols = im2col(x, self.kernel_size, pads, stride, dilation, out_hw)
        out = weight.reshape(self.out_channels, -1) @ cols
        out += self.params["bias"][:, None]
        self.cache = (x.shape, cols, pads, out_hw)
        return out.reshape(self.out_channels, x.shape[0], *out_hw).transpose(1, 0, 2, 3)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape, cols, pads, out_hw = self._need_cache()
        weight = self.params["weight"]
        f = self.out_channels
        dout2 = dout.transpose(1, 0, 2, 3).reshape(f, -1)
        if self.trainable:
            self.grads["weight"] = (
                (dout2 @ cols.T).reshape(weight.shape).astype(weight.dtype, copy=False)
            )
            self.grads["bias"] = dout2.sum(axis=1).astype(weight.dtype, copy=False)
        if not input_grad:
            return None
        dcols = weight.reshape(f, -1).T @ dout2
        return col2im(dcols, x_shape, self.kernel_size, pads, self.stride, self.dilation, out_hw)


class MaxPool2D(Layer):
    """Max pooling over ``(N, C, H, W)``; the gradient flows to each window's maximum.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        Implicit ``-inf`` padding, at most half the kernel (as in PyTorch).

    Notes
    -----
    The forward pass is :func:`dlcv.pool.max_pool2d`. When several values tie for
    a window's maximum, the first one (row-major) gets the gradient, as in
    :func:`dlcv.pool.max_pool2d_backward`; overlapping windows add up.
    """

    def __init__(self, kernel_size=2, stride=None, padding=0):
        super().__init__()
        self.kernel_size = int_pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else int_pair(stride, "stride", 1)
        self.padding = int_pair(padding, "padding", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"padding {self.padding} must be at most half of kernel_size {self.kernel_size}"
            )

    def get_config(self) -> dict:
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, 4, "(N, C, H, W)")
        out, indices = max_pool2d(
            x, self.kernel_size, self.stride, self.padding, return_indices=True
        )
        self.cache = (x.shape, indices)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape, indices = self._need_cache()
        return max_pool2d_backward(dout, indices, x_shape) if input_grad else None


class ReLU(Layer):
    """Rectified linear unit, ``max(x, 0)``, elementwise on any shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, None, "(N, ...)")
        mask = x > 0
        self.cache = mask
        return x * mask

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        mask = self._need_cache()
        return dout * mask if input_grad else None


class Flatten(Layer):
    """Reshape ``(N, d1, d2, ...)`` to ``(N, d1 * d2 * ...)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, None, "(N, ...)")
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        shape = self._need_cache()
        return dout.reshape(shape) if input_grad else None


class Dense(Layer):
    """Fully connected layer ``x @ weight + bias``.

    Parameters
    ----------
    in_features, out_features : int
    rng : None, int or numpy.random.Generator
        Source of the He-normal initial weights ``N(0, 2 / in_features)``.
    dtype : numpy dtype, default float32

    Notes
    -----
    ``forward`` maps ``(N, in_features)`` to ``(N, out_features)``. ``params``:
    ``weight`` ``(in_features, out_features)`` and ``bias`` ``(out_features,)``.
    """

    def __init__(self, in_features: int, out_features: int, *, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", 1)
        self.out_features = check_int(out_features, "out_features", 1)
        weight = generator(rng).standard_normal((self.in_features, self.out_features))
        self.params = {
            "weight": (weight * np.sqrt(2.0 / self.in_features)).astype(dtype),
            "bias": np.zeros(self.out_features, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def get_config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}

    def __repr__(self) -> str:
        return f"Dense({self.in_features}->{self.out_features})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, 2, f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_features}); got shape "
                f"{x.shape} (does the layer before output {x.shape[1]} features?)"
            )
        self.cache = x
        return x @ self.params["weight"] + self.params["bias"]

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._need_cache()
        weight = self.params["weight"]
        if self.trainable:
            self.grads["weight"] = (x.T @ dout).astype(weight.dtype, copy=False)
            self.grads["bias"] = dout.sum(axis=0).astype(weight.dtype, copy=False)
        return dout @ weight.T if input_grad else None


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``p`` and scale
    the survivors by ``1 / (1 - p)``; at evaluation (``training = False``) the identity.

    Parameters
    ----------
    p : float in [0, 1)
    rng : None, int or numpy.random.Generator
        Draws the masks; a seeded generator makes training reproducible.
    """

    def __init__(self, p: float = 0.5, *, rng=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = generator(rng)

    def get_config(self) -> dict:
        return {"p": self.p}

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_input(self, x, None, "(N, ...)")
        if not self.training or self.p == 0.0:
            self.cache = _IDENTITY
            return x
        mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1.0 - self.p)
        self.cache = mask
        return x * mask

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        mask = self._need_cache()
        if not input_grad:
            return None
        return dout if mask is _IDENTITY else dout * mask


_IDENTITY = object()  # Dropout's cache after a forward pass that kept every value


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Conv2D, MaxPool2D, ReLU, Flatten, Dense, Dropout)
}


class Sequential:
    """A stack of layers applied one after the other.

    Parameters
    ----------
    layers : iterable of dlcv.layers.Layer

    Notes
    -----
    ``forward(x)`` runs every layer; ``backward(dout)`` runs them in reverse and
    returns the gradient for the input, leaving each parameter's gradient in its
    layer's ``grads``. ``parameters()`` yields ``(key, param, grad)`` triples of the
    trainable layers, with keys ``"<index>.<name>"`` (e.g. ``"0.weight"``), which is
    all an optimizer needs: a layer with ``trainable = False`` is left out, and the
    backward pass skips what no trainable layer needs.
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
        gradient for the input, or None when ``input_grad`` is False (faster in training).

        A layer's input gradient is computed only when a trainable layer below it (or
        the caller) needs it: below the lowest trainable layer nothing runs."""
        learns = [bool(layer.params) and layer.trainable for layer in self.layers]
        for i in range(len(self.layers) - 1, -1, -1):
            below = input_grad or any(learns[:i])
            if not (below or learns[i]):
                return None
            dout = self.layers[i].backward(dout, input_grad=below)
        return dout

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(key, parameter, gradient)`` of every trainable layer (what optimizers update)."""
        for i, layer in enumerate(self.layers):
            if layer.trainable:
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
        for layer in self.layers:
            for value in layer.params.values():
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
        cells = []
        with evaluation_mode(self):
            for i, layer in enumerate(self.layers):
                x = layer.forward(x)
                cells.append((f"{i} {layer!r}", str(x.shape[1:]), f"{layer.n_params:,}"))
        cells.append(("total", "", f"{self.n_params:,}"))
        head = ("layer", "output shape", "parameters")
        w0, w1, w2 = (max(len(c[k]) for c in [head, *cells]) for k in range(3))
        rows = [f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}" for a, b, c in [head, *cells]]
        return "\n".join(rows)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner},\n])"

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


@contextlib.contextmanager
def evaluation_mode(model: Sequential):
    """Evaluation mode inside the block; every layer's previous mode is restored after."""
    saved = [layer.training for layer in model.layers]
    model.eval()
    try:
        yield model
    finally:
        for layer, mode in zip(model.layers, saved, strict=True):
            layer.training = mode


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` scores, computed stably (max subtracted first)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the softmax of ``logits`` and its gradient.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        Unnormalised class scores.
    labels : ndarray of int, shape (N,)
        Class indices in ``[0, K - 1]``.

    Returns
    -------
    loss : float
        ``-mean(log softmax(logits)[n, labels[n]])``, computed with the log-sum-exp
        trick so large scores neither overflow nor underflow.
    dlogits : ndarray, shape (N, K)
        ``(softmax(logits) - onehot(labels)) / N``.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise ValueError(f"logits must have shape (N, K) with N >= 1, got {logits.shape}")
    if not np.issubdtype(logits.dtype, np.floating):
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if labels.shape != (logits.shape[0],):
        raise ValueError(
            f"labels must have shape ({logits.shape[0]},) to match logits "
            f"{logits.shape}, got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    n, k = logits.shape
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(
            f"labels must be in [0, {k - 1}] for {k} classes; found values from "
            f"{labels.min()} to {labels.max()}"
        )
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_z
    loss = -float(log_probs[np.arange(n), labels].mean())
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    dlogits /= n
    return loss, dlogits
