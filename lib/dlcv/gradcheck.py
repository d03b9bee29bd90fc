"""Numerical gradient checks: is a backward pass right?

A backward pass is checked against centred differences,

.. math:: \\frac{\\partial f}{\\partial x_i} \\approx \\frac{f(x + h e_i) - f(x - h e_i)}{2h},

computed in float64, whose error is of order :math:`h^2` (about 1e-12 for the default
``h = 1e-6``), far below the 1e-7 that separates a correct backward pass from a wrong one.

The error of an analytic gradient ``a`` against the numerical one ``n`` is reported as

.. math:: \\frac{\\max_i |a_i - n_i|}{\\max(\\max_i |a_i|, \\max_i |n_i|)},

the largest elementwise error relative to the size of the gradient (0 when both are 0).

>>> import numpy as np
>>> from dlcv.layers import Dense
>>> errors = check_layer(Dense(3, 2, rng=0), np.random.default_rng(0).normal(size=(4, 3)))
>>> sorted(errors), max(errors.values()) < 1e-7
(['bias', 'weight', 'x'], True)
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from dlcv.layers import Layer, softmax_cross_entropy

__all__ = ["check_layer", "check_model", "numerical_gradient", "relative_error"]


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Largest elementwise difference, relative to the largest gradient entry.

    Parameters
    ----------
    analytic, numeric : ndarray, same shape

    Returns
    -------
    float
        ``max|a - n| / max(max|a|, max|n|)``; 0.0 when both arrays are all zeros.
    """
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"analytic gradient has shape {analytic.shape} but numeric gradient "
            f"has shape {numeric.shape}"
        )
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    Parameters
    ----------
    f : callable
        Takes no argument and returns a float; it must read ``x`` (which is changed
        in place, one entry at a time, and restored).
    x : ndarray of float64
    h : float
        Step size.

    Returns
    -------
    ndarray, same shape as ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "x must be a float64 NumPy array (gradient checks need double precision), "
            f"got {getattr(x, 'dtype', type(x).__name__)}"
        )
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def _as_float64(x) -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"x must be numeric, got dtype {x.dtype}")
    return np.array(x, dtype=np.float64)  # a contiguous copy we may perturb


def check_layer(
    layer: Layer, x: np.ndarray, dout: np.ndarray | None = None, *, seed: int = 0, h: float = 1e-6
) -> dict[str, float]:
    """Compare a layer's backward pass with centred differences, in float64.

    The scalar checked is ``sum(layer.forward(x) * dout)``, whose gradient with respect
    to the output is ``dout``. The layer is copied and converted to float64, and every
    evaluation starts from the same copy, so layers that draw random numbers (dropout)
    see the same mask each time. The original layer is not changed.

    Parameters
    ----------
    layer : dlcv.layers.Layer
    x : ndarray
        An input the layer accepts; converted to float64.
    dout : ndarray, optional
        Upstream gradient, shape of the output; standard normal (``seed``) by default.
    seed : int
    h : float
        Step of the centred differences.

    Returns
    -------
    dict of str to float
        ``"x"`` and every parameter name mapped to :func:`relative_error`.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a dlcv.layers.Layer, got {type(layer).__name__}")
    x = _as_float64(x)
    start = copy.deepcopy(layer).astype(np.float64)

    def run(params=None) -> tuple[Layer, np.ndarray]:
        fresh = copy.deepcopy(start)
        if params is not None:
            fresh.params = params
        return fresh, fresh.forward(x)

    probe, out = run()
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(out.shape)
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != out.shape:
        raise ValueError(f"dout must have the output's shape {out.shape}, got {dout.shape}")
    dx = probe.backward(dout)
    params = {k: v.copy() for k, v in start.params.items()}
    errors = {
        "x": relative_error(
            dx, numerical_gradient(lambda: float((run(params)[1] * dout).sum()), x, h)
        )
    }
    for name, value in params.items():
        numeric = numerical_gradient(lambda: float((run(params)[1] * dout).sum()), value, h)
        errors[name] = relative_error(probe.grads[name], numeric)
    return errors


def check_model(
    model, x: np.ndarray, y: np.ndarray, *, h: float = 1e-6, loss: Callable = softmax_cross_entropy
) -> dict[str, float]:
    """Compare a whole model's backward pass, loss included, with centred differences.

    Parameters
    ----------
    model : dlcv.layers.Sequential
        Copied and converted to float64; the original is not changed.
    x : ndarray
        A (small) batch of inputs.
    y : ndarray of int
        Its labels.
    h : float
    loss : callable
        ``loss(logits, y) -> (value, dlogits)``; softmax cross-entropy by default.

    Returns
    -------
    dict of str to float
        ``"x"`` and every parameter ``"<layer index>.<name>"`` (e.g. ``"0.weight"``)
        mapped to :func:`relative_error`.
    """
    x = _as_float64(x)
    start = copy.deepcopy(model).astype(np.float64)

    def value(m=None) -> float:
        m = copy.deepcopy(start) if m is None else m
        return float(loss(m.forward(x), y)[0])

    probe = copy.deepcopy(start)
    _, dlogits = loss(probe.forward(x), y)
    dx = probe.backward(dlogits)
    errors = {"x": relative_error(dx, numerical_gradient(value, x, h))}
    shared = copy.deepcopy(start)
    for i, layer in enumerate(shared.layers):
        for name, param in layer.params.items():

            def perturbed() -> float:
                fresh = copy.deepcopy(start)
                for j, lay in enumerate(fresh.layers):
                    lay.params = shared.layers[j].params
                return value(fresh)

            numeric = numerical_gradient(perturbed, param, h)
            errors[f"{i}.{name}"] = relative_error(probe.layers[i].grads[name], numeric)
    return errors
