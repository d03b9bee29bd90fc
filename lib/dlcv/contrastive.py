"""Contrastive losses with their gradients: SimCLR's NT-Xent (InfoNCE) and CLIP's.

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

:func:`clip_loss` is the same idea across two kinds of input (Radford et al., 2021): each
image embedding must pick out its own text among the batch's texts and each text its own
image, a cross-entropy over the rows and the columns of the image-text similarity matrix
(chapter 12 grounds commands with it; ``tests/test_grounding.py`` checks its gradient).

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

__all__ = ["clip_loss", "info_nce"]


def _check_pairs(first, second, names, temperature, why="") -> tuple[np.ndarray, np.ndarray]:
    """Paired float embeddings (N, D), N >= 2, and a positive temperature, or a clear error."""
    a, b = np.asarray(first), np.asarray(second)
    for name, v in zip(names, (a, b), strict=True):
        if v.ndim != 2 or v.dtype.kind != "f" or not np.isfinite(v).all():
            raise ValueError(f"{name} must be finite float embeddings (N, D), got {v.dtype} "
                             f"{v.shape}")  # fmt: skip
    if a.shape != b.shape or len(a) < 2:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape (N, D) with "
                         f"N >= 2{why}, got {a.shape} and {b.shape}")  # fmt: skip
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return a, b


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
    a, b = _check_pairs(h1, h2, ("h1", "h2"), temperature, " (each image's partner among others)")
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


def clip_loss(image_embeddings, text_embeddings, temperature=0.1):
    """The symmetric contrastive loss of CLIP, and its gradients.

    With ``a_i``, ``b_j`` the L2-normalised image and text embeddings and
    ``s_ij = a_i . b_j / tau``, row ``i`` of ``s`` is a classification of text ``i``'s
    partner among the N images and column ``j`` one of image ``j``'s partner among the
    N texts:

    ``loss = (mean_i CE(s[i, :], i) + mean_j CE(s[:, j], j)) / 2``

    with ``CE(row, k) = -log(exp(row[k]) / sum(exp(row)))``.

    Parameters
    ----------
    image_embeddings, text_embeddings : ndarray (N, D) float, N >= 2
        Paired: image ``i`` goes with text ``i``. Not normalised (the loss does it).
    temperature : float > 0

    Returns
    -------
    loss : float
    (d_image, d_text) : ndarrays (N, D)
    """
    a, b = _check_pairs(image_embeddings, text_embeddings,
                        ("image_embeddings", "text_embeddings"), temperature)  # fmt: skip
    n = len(a)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    if np.any(na < 1e-12) or np.any(nb < 1e-12):
        raise ValueError("an embedding is zero: its direction is undefined")
    za, zb = a / na, b / nb
    s = za @ zb.T / temperature
    idx = np.arange(n)

    def log_softmax(x):
        shifted = x - x.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    rows, cols = log_softmax(s), log_softmax(s.T)
    loss = float(-(rows[idx, idx].mean() + cols[idx, idx].mean()) / 2)
    d_rows = np.exp(rows)
    d_rows[idx, idx] -= 1
    d_cols = np.exp(cols)
    d_cols[idx, idx] -= 1
    ds = (d_rows + d_cols.T) / (2 * n)
    dza = ds @ zb / temperature
    dzb = ds.T @ za / temperature
    da = (dza - za * (za * dza).sum(axis=1, keepdims=True)) / na
    db = (dzb - zb * (zb * dzb).sum(axis=1, keepdims=True)) / nb
    return loss, (da.astype(a.dtype), db.astype(b.dtype))
