"""Adversarial examples: small changes to an image, chosen to change a classifier's answer.

A classifier's loss ``L(x, y)`` has a gradient with respect to the *input* image ``x``, not
only its weights. Stepping the image along that gradient raises the loss fastest; with
each pixel allowed to move by at most ``epsilon`` (an L-infinity ball), the best single step
is to move every pixel by ``epsilon`` in the direction of the gradient's sign: the **fast
gradient sign method** (FGSM, Goodfellow, Shlens and Szegedy, 2015). **Projected gradient
descent** (PGD, Madry et al., 2018) takes several smaller such steps from a random start in
the ball and projects back into it after each, which finds stronger perturbations.

Both attacks work on any model for which :func:`input_gradient` can compute ``dL/dx``: a
:class:`dlcv.layers.Sequential` network (its backward pass returns the input gradient) or
a fitted scikit-learn ``LogisticRegression`` on flattened pixels (its gradient has a closed
form, ``(softmax(x W^T + b) - onehot(y)) W``). The loss is the cross-entropy of each
example, so each row of the gradient is that example's own. Pixels stay in ``[0, 1]``.

>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> x = rng.random((40, 1, 2, 2)); y = (x[:, 0, 0, 0] > 0.5).astype(int)
>>> clf = LogisticRegression().fit(x.reshape(40, -1), y)
>>> adv = fgsm(clf, x, y, epsilon=0.1)
>>> bool(np.abs(adv - x).max() <= 0.1 + 1e-12), bool(((adv >= 0) & (adv <= 1)).all())
(True, True)
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcv.layers import Sequential, evaluation_mode, softmax, softmax_cross_entropy
from dlcv.validate import check_int, generator

__all__ = ["fgsm", "input_gradient", "loss_per_example", "pgd"]


def _epsilon(value, name: str = "epsilon") -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number (pixels are in [0, 1]), got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _check(model, x, labels) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(model, Sequential) and not (
        hasattr(model, "coef_") and hasattr(model, "predict_proba")
    ):
        raise TypeError(
            "model must be a dlcv.layers.Sequential or a fitted scikit-learn "
            f"LogisticRegression, got {type(model).__name__}"
        )
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0 or x.dtype.kind != "f":
        raise ValueError(f"x must be a float array of N >= 1 images, got {x.dtype} {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x must hold finite pixel values (NaN or infinity found)")
    labels = np.asarray(labels)
    if labels.shape != (len(x),) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be {len(x)} integer classes (one per image), got {labels.dtype} "
            f"{labels.shape}"
        )
    return x, labels


def _linear(model, x, labels):
    """Per-example cross-entropy and its input gradient for a linear softmax model."""
    flat = x.reshape(len(x), -1)
    coef, intercept = np.asarray(model.coef_, float), np.asarray(model.intercept_, float)
    if coef.shape[1] != flat.shape[1]:
        raise ValueError(f"x has {flat.shape[1]} pixels per image, the model {coef.shape[1]}")
    classes = list(np.asarray(model.classes_))
    if not np.isin(labels, classes).all():
        raise ValueError(f"labels must be among the model's classes {classes}")
    index = np.searchsorted(classes, labels)
    if coef.shape[0] == 1:  # binary: scikit-learn keeps one row, the logit of class 1
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    logits = flat @ coef.T + intercept
    p = softmax(logits)
    losses = -np.log(np.clip(p[np.arange(len(x)), index], 1e-300, None))
    p[np.arange(len(x)), index] -= 1.0
    return losses, (p @ coef).reshape(x.shape).astype(x.dtype)


def _network(model, x, labels):
    with evaluation_mode(model):
        logits = model.forward(x)
        if labels.max() >= logits.shape[1] or labels.min() < 0:
            raise ValueError(f"labels must be classes 0..{logits.shape[1] - 1}")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses = -log_p[np.arange(len(x)), labels]
        _, dlogits = softmax_cross_entropy(logits, labels)  # the mean's gradient ...
        grad = model.backward(dlogits * len(x))  # ... times N: each example's own
    return losses.astype(np.float64), grad


def input_gradient(model, x, labels) -> np.ndarray:
    """The gradient of each example's cross-entropy loss with respect to its pixels.

    Parameters
    ----------
    model : dlcv.layers.Sequential or fitted sklearn.linear_model.LogisticRegression
        A network (run in evaluation mode; its parameter gradients are overwritten) or a
        linear softmax classifier fitted on flattened images.
    x : ndarray, (N, ...) float
        Images as the model takes them (a network: (N, C, H, W)).
    labels : ndarray, (N,) int
        The true classes.

    Returns
    -------
    ndarray, same shape and dtype as ``x``
        Row ``n`` is ``dL_n / dx_n``.
    """
    x, labels = _check(model, x, labels)
    return (_network if isinstance(model, Sequential) else _linear)(model, x, labels)[1]


def loss_per_example(model, x, labels) -> np.ndarray:
    """Each example's cross-entropy loss, ``(N,)`` float64 (arguments as :func:`input_gradient`)."""
    x, labels = _check(model, x, labels)
    return (_network if isinstance(model, Sequential) else _linear)(model, x, labels)[0]


def fgsm(model, x, labels, epsilon) -> np.ndarray:
    """The fast gradient sign method: ``clip(x + epsilon * sign(dL/dx), 0, 1)``.

    Every pixel moves by ``epsilon`` (less where the clip to ``[0, 1]`` stops it) in the
    direction that raises the loss of the true class ``labels`` (arguments as
    :func:`input_gradient`). ``epsilon = 0`` returns a copy of ``x``.
    """
    epsilon = _epsilon(epsilon)
    grad = input_gradient(model, x, labels)
    x = np.asarray(x)
    return np.clip(x + epsilon * np.sign(grad), 0.0, 1.0).astype(x.dtype)


def pgd(model, x, labels, epsilon, steps=10, step_size=None, random_start=True, rng=0):
    """Projected gradient descent in the L-infinity ball of radius ``epsilon`` around ``x``.

    From a uniform random point of the ball (``random_start``; else ``x`` itself), take
    ``steps`` signed-gradient steps of ``step_size`` (default ``2.5 * epsilon / steps``,
    Madry et al.'s choice), each followed by projection back into the ball and into
    ``[0, 1]``. Returns the last iterate, ``(N, ...)`` like ``x``.
    """
    epsilon, steps = _epsilon(epsilon), check_int(steps, "steps", 1)
    alpha = 2.5 * epsilon / steps if step_size is None else _epsilon(step_size, "step_size")
    x, labels = _check(model, x, labels)
    rng = generator(rng)
    low, high = np.clip(x - epsilon, 0, 1), np.clip(x + epsilon, 0, 1)
    adv = x.copy()
    if random_start and epsilon > 0:
        adv = np.clip(x + rng.uniform(-epsilon, epsilon, x.shape), low, high).astype(x.dtype)
    for _ in range(steps):
        adv = np.clip(adv + alpha * np.sign(input_gradient(model, adv, labels)), low, high)
        adv = adv.astype(x.dtype)
    return adv
