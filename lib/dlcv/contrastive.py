"""Learning without labels: the InfoNCE (NT-Xent) loss of contrastive learning, with its gradient.

SimCLR (Chen et al., 2020) learns features from unlabelled images: two random augmentations
of each image are encoded, and the loss asks each view to pick out its partner among all
``2N - 1`` other views of the batch. With ``z`` the L2-normalised embeddings and ``tau`` a
temperature, view ``i`` whose partner is ``p(i)`` contributes

.. math::

    \\ell_i = -\\log \\frac{\\exp(z_i \\cdot z_{p(i)} / \\tau)}
                          {\\sum_{k \\neq i} \\exp(z_i \\cdot z_k / \\tau)}

and the loss is the mean over all ``2N`` views (the *normalised temperature-scaled cross
entropy*, NT-Xent; the InfoNCE bound of van den Oord, Li and Vinyals, 2018). The gradient
goes back through the normalisation to the raw embeddings, so a network's last layer can
feed it directly (``tests/test_contrastive.py`` checks it numerically).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> h = rng.normal(size=(4, 8))
>>> same, _ = info_nce(h, h + 1e-3 * rng.normal(size=(4, 8)))   # partners nearly equal
>>> other, _ = info_nce(h, rng.normal(size=(4, 8)))             # partners unrelated
>>> bool(same < other)
True
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["info_nce"]


def info_nce(h1, h2, temperature=0.5) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """NT-Xent loss of the paired embeddings ``h1[i]`` and ``h2[i]``, and its gradients.

    Parameters
    ----------
    h1, h2 : ndarray (N, D) float, N >= 2
        Embeddings of two views of the same N images (before normalisation).
    temperature : float > 0
        ``tau``: small values sharpen the softmax over the batch.

    Returns
    -------
    loss : float
        The mean of ``l_i`` over the ``2N`` views.
    (dh1, dh2) : ndarrays (N, D)
        Its gradients for ``h1`` and ``h2``.
    """
    a, b = np.asarray(h1), np.asarray(h2)
    for name, v in (("h1", a), ("h2", b)):
        if v.ndim != 2 or v.dtype.kind != "f" or not np.isfinite(v).all():
            raise ValueError(f"{name} must be finite float embeddings (N, D), got {v.dtype} "
                             f"{v.shape}")  # fmt: skip
    if a.shape != b.shape or len(a) < 2:
        raise ValueError(f"h1 and h2 must have the same shape (N, D) with N >= 2 (each image's "
                         f"partner among others), got {a.shape} and {b.shape}")  # fmt: skip
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    n = len(a)
    h = np.concatenate([a, b]).astype(np.float64)
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    if np.any(norms < 1e-12):
        raise ValueError("an embedding of h1 or h2 is zero: its direction is undefined")
    z = h / norms
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)  # a view is not its own candidate
    partner = np.r_[np.arange(n, 2 * n), np.arange(n)]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_p[np.arange(2 * n), partner].mean())
    # d loss / d logits: (softmax - onehot(partner)) / 2N per row; logits = z z^T / tau
    d_logits = np.exp(log_p)
    d_logits[np.arange(2 * n), partner] -= 1.0
    d_logits /= 2 * n
    dz = (d_logits + d_logits.T) @ z / temperature
    # back through z = h / |h|: dh = (dz - z (z . dz)) / |h|
    dh = (dz - z * (z * dz).sum(axis=1, keepdims=True)) / norms
    return loss, (dh[:n].astype(a.dtype), dh[n:].astype(b.dtype))
