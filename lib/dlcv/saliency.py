"""Which pixels did the network look at? Saliency maps, and tests of whether they mean anything.

A **saliency map** gives each pixel of an image a score for how much it mattered to one
class's output. Three ways, from cheap to costly:

* :func:`gradient_map`: ``|d score_c / d x|``, how much the class score (its logit) would
  change if the pixel changed a little (Simonyan, Vedaldi and Zisserman, 2014);
* :func:`gradient_times_input`: ``x * d score_c / d x``, a first-order estimate of each
  pixel's contribution (Shrikumar et al., 2017); :func:`integrated_gradients` averages the
  gradient along the straight path from a baseline to ``x`` (Sundararajan et al., 2017);
* :func:`occlusion_map`: the drop in the class's probability when a patch around the pixel
  is blanked out (Zeiler and Fergus, 2014): no gradient, one forward pass per patch.

A map is only worth something if it is *faithful*. :func:`deletion_curve` removes pixels
most-salient first and follows the class's probability: a faithful map makes it fall faster
than removing pixels at random (Petsiuk, Das and Saenko, 2018). :func:`randomise_layers` is
the sanity check of Adebayo et al. (2018): a map that barely changes when the network's
weights are replaced by random ones explains the image, not the network.

Every function takes one image ``(C, H, W)`` (or a batch ``(N, C, H, W)`` where it says so)
and a :class:`dlcv.layers.Sequential` classifier, run in evaluation mode.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from dlcv.layers import Sequential, evaluation_mode, softmax
from dlcv.validate import check_int, generator, int_pair

__all__ = [
    "deletion_curve",
    "gradient_map",
    "gradient_times_input",
    "integrated_gradients",
    "occlusion_map",
    "randomise_layers",
]


def _model(model) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a dlcv.layers.Sequential, got {type(model).__name__}")
    return model


def _image(image) -> np.ndarray:
    x = np.asarray(image)
    if x.ndim != 3 or x.dtype.kind != "f" or not np.isfinite(x).all():
        raise ValueError(f"image must be one finite float image (C, H, W), got {x.dtype} {x.shape}")
    return x


def _class(model, x, label) -> int:
    with evaluation_mode(model):
        n_classes = model.forward(x[None]).shape[1]
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, numbers.Integral):
        raise TypeError(f"label must be an integer class, got {label!r}")
    if not 0 <= int(label) < n_classes:
        raise ValueError(f"label must be a class 0..{n_classes - 1}, got {label}")
    return int(label)


def _logit_gradient(model, batch, label) -> np.ndarray:
    """d logit_label / d input for every image of ``batch`` (N, C, H, W)."""
    with evaluation_mode(model):
        logits = model.forward(batch)
        seed = np.zeros_like(logits)
        seed[:, label] = 1.0
        return model.backward(seed)


def gradient_map(model, image, label) -> np.ndarray:
    """``|d logit_label / d image|``, summed over channels: ``(H, W)``."""
    model, x = _model(model), _image(image)
    label = _class(model, x, label)
    return np.abs(_logit_gradient(model, x[None], label)[0]).sum(axis=0)


def gradient_times_input(model, image, label) -> np.ndarray:
    """``image * d logit_label / d image``, summed over channels: ``(H, W)``, signed."""
    model, x = _model(model), _image(image)
    label = _class(model, x, label)
    return (x * _logit_gradient(model, x[None], label)[0]).sum(axis=0)


def integrated_gradients(model, image, label, baseline=None, steps=32) -> np.ndarray:
    """Integrated gradients from ``baseline`` (default: a black image) to ``image``.

    ``(x - x0) * mean over k of grad(x0 + (k + 1/2)/steps * (x - x0))`` (the midpoint
    rule), summed over channels: ``(H, W)``. Its total approximates ``logit(x) -
    logit(x0)`` (the *completeness* of Sundararajan et al.), more closely as ``steps``
    grows.
    """
    model, x = _model(model), _image(image)
    label, steps = _class(model, x, label), check_int(steps, "steps", 1)
    x0 = np.zeros_like(x) if baseline is None else _image(baseline)
    if x0.shape != x.shape:
        raise ValueError(f"baseline must have the image's shape {x.shape}, got {x0.shape}")
    alphas = (np.arange(steps) + 0.5) / steps
    path = (x0[None] + alphas[:, None, None, None] * (x - x0)[None]).astype(x.dtype)
    grads = _logit_gradient(model, path, label)
    return ((x - x0) * grads.mean(axis=0)).sum(axis=0)


def occlusion_map(model, image, label, patch=4, stride=2, fill=0.0) -> np.ndarray:
    """The drop in ``P(label)`` when a ``patch`` square is set to ``fill``: ``(H, W)``.

    Patches ``stride`` pixels apart cover the image; each pixel gets the mean drop of the
    patches that cover it (0 where none does). Positive: hiding it lowered the class's
    probability.
    """
    model, x = _model(model), _image(image)
    label = _class(model, x, label)
    (ph, pw), (sh, sw) = int_pair(patch, "patch", 1), int_pair(stride, "stride", 1)
    _, h, w = x.shape
    if ph > h or pw > w:
        raise ValueError(f"patch {(ph, pw)} is larger than the image {(h, w)}")
    corners = [(i, j) for i in range(0, h - ph + 1, sh) for j in range(0, w - pw + 1, sw)]
    batch = np.repeat(x[None], len(corners), axis=0)
    for k, (i, j) in enumerate(corners):
        batch[k, :, i : i + ph, j : j + pw] = fill
    with evaluation_mode(model):
        base = softmax(model.forward(x[None]))[0, label]
        probs = softmax(np.concatenate([model.forward(batch[s : s + 256])
                                        for s in range(0, len(batch), 256)]))[:, label]  # fmt: skip
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for (i, j), p in zip(corners, probs, strict=True):
        total[i : i + ph, j : j + pw] += base - p
        count[i : i + ph, j : j + pw] += 1
    return np.divide(total, count, out=np.zeros((h, w)), where=count > 0)


def deletion_curve(model, image, label, saliency, steps=20, fill=0.0):
    """``P(label)`` as pixels are set to ``fill``, most salient first.

    Parameters
    ----------
    saliency : ndarray (H, W)
        The order of deletion: highest first (ties: row-major order).
    steps : int
        Points of the curve after the first: after step ``k``, ``round(k / steps * H * W)``
        pixels (all channels of each) are deleted.

    Returns
    -------
    fractions : ndarray (steps + 1,)
        Share of pixels deleted, 0 to 1.
    probabilities : ndarray (steps + 1,)
        ``P(label)`` at each; ``probabilities[0]`` is that of the untouched image.
    area : float
        The area under the curve (trapezoids): lower means a more faithful map.
    """
    model, x = _model(model), _image(image)
    label, steps = _class(model, x, label), check_int(steps, "steps", 1)
    s = np.asarray(saliency, dtype=float)
    if s.shape != x.shape[1:] or not np.isfinite(s).all():
        raise ValueError(f"saliency must be finite with the image's shape {x.shape[1:]}, "
                         f"got {s.shape}")  # fmt: skip
    order = np.argsort(-s.ravel(), kind="stable")
    counts = np.round(np.arange(steps + 1) / steps * order.size).astype(int)
    batch = np.repeat(x[None], steps + 1, axis=0)
    for k, n in enumerate(counts):
        rows, cols = np.unravel_index(order[:n], s.shape)
        batch[k][:, rows, cols] = fill
    with evaluation_mode(model):
        probs = softmax(model.forward(batch))[:, label].astype(float)
    fractions = counts / order.size
    return fractions, probs, float(np.trapezoid(probs, fractions))


def randomise_layers(model, layers, rng=0) -> Sequential:
    """A copy of ``model`` whose layers ``layers`` (indices) have new random weights.

    Each chosen layer's parameters are redrawn from ``N(0, std)`` with the standard
    deviation of its current weights (biases set to 0), the others kept: Adebayo et al.'s
    *cascading randomisation* passes the top layers, then more and more of them. The
    original model is not changed.
    """
    model, rng = _model(model), generator(rng)
    out = copy.deepcopy(model)
    indices = sorted({check_int(i, "layers[i]", 0) for i in layers})
    for i in indices:
        if i >= len(out.layers):
            raise ValueError(f"layers must index the model's {len(out.layers)} layers, got {i}")
        layer = out.layers[i]
        if not layer.params:
            raise ValueError(f"layer {i} ({layer!r}) has no weights to randomise")
        for name, value in layer.params.items():
            std = float(value.std()) if name != "bias" else 0.0
            layer.params[name] = rng.normal(0.0, std, value.shape).astype(value.dtype)
    return out
