"""Few-shot classification with prototypes: learn from k examples of classes never seen.

A *k-shot, n-way episode* gives ``k`` labelled examples (the *support*) of each of ``n``
classes and asks for the class of new examples (the *queries*). A prototypical network
(Snell, Swersky and Zemel, 2017) embeds every image, takes each class's mean support
embedding as its **prototype**, and gives a query the class whose prototype is nearest (a
softmax over negative squared distances). Trained on episodes of some classes, it is
tested on episodes of *other* classes: what it learned is an embedding in which a class is
a tight cluster, not the classes themselves.

* :func:`sample_episode` draws an episode's indices from labelled data;
* :func:`prototypes` and :func:`prototype_logits` classify queries;
* :func:`prototypical_loss` is the episode's cross-entropy with its gradient for every
  embedding (support and query), so a network can be trained through it
  (``tests/test_fewshot.py`` checks the gradient numerically);
* :func:`mean_confidence_interval` summarises accuracy over many episodes.

>>> import numpy as np
>>> support = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0]])
>>> labels = np.array([0, 0, 1, 1])
>>> prototype_logits(support, labels, np.array([[0.1, 0.3], [4.0, 4.5]])).argmax(axis=1)
array([0, 1])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcv.validate import check_int, generator

__all__ = [
    "Episode",
    "mean_confidence_interval",
    "prototype_logits",
    "prototypes",
    "prototypical_loss",
    "sample_episode",
]


class Episode(NamedTuple):
    """Indices into a data set: ``support`` (n_way * k_shot,) and ``query``
    (n_way * n_query,), with their episode labels 0..n_way-1 and the original ``classes``."""

    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray
    classes: np.ndarray


def sample_episode(labels, classes, n_way, k_shot, n_query, rng=None) -> Episode:
    """An episode: ``n_way`` of ``classes``, ``k_shot`` support and ``n_query`` query
    examples of each, drawn without replacement from the examples of ``labels`` (N,)."""
    labels, classes = np.asarray(labels), np.unique(np.asarray(classes))
    n_way, k_shot = check_int(n_way, "n_way", 1), check_int(k_shot, "k_shot", 1)
    n_query, rng = check_int(n_query, "n_query", 1), generator(rng)
    if n_way > len(classes):
        raise ValueError(f"n_way {n_way} is more than the {len(classes)} classes given")
    chosen = rng.choice(classes, n_way, replace=False)
    support, query = [], []
    for c in chosen:
        pool = np.flatnonzero(labels == c)
        if len(pool) < k_shot + n_query:
            raise ValueError(f"class {c} has {len(pool)} examples, fewer than k_shot + n_query "
                             f"= {k_shot + n_query}")  # fmt: skip
        pick = rng.choice(pool, k_shot + n_query, replace=False)
        support.append(pick[:k_shot])
        query.append(pick[k_shot:])
    return Episode(np.concatenate(support), np.repeat(np.arange(n_way), k_shot),
                   np.concatenate(query), np.repeat(np.arange(n_way), n_query), chosen)  # fmt: skip


def _embeddings(e, name: str) -> np.ndarray:
    e = np.asarray(e)
    if e.ndim != 2 or e.dtype.kind != "f" or not np.isfinite(e).all():
        raise ValueError(f"{name} must be finite float embeddings (N, D), got {e.dtype} {e.shape}")
    return e


def _labels(labels, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"{name} must be {n} integer labels, got {labels.dtype} {labels.shape}")
    return labels


def prototypes(support, support_labels) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, P)``: the sorted classes of ``support_labels`` and each one's mean
    embedding ``P`` (n_classes, D)."""
    support = _embeddings(support, "support")
    labels = _labels(support_labels, len(support), "support_labels")
    classes = np.unique(labels)
    return classes, np.stack([support[labels == c].mean(axis=0) for c in classes])


def prototype_logits(support, support_labels, queries) -> np.ndarray:
    """``-|q - p_c|^2`` for every query and class prototype: ``(n_queries, n_classes)``,
    columns in the order of ``np.unique(support_labels)``."""
    _, protos = prototypes(support, support_labels)
    q = _embeddings(queries, "queries")
    if q.shape[1] != protos.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} dimensions, the support {protos.shape[1]}")
    return -((q[:, None, :] - protos[None]) ** 2).sum(axis=2)


def prototypical_loss(support, support_labels, queries, query_labels):
    """Mean cross-entropy of the queries' softmax over negative squared distances.

    ``query_labels`` index the sorted classes of ``support_labels``. Returns ``(loss,
    accuracy, (d_support, d_queries))``: the gradients reach the support through the
    prototypes (each a mean of its class's support embeddings).
    """
    support = _embeddings(support, "support")
    s_labels = _labels(support_labels, len(support), "support_labels")
    queries = _embeddings(queries, "queries")
    q_labels = _labels(query_labels, len(queries), "query_labels")
    classes, protos = prototypes(support, s_labels)
    if not np.isin(q_labels, np.arange(len(classes))).all():
        raise ValueError(f"query_labels must index the {len(classes)} support classes "
                         f"0..{len(classes) - 1}")  # fmt: skip
    logits = prototype_logits(support, s_labels, queries)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    m = len(queries)
    loss = float(-log_p[np.arange(m), q_labels].mean())
    accuracy = float((logits.argmax(axis=1) == q_labels).mean())
    g = np.exp(log_p)
    g[np.arange(m), q_labels] -= 1.0
    g /= m  # d loss / d logits
    diff = queries[:, None, :] - protos[None]  # logits = -|diff|^2
    d_queries = -2 * (g[:, :, None] * diff).sum(axis=1)
    d_protos = 2 * (g[:, :, None] * diff).sum(axis=0)
    index = np.searchsorted(classes, s_labels)
    counts = np.bincount(index, minlength=len(classes))
    d_support = d_protos[index] / counts[index, None]
    return loss, accuracy, (d_support.astype(support.dtype), d_queries.astype(queries.dtype))


def mean_confidence_interval(values, z=1.96) -> tuple[float, float]:
    """Mean of ``values`` (e.g. one accuracy per episode) and the half-width of its normal
    ``z`` interval, ``z * sd / sqrt(n)`` (sd with ``ddof=1``; 0 for a single value)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0 or not np.isfinite(v).all():
        raise ValueError(f"values must be a non-empty 1-D array of finite numbers, got {v.shape}")
    half = float(z * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), half
