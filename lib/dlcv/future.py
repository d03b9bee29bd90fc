"""Chapter 14's experiments: learning new digits from a few examples, and features without labels.

Two claims of the chapter become two tables, each made by ``scripts/future_experiment.py``
from the run functions below (in the library, so worker processes can import them and the
chapter can re-run a single cell live). Data: the course's MNIST parts
(:func:`dlcv.challenges.mnist_parts`: 3,500 training, 500 validation and 1,000 test
digits, all from MNIST's *training* set).

1. **Few-shot** (:func:`fewshot_run`, ``future_fewshot.csv``): 5-way ``k``-shot
   episodes (``k`` in :data:`SHOTS`, :data:`N_QUERY` queries per class) of **digits 5-9
   of the test part**, classes that no learner saw in training, classified by the
   nearest prototype (:mod:`dlcv.fewshot`) in four spaces (:data:`FEWSHOT_METHODS`):
   the raw pixels, HOG features (:func:`dlcv.transfer.hog_features`), the 64 penultimate
   units of a LeNet classifier trained with cross-entropy on digits 0-4, and the
   embedding of a prototypical network (Snell et al., 2017) trained episodically on
   digits 0-4. All methods meet the same :data:`N_EPISODES` test episodes
   (:func:`fewshot_episodes`, seed :data:`EPISODE_SEED`); the summary is the mean accuracy
   with a 95 % interval (:func:`dlcv.fewshot.mean_confidence_interval`) over them.
2. **Self-supervised pretraining** (:func:`selfsupervised_run`,
   ``future_selfsupervised.csv``): a LeNet trunk pretrained three ways
   (:data:`PRETRAININGS`: not at all, contrastively without labels in the spirit of
   SimCLR, :func:`simclr_pretrain`, or with every training label), then frozen; a
   logistic regression (:func:`dlcv.transfer.linear_probe`, ``C`` on validation) on its
   64 hidden units learns from 10, 30 or 100 labels per class (:data:`PROBE_BUDGETS`)
   and is scored on the test part.

:func:`load_future_results` reads both files back (:class:`FutureResults`).
:func:`fewshot_cell` re-runs one cell of the few-shot table in a second or three (the
pixel or HOG baseline, or the shipped prototypical network :func:`load_protonet`).

Every run is a pure function of its arguments: seeded, one BLAS thread. Settings are
chosen on the validation part only (on *its* digits 0-4 for the few-shot learners: the
classes 5-9 are kept for the test); the test part is read once per run, at the end.

What the results say, and why (the full run at commit 3560a5f; accuracies on the test
part, mean over seeds 0-2 with the spread over seeds, or one deterministic row with its
95 % interval over the 600 episodes):

* **Few-shot: a negative result.** 5-way on the unseen digits 5-9, HOG is far ahead
  (1-shot 64.8 +- 0.6 %, 5-shot 86.1 +- 0.4 %); the prototypical network (53.0 % and
  69.7 %, seed spread 3.6 and 3.2 points) beats raw pixels at 1 shot (49.0 +- 0.6 %)
  but not at 5 (71.4 +- 0.5 %), and the classifier's hidden units (47.8 % and 62.7 %)
  lose to pixels at both. Why: the embeddings learn from **five** classes and 1,750
  digits, and become features that tell 0-4 apart (98.5-99.4 % on validation episodes
  of 0-4), not features of digits in general; the unseen digits fall onto those few
  directions. Snell et al. trained on 1,200 Omniglot characters (4,800 classes with
  their rotations) or 64 miniImageNet classes: meta-learning needs many training
  classes, which the 10 MNIST digits cannot give. The choice of learning rate and
  episodes on validation digits 0-4 (what the protocol allows: 5-9 are the test)
  cannot see this, and it chose the longest training for every seed. Episodic
  training still beats plain cross-entropy features by 5-7 points, the paper's
  direction.
* **Self-supervised pretraining helps, supervised pretraining helps more.** Linear
  probes at 10 / 30 / 100 labels per class: random trunk 69.5 / 75.9 / 81.3 %
  (spread about 3 points), SimCLR-style trunk 89.4 / 92.5 / 94.1 % (under 1 point),
  trunk trained with all 3,500 labels 96.5 / 97.0 / 97.3 %. Without a single label the
  contrastive trunk closes about three quarters of the gap from random to supervised
  at 10 labels per class, and loses to it everywhere. Why, honestly: the pretraining
  is small (3,500 digits, :data:`SIMCLR_STEPS` steps of :data:`SIMCLR_BATCH` images,
  about 22 epochs; SimCLR trained ImageNet for hundreds of epochs with batches of
  4,096; the final NT-Xent is 4.05 against ``ln 255 = 5.54`` at chance, down from 4.21
  after 200 steps in a trial run: still falling), the trunk has 114k parameters, the
  augmentations (:data:`SIMCLR_AUGMENTATIONS`: rotation, scaling, shifts, cutout and
  noise; no flips, which change a digit's meaning, no colour, which grey digits do not
  have) and the temperature were fixed beforehand, not tuned; and the supervised
  trunk has seen the very task the probe is scored on, with 350 labels of every class.

Measured cost: the full script took 1,004 s (17 minutes) of wall time with ``--jobs 2``
on the shared 2-core machine; the SimCLR pretrainings take 260-310 s each, the
prototypical networks 250-310 s (two learning rates of 1,000 episodes each).
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from dlcv.augment import Compose, Cutout, GaussianNoise, RandomCrop, RandomRotation, RandomScale
from dlcv.challenges import mnist_parts, recipe_schedule
from dlcv.contrastive import info_nce
from dlcv.fewshot import (
    mean_confidence_interval,
    prototype_logits,
    prototypical_loss,
    sample_episode,
)
from dlcv.layers import Dense, ReLU, Sequential
from dlcv.models import LENET_MNIST_RECIPE, lenet, train_lenet_mnist
from dlcv.optim import Adam
from dlcv.train import fit
from dlcv.transfer import budget_indices, features, hog_features, linear_probe
from dlcv.validate import check_choice, check_int

__all__ = [
    "EMBEDDING_SIZE",
    "EPISODE_CHOICES",
    "EPISODE_SEED",
    "FEWSHOT_COLUMNS",
    "FEWSHOT_METHODS",
    "FILES",
    "ConceptTest",
    "FewShotPool",
    "FutureResults",
    "LOOP_MIN_AREA",
    "LRS",
    "N_EPISODES",
    "N_QUERY",
    "N_VAL_EPISODES",
    "PRETRAININGS",
    "PROBE_BUDGETS",
    "PROTONET_FILE",
    "SELFSUPERVISED_COLUMNS",
    "SHOTS",
    "SIMCLR_AUGMENTATIONS",
    "SIMCLR_BATCH",
    "SIMCLR_LR",
    "SIMCLR_STEPS",
    "SIMCLR_TEMPERATURE",
    "TEST_CLASSES",
    "TRAIN_CLASSES",
    "embed",
    "episode_accuracies",
    "concept_test",
    "fewshot_cell",
    "fewshot_run",
    "load_future_results",
    "load_protonet",
    "loop_concept",
    "pretrained_trunk",
    "run_cell",
    "selfsupervised_run",
    "simclr_augmentation",
    "simclr_pretrain",
    "fewshot_episodes",
    "fewshot_pool",
    "pool_predictions",
    "train_classifier",
    "train_protonet",
    "unit_aucs",
]

# ------------------------------------------------------------------------------ settings
#: Digits the few-shot learners train (and choose their settings) on.
TRAIN_CLASSES = (0, 1, 2, 3, 4)
#: Digits of the few-shot test episodes: never seen by any learner before the test.
TEST_CLASSES = (5, 6, 7, 8, 9)
#: Support examples per class of the test episodes (5-way 1-shot and 5-way 5-shot).
SHOTS = (1, 5)
#: Query examples per class of every episode.
N_QUERY = 15
#: Test episodes per cell; their 95 % interval is about +-0.5 to 1 point.
N_EPISODES = 600
#: Validation episodes (5-shot, digits 0-4 of the validation part) that choose settings.
N_VAL_EPISODES = 200
#: Seed of the test episodes: every method and seed meets the same ones.
EPISODE_SEED = 2017
_VAL_EPISODE_SEED = 2018
#: The four few-shot methods (nearest prototype in each one's space).
FEWSHOT_METHODS = ("pixels", "HOG", "classifier", "prototypical")
#: Learning rates (Adam) tried for the classifier and the prototypical network.
LRS = (1e-3, 3e-3)
#: Training episodes (5-way 5-shot, 15 queries per class) after which the prototypical
#: network is scored on validation; the best (learning rate, episodes) wins.
EPISODE_CHOICES = (250, 500, 1000)
#: Size of the prototypical network's embedding (the last Dense layer of the LeNet).
EMBEDDING_SIZE = 64
#: The trunks of the self-supervised table.
PRETRAININGS = ("random", "SimCLR", "supervised")
#: Labelled training digits per class of the linear probes.
PROBE_BUDGETS = (10, 30, 100)
#: Contrastive pretraining: steps, images per batch (2 views each), temperature, Adam's rate.
SIMCLR_STEPS = 600
SIMCLR_BATCH = 128
SIMCLR_TEMPERATURE = 0.5
SIMCLR_LR = 1e-3
#: The augmentations whose two random draws make the two views of a digit, in order.
SIMCLR_AUGMENTATIONS = {
    "rotation": "RandomRotation(15): an angle in [-15, 15] degrees",
    "scale": "RandomScale(0.8, 1.2): zoom about the centre",
    "shift": "RandomCrop(padding=3): a shift of up to 3 pixels each way",
    "cutout": "Cutout(8, p=0.5): half the views lose an 8x8 square",
    "noise": "GaussianNoise(0.1): noise of standard deviation 0.1, clipped to [0, 1]",
}
#: The shipped prototypical network (seed 0), written by the script.
PROTONET_FILE = "future_protonet.npz"

FEWSHOT_COLUMNS = ["method", "shots", "seed", "episodes", "queries", "accuracy", "ci95", "lr",
                   "train_steps", "val_accuracy", "seconds"]  # fmt: skip
SELFSUPERVISED_COLUMNS = ["pretraining", "per_class", "n_train", "seed", "pretrain_steps",
                          "pretrain_loss", "pretrain_seconds", "C", "val_accuracy",
                          "test_accuracy"]  # fmt: skip
#: The two files of ``scripts/future_experiment.py``: table name -> (file, columns).
FILES = {
    "fewshot": ("future_fewshot.csv", FEWSHOT_COLUMNS),
    "selfsupervised": ("future_selfsupervised.csv", SELFSUPERVISED_COLUMNS),
}
# Per column: "text" (non-empty), "number" or "blank-or-number" (blank where it does not apply).
_KINDS = {"method": ("text",), "pretraining": ("text",), "lr": ("blank", "number"),
          "train_steps": ("blank", "number"), "val_accuracy": ("blank", "number"),
          "pretrain_loss": ("blank", "number")}  # fmt: skip


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def _check_lrs(lrs) -> tuple:
    lrs = tuple(lrs)
    ok = lrs and all(
        isinstance(lr, numbers.Real) and not isinstance(lr, bool) and lr > 0 for lr in lrs
    )
    if not ok:
        raise ValueError(f"lrs must be one or more positive learning rates, got {lrs!r}")
    return lrs


# -------------------------------------------------------------------------- 1. few-shot
def _subset(part: str, classes) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of ``part`` ("train", "val", "test") whose digit is in ``classes``."""
    parts = mnist_parts()
    x, y = getattr(parts, f"x_{part}"), getattr(parts, f"y_{part}")
    keep = np.isin(y, classes)
    return x[keep], y[keep]


def fewshot_episodes(
    k_shot: int,
    n_episodes: int = N_EPISODES,
    *,
    part: str = "test",
    classes=TEST_CLASSES,
    n_query: int = N_QUERY,
    seed: int = EPISODE_SEED,
):
    """The episodes of one cell: ``n_episodes`` 5-way ``k_shot`` episodes of ``classes``.

    Returns ``(x, y, episodes)``: the images and digits of ``part`` restricted to
    ``classes`` and a list of :class:`dlcv.fewshot.Episode` whose indices point into
    them (:func:`dlcv.fewshot.sample_episode`, all from one generator seeded by
    ``seed``, so the first 100 of 600 episodes are the 100 of a shorter run). The same
    arguments give the same episodes to every method.
    """
    check_choice(part, "part", ("train", "val", "test"))
    k_shot, n_episodes = check_int(k_shot, "k_shot", 1), check_int(n_episodes, "n_episodes", 1)
    n_query, seed = check_int(n_query, "n_query", 1), check_int(seed, "seed", 0)
    x, y = _subset(part, classes)
    rng = np.random.default_rng(seed)
    n_way = len(np.unique(classes))
    return (
        x,
        y,
        [sample_episode(y, classes, n_way, k_shot, n_query, rng) for _ in range(n_episodes)],
    )


def episode_accuracies(embeddings, episodes) -> np.ndarray:
    """Accuracy of the nearest prototype on each episode, in the space of ``embeddings``.

    Parameters
    ----------
    embeddings : ndarray (N, D) float
        One row per image of the episodes' data (pixels, features or a network's output).
    episodes : list of dlcv.fewshot.Episode
        Indices into the rows of ``embeddings``.

    Returns
    -------
    ndarray (n_episodes,)
        The fraction of each episode's queries whose nearest prototype
        (:func:`dlcv.fewshot.prototype_logits`) is their own class's.
    """
    e = np.asarray(embeddings)
    if e.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {e.shape}")
    if not episodes:
        raise ValueError("episodes must hold at least one episode")
    out = np.empty(len(episodes))
    with threadpool_limits(1):
        for i, ep in enumerate(episodes):
            logits = prototype_logits(e[ep.support], ep.support_labels, e[ep.query])
            out[i] = np.mean(logits.argmax(axis=1) == ep.query_labels)
    return out


def embed(method: str, x, model: Sequential | None = None) -> np.ndarray:
    """The space a few-shot method compares images in: ``(N, D)`` float.

    ``"pixels"``: the 784 pixels; ``"HOG"``: :func:`dlcv.transfer.hog_features`;
    ``"classifier"``: the 64 hidden units of ``model`` (:func:`dlcv.transfer.features`
    at ``"dense"``); ``"prototypical"``: the output of ``model``, the embedding.
    """
    check_choice(method, "method", FEWSHOT_METHODS)
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"x must be MNIST digits (N, 1, 28, 28), got shape {x.shape}")
    if method == "pixels":
        return x.reshape(len(x), -1).astype(np.float64)
    if method == "HOG":
        return hog_features(x).astype(np.float64)
    if not isinstance(model, Sequential):
        raise TypeError(
            f"model must be a dlcv Sequential for {method!r}, got {type(model).__name__}"
        )
    if method == "classifier":
        return features(model, x, "dense").astype(np.float64)
    return _output(model, x)


def _output(model: Sequential, x) -> np.ndarray:
    from dlcv.train import activations

    return np.concatenate(
        [activations(model, x[i : i + 256])[-1] for i in range(0, len(x), 256)]
    ).astype(np.float64)


def _val_accuracy(method: str, model: Sequential) -> float:
    """Mean 5-shot accuracy on :data:`N_VAL_EPISODES` episodes of the validation digits 0-4."""
    x, _, episodes = fewshot_episodes(5, N_VAL_EPISODES, part="val", classes=TRAIN_CLASSES,
                                   seed=_VAL_EPISODE_SEED)  # fmt: skip
    return float(episode_accuracies(embed(method, x, model), episodes).mean())


def train_protonet(seed: int, *, lrs=LRS, episode_choices=EPISODE_CHOICES, k_shot: int = 5,
                   n_query: int = N_QUERY):  # fmt: skip
    """A prototypical network trained on episodes of the training digits 0-4.

    For every learning rate of ``lrs``, a LeNet (channels 16 and 32, 64 hidden units,
    a last Dense layer of :data:`EMBEDDING_SIZE` outputs: the embedding) starts from the
    weights of ``seed`` and trains with Adam on 5-way ``k_shot`` episodes (``n_query``
    queries per class, drawn by ``seed``), one step of :func:`dlcv.fewshot.prototypical_loss`
    per episode. After each number of episodes in ``episode_choices`` it is scored on
    validation episodes of digits 0-4; the best (learning rate, episodes) wins (ties:
    the earlier).

    The validation episodes are of the *training* classes (the test classes must stay
    unseen), so they reward specialising on 0-4: in the table every seed chose the
    longest training (1,000 episodes, 98.5-99.4 % on them), and the embedding then does
    no better than pixels on 5-9 with 5 shots (see the module's notes).

    Returns
    -------
    model : Sequential
        The chosen network, in evaluation mode.
    lr, episodes, val_accuracy : float, int, float
    """
    seed, lrs = check_int(seed, "seed", 0), _check_lrs(lrs)
    choices = sorted({check_int(e, "episode_choices", 1) for e in episode_choices})
    if not choices:
        raise ValueError("episode_choices must hold at least one number of episodes")
    x, y = _subset("train", TRAIN_CLASSES)
    best = None
    for lr in lrs:
        model = lenet(n_classes=EMBEDDING_SIZE, channels=tuple(LENET_MNIST_RECIPE["channels"]),
                      rng=seed)  # fmt: skip
        optimizer, rng = Adam(lr), np.random.default_rng([seed, 4])
        with threadpool_limits(1):
            for episode in range(1, choices[-1] + 1):
                ep = sample_episode(y, TRAIN_CLASSES, len(TRAIN_CLASSES), k_shot, n_query, rng)
                model.train()
                out = model.forward(x[np.r_[ep.support, ep.query]])  # 1. embed
                n = len(ep.support)  # 2. measure the episode's error
                _, _, (d_s, d_q) = prototypical_loss(out[:n], ep.support_labels, out[n:],
                                                     ep.query_labels)  # fmt: skip
                model.backward(np.concatenate([d_s, d_q]), input_grad=False)  # 3. gradients
                optimizer.step(model)  # 4. update
                if episode in choices:
                    model.eval()
                    val = _val_accuracy("prototypical", model)
                    if best is None or val > best[3]:
                        best = (copy.deepcopy(model), lr, episode, val)
    return best[0].eval(), best[1], best[2], best[3]


def train_classifier(seed: int, *, lrs=LRS, steps: int = 550):
    """A LeNet classifier of the training digits 0-4, trained with cross-entropy.

    The shipped network's recipe (:func:`dlcv.challenges.recipe_schedule` for the 1,750
    digits and ``steps`` steps: batches of 32, Adam, the rate decayed per epoch) once
    per learning rate of ``lrs``; the rate whose hidden units give the better nearest-
    prototype accuracy on the validation episodes of digits 0-4 wins (the same criterion
    as the prototypical network's).

    Returns
    -------
    model, lr, steps, val_accuracy : Sequential, float, int, float
    """
    seed, lrs = check_int(seed, "seed", 0), _check_lrs(lrs)
    x, y = _subset("train", TRAIN_CLASSES)
    batch, epochs, decay = recipe_schedule(len(x), check_int(steps, "steps", 1))
    best = None
    for lr in lrs:
        model = lenet(n_classes=len(TRAIN_CLASSES),
                      channels=tuple(LENET_MNIST_RECIPE["channels"]), rng=seed)  # fmt: skip
        fit(model, x, y, epochs=epochs, batch_size=batch, optimizer=Adam(lr), lr_decay=decay,
            seed=seed, verbose=False)  # fmt: skip
        val = _val_accuracy("classifier", model)
        if best is None or val > best[3]:
            best = (model, lr, epochs * math.ceil(len(x) / batch), val)
    return best


def fewshot_run(method: str, seed: int = 0, *, shots=SHOTS, n_episodes: int = N_EPISODES,
                lrs=LRS, episode_choices=EPISODE_CHOICES, steps: int = 550,
                save_to=None) -> list[dict]:  # fmt: skip
    """The rows of one method and seed of the few-shot table, one per number of shots.

    ``"pixels"`` and ``"HOG"`` learn nothing (``seed`` only labels the row);
    ``"classifier"`` is :func:`train_classifier` and ``"prototypical"``
    :func:`train_protonet`, both from ``seed`` and on digits 0-4 only. Then the test
    digits 5-9 are embedded once and every episode of :func:`fewshot_episodes` is scored.
    ``save_to``: a path where the trained network (prototypical or classifier) is
    written with :func:`dlcv.models.save` and its record.

    Returns
    -------
    list of dict
        The keys of :data:`FEWSHOT_COLUMNS`; ``lr``, ``train_steps`` (episodes for the
        prototypical network, mini-batches for the classifier) and ``val_accuracy``
        blank for pixels and HOG.
    """
    check_choice(method, "method", FEWSHOT_METHODS)
    seed, n_episodes = check_int(seed, "seed", 0), check_int(n_episodes, "n_episodes", 1)
    shots = tuple(check_int(k, "shots", 1) for k in shots)
    start, model = time.perf_counter(), None
    trained = {"lr": "", "train_steps": "", "val_accuracy": ""}
    if method in ("classifier", "prototypical"):
        if method == "classifier":
            model, lr, done, val = train_classifier(seed, lrs=lrs, steps=steps)
        else:
            model, lr, done, val = train_protonet(seed, lrs=lrs, episode_choices=episode_choices)
        trained = {"lr": lr, "train_steps": done, "val_accuracy": val}
    rows = []
    for k in shots:
        x, _, episodes = fewshot_episodes(k, n_episodes)
        accuracy, half = mean_confidence_interval(episode_accuracies(embed(method, x, model),
                                                                     episodes))  # fmt: skip
        rows.append({"method": method, "shots": k, "seed": seed, "episodes": n_episodes,
                     "queries": N_QUERY, "accuracy": accuracy, "ci95": half, **trained,
                     "seconds": _since(start)})  # fmt: skip
    if save_to is not None and model is not None:
        from dlcv.grid import library_version
        from dlcv.models import save

        save(model, save_to, {
            "what": f"{method} embedding of chapter 14 (dlcv.future.fewshot_run), seed {seed}",
            "data": "digits 0-4 of the training part of dlcv.data.load_mnist_splits()",
            "chosen on": "5-shot episodes of digits 0-4 of the validation part",
            "settings": trained, "library": library_version(),
            "test": {f"{r['shots']}-shot": [r["accuracy"], r["ci95"]] for r in rows},
            "test episodes": f"{n_episodes} 5-way episodes of test digits 5-9, "
            f"{N_QUERY} queries per class, seed {EPISODE_SEED}",
        })  # fmt: skip
    return rows


def load_protonet() -> Sequential:
    """The prototypical network shipped with the library (seed 0 of the few-shot table,
    ``dlcv/assets/future_protonet.npz``; its ``metadata`` records how it was made)."""
    import importlib.resources
    from pathlib import Path

    from dlcv.models import load

    path = Path(str(importlib.resources.files("dlcv") / "assets" / PROTONET_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python scripts/future_experiment.py` "
                                "from the repository root to make it")  # fmt: skip
    return load(path)


def fewshot_cell(method: str = "pixels", k_shot: int = 5, n_episodes: int = 100,
                 model: Sequential | None = None) -> tuple[float, float]:  # fmt: skip
    """One live cell of the few-shot table: mean accuracy and 95 % half-width.

    The first ``n_episodes`` test episodes of :func:`fewshot_episodes` (the table's 600
    start with them) in the space of ``method``; for ``"prototypical"`` the network is
    ``model`` or the shipped :func:`load_protonet`, for ``"classifier"`` ``model`` must
    be given. Measured: 100 pixel episodes take 0.2 s, 600 about 1 s, the shipped
    network's 600 about 3 s (plus 4-5 s once per process to load the digits).
    """
    check_choice(method, "method", FEWSHOT_METHODS)
    if method == "prototypical" and model is None:
        model = load_protonet()
    x, _, episodes = fewshot_episodes(k_shot, n_episodes)
    return mean_confidence_interval(episode_accuracies(embed(method, x, model), episodes))


class FewShotPool(NamedTuple):
    """Test digits 5-9 to build episodes from by hand (:func:`fewshot_pool`).

    ``x`` (N, 1, 28, 28) and ``y`` (N,) are the digits; ``candidates`` (5, n_candidates)
    holds, row by row for the digits of :data:`TEST_CLASSES`, indices into them that may
    be chosen as support; ``queries`` (5 * n_queries,) the indices of the other digits
    that every choice of support is scored on (no digit is in both).
    """

    x: np.ndarray
    y: np.ndarray
    candidates: np.ndarray
    queries: np.ndarray


def fewshot_pool(n_candidates: int = 10, n_queries: int = 40, seed: int = EPISODE_SEED):
    """A :class:`FewShotPool` of the test part's digits 5-9, drawn by ``seed``.

    For each class, ``n_candidates`` support candidates and ``n_queries`` queries are drawn
    without replacement from its test digits, so the queries are the same whichever
    support is chosen (what chapter 14's few-shot explorer and figure compare).
    """
    n_candidates = check_int(n_candidates, "n_candidates", 1)
    n_queries, seed = check_int(n_queries, "n_queries", 1), check_int(seed, "seed", 0)
    x, y = _subset("test", TEST_CLASSES)
    rng = np.random.default_rng(seed)
    candidates, queries = [], []
    for c in TEST_CLASSES:
        pool = np.flatnonzero(y == c)
        if len(pool) < n_candidates + n_queries:
            raise ValueError(f"digit {c} has {len(pool)} test digits, fewer than n_candidates "
                             f"+ n_queries = {n_candidates + n_queries}")  # fmt: skip
        pick = rng.choice(pool, n_candidates + n_queries, replace=False)
        candidates.append(pick[:n_candidates])
        queries.append(pick[n_candidates:])
    return FewShotPool(x, y, np.stack(candidates), np.concatenate(queries))


def pool_predictions(embeddings, pool: FewShotPool, support) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-prototype answers for every query of ``pool`` with a support chosen by hand.

    Parameters
    ----------
    embeddings : ndarray (N, D) float
        One row per digit of ``pool.x`` (:func:`embed`).
    pool : FewShotPool
    support : sequence of 5 sequences of int
        For each class of :data:`TEST_CLASSES`, the positions in its row of
        ``pool.candidates`` of its support digits (at least one each).

    Returns
    -------
    distances : ndarray (n_queries_total, 5)
        Squared distance of every query to every class's prototype, columns in the order
        of :data:`TEST_CLASSES`.
    predicted : ndarray (n_queries_total,) int
        The digit of the nearest prototype.
    """
    if not isinstance(pool, FewShotPool):
        raise TypeError(f"pool must be a FewShotPool (fewshot_pool()), got {type(pool).__name__}")
    e = np.asarray(embeddings)
    if e.ndim != 2 or len(e) != len(pool.x):
        raise ValueError(f"embeddings must be ({len(pool.x)}, D), one row per digit of the "
                         f"pool, got shape {e.shape}")  # fmt: skip
    if len(support) != len(TEST_CLASSES):
        raise ValueError(f"support must give {len(TEST_CLASSES)} lists of positions, one per "
                         f"class, got {len(support)}")  # fmt: skip
    chosen, labels = [], []
    for k, positions in enumerate(support):
        positions = [check_int(p, "support", 0) for p in positions]
        if not positions or max(positions) >= pool.candidates.shape[1]:
            raise ValueError(f"support for digit {TEST_CLASSES[k]} must be 1 or more positions "
                             f"below {pool.candidates.shape[1]}, got {positions}")  # fmt: skip
        chosen.extend(pool.candidates[k, positions])
        labels.extend([k] * len(positions))
    logits = prototype_logits(e[chosen].astype(np.float64), np.array(labels),
                              e[pool.queries].astype(np.float64))  # fmt: skip
    return -logits, np.asarray(TEST_CLASSES)[logits.argmax(axis=1)]


# ---------------------------------------------------------- 2. self-supervised pretraining
def simclr_augmentation() -> Compose:
    """The random transform that makes one view of a batch (:data:`SIMCLR_AUGMENTATIONS`)."""
    return Compose([RandomRotation(15), RandomScale(0.8, 1.2), RandomCrop(padding=3),
                    Cutout(8, p=0.5), GaussianNoise(0.1)])  # fmt: skip


def simclr_pretrain(seed: int, *, steps: int = SIMCLR_STEPS, batch_size: int = SIMCLR_BATCH,
                    temperature: float = SIMCLR_TEMPERATURE, lr: float = SIMCLR_LR):  # fmt: skip
    """Contrastive pretraining without labels, in the spirit of SimCLR (Chen et al., 2020).

    The network is the LeNet trunk (two convolution blocks and the 64 hidden units, as
    in chapter 06) with a projection head (``Dense(64, 64)``, ReLU, ``Dense(64, 32)``),
    initialised from ``seed``. Each step draws ``batch_size`` training digits (their
    labels unused), makes two views of each with :func:`simclr_augmentation`, and takes
    one Adam step on :func:`dlcv.contrastive.info_nce` (NT-Xent) of the two views'
    projections. The probe later reads the trunk's hidden units, below the head.

    Small on purpose, so it runs in about 4 minutes: 600 steps of 128 digits (about 22
    epochs), settings fixed beforehand. In the table its trunk lifts a 10-label-per-
    class probe from 69.5 % (random trunk) to 89.4 %, short of the supervised trunk's
    96.5 %; its loss (4.05 at the end, 4.21 after 200 steps in a trial run, chance
    ``ln 255 = 5.54``) was still falling slowly.

    Returns
    -------
    model : Sequential
        Trunk and head, in evaluation mode (:func:`dlcv.transfer.features` at
        ``"dense"`` gives the trunk's output).
    loss : float
        Mean NT-Xent loss of the last 50 steps (``ln(2 * batch_size - 1)`` is chance).
    """
    seed, steps = check_int(seed, "seed", 0), check_int(steps, "steps", 1)
    batch_size = check_int(batch_size, "batch_size", 2)
    x = mnist_parts().x_train
    if batch_size > len(x):
        raise ValueError(
            f"batch_size must be at most {len(x)} (the training digits), got {batch_size}"
        )
    init = np.random.default_rng(seed)
    trunk = lenet(n_classes=64, channels=tuple(LENET_MNIST_RECIPE["channels"]), rng=init)
    model = Sequential([*trunk.layers, ReLU(), Dense(64, 32, rng=init)])
    optimizer, rng, augment = Adam(lr), np.random.default_rng([seed, 3]), simclr_augmentation()
    losses = []
    with threadpool_limits(1):
        model.train()
        for _ in range(steps):
            images = x[rng.choice(len(x), batch_size, replace=False)]
            views = np.concatenate([augment(images, rng), augment(images, rng)])
            h = model.forward(views.astype(model.dtype))  # 1. project both views
            loss, (d1, d2) = info_nce(h[:batch_size], h[batch_size:], temperature)  # 2. NT-Xent
            model.backward(np.concatenate([d1, d2]), input_grad=False)  # 3. gradients
            optimizer.step(model)  # 4. update
            losses.append(loss)
    return model.eval(), float(np.mean(losses[-50:]))


def pretrained_trunk(pretraining: str, seed: int, *, steps: int | None = None):
    """A trunk of :data:`PRETRAININGS`, made from ``seed``.

    ``"random"``: chapter 06's LeNet as initialised, untrained; ``"SimCLR"``:
    :func:`simclr_pretrain` (``steps`` or :data:`SIMCLR_STEPS`); ``"supervised"``:
    :func:`dlcv.models.train_lenet_mnist` with ``seed`` (all 3,500 training labels, the
    shipped network's recipe, 550 steps; ``steps`` rounds to whole epochs of 110 steps),
    so seed 0 with the default is the shipped network.

    Returns
    -------
    model, steps, loss, seconds : Sequential, int, float or "", float
    """
    check_choice(pretraining, "pretraining", PRETRAININGS)
    seed, start = check_int(seed, "seed", 0), time.perf_counter()
    channels = tuple(LENET_MNIST_RECIPE["channels"])
    if pretraining == "random":
        return lenet(channels=channels, rng=seed).eval(), 0, "", _since(start)
    if pretraining == "SimCLR":
        steps = SIMCLR_STEPS if steps is None else check_int(steps, "steps", 1)
        model, loss = simclr_pretrain(seed, steps=steps)
        return model, steps, loss, _since(start)
    epochs = LENET_MNIST_RECIPE["epochs"] if steps is None else max(1, round(check_int(
        steps, "steps", 1) / 110))  # fmt: skip
    model, history = train_lenet_mnist(seed=seed, epochs=epochs)
    done = epochs * math.ceil(len(mnist_parts().x_train) / LENET_MNIST_RECIPE["batch_size"])
    return model, done, float(history.loss[-1]), _since(start)


def selfsupervised_run(pretraining: str, seed: int = 0, *, budgets=PROBE_BUDGETS,
                       steps: int | None = None) -> list[dict]:  # fmt: skip
    """The rows of one trunk and seed of the self-supervised table, one per budget.

    The trunk (:func:`pretrained_trunk`) is frozen; its 64 hidden units of every digit
    are the features. For each budget, :func:`dlcv.transfer.budget_indices` draws that
    many labelled training digits per class (``seed``), :func:`dlcv.transfer.linear_probe`
    fits a logistic regression with ``C`` chosen on the whole validation part (generous to
    every trunk alike), and the chosen probe is scored once on the 1,000 test digits.

    Returns
    -------
    list of dict
        The keys of :data:`SELFSUPERVISED_COLUMNS`; ``pretrain_loss`` is the final
        NT-Xent (SimCLR), cross-entropy (supervised) or blank (random).
    """
    check_choice(pretraining, "pretraining", PRETRAININGS)
    seed = check_int(seed, "seed", 0)
    budgets = tuple(check_int(b, "budgets", 1) for b in budgets)
    if not budgets:
        raise ValueError("budgets must hold at least one number of labels per class")
    parts = mnist_parts()
    model, done, loss, seconds = pretrained_trunk(pretraining, seed, steps=steps)
    feats = {
        p: features(model, getattr(parts, f"x_{p}"), "dense") for p in ("train", "val", "test")
    }
    rows = []
    for per_class in budgets:
        idx = budget_indices(parts.y_train, per_class, seed)
        clf, C, val = linear_probe(feats["train"][idx], parts.y_train[idx], feats["val"],
                                   parts.y_val)  # fmt: skip
        with threadpool_limits(1):
            test = float(clf.score(feats["test"], parts.y_test))
        rows.append({"pretraining": pretraining, "per_class": per_class, "n_train": len(idx),
                     "seed": seed, "pretrain_steps": done, "pretrain_loss": loss,
                     "pretrain_seconds": seconds, "C": C, "val_accuracy": val,
                     "test_accuracy": test})  # fmt: skip
    return rows


RUNS = {"fewshot": fewshot_run, "selfsupervised": selfsupervised_run}


def run_cell(table: str, **config) -> list[dict]:
    """``RUNS[table](**config)``: the rows of one run (what the script hands the workers)."""
    check_choice(table, "table", tuple(RUNS))
    return RUNS[table](**config)


# ------------------------------------------------------------ 3. a concept one can test
#: Fewest background pixels enclosed by ink for a digit to count as having a closed loop.
LOOP_MIN_AREA = 3


def loop_concept(x, threshold: float = 0.5, min_area: int = LOOP_MIN_AREA) -> np.ndarray:
    """Whether each digit has a **closed loop**: ink (pixels above ``threshold``) that
    encloses at least ``min_area`` connected background pixels (a hole, found by
    :func:`scipy.ndimage.binary_fill_holes`). Measured on the image, not given by the
    label: most 0s, 6s, 8s and 9s have one, some 2s and 4s do, 1s and 7s do not.

    Returns
    -------
    ndarray (N,) bool
    """
    from scipy import ndimage

    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"x must be grey images (N, 1, H, W), got shape {x.shape}")
    min_area = check_int(min_area, "min_area", 1)
    out = np.zeros(len(x), dtype=bool)
    for i, image in enumerate(x[:, 0]):
        ink = image > threshold
        holes, n = ndimage.label(ndimage.binary_fill_holes(ink) & ~ink)
        out[i] = n > 0 and np.bincount(holes.ravel())[1:].max() >= min_area
    return out


def unit_aucs(activations, concept) -> np.ndarray:
    """ROC AUC of each unit's activation as a score for ``concept`` (D,): 1 when every
    digit with the concept has a higher activation than every digit without it, 0.5 for
    no relation, 0 for the reverse (:func:`sklearn.metrics.roc_auc_score`, column by column).
    """
    from sklearn.metrics import roc_auc_score

    a, c = np.asarray(activations, dtype=float), np.asarray(concept)
    if a.ndim != 2 or c.shape != (len(a),) or c.dtype != bool:
        raise ValueError(f"activations must be (N, D) and concept (N,) bool, got shapes "
                         f"{a.shape} and {c.shape} ({c.dtype})")  # fmt: skip
    if c.all() or not c.any():
        raise ValueError("concept must hold both True and False to score units by it")
    return np.array([roc_auc_score(c, a[:, j]) for j in range(a.shape[1])])


class ConceptTest(NamedTuple):
    """What :func:`concept_test` measured (AUCs folded to >= 0.5 by the sign chosen on
    the training part)."""

    unit: int  # the hidden unit chosen on the training digits
    sign: int  # +1: more active with a loop; -1: less
    train_auc: float
    test_auc: float  # the chosen unit, on the test digits
    class_auc: float  # the network's answer alone: score = the loop share of its class
    within_class: int  # the digit whose loops vary most in training
    within_auc: float  # the chosen unit, on the test digits of that class only
    within_best_unit: int  # the best unit for loops among that class's training digits
    within_best_auc: float  # ... on that class's test digits


def _fold(auc: float, sign: int) -> float:
    return auc if sign > 0 else 1.0 - auc


def concept_test(model: Sequential, layer: str = "dense") -> ConceptTest:
    """Is there a "loop unit" among the hidden units of ``model`` at ``layer``?

    On the training part (:func:`dlcv.challenges.mnist_parts`) every unit is scored by
    :func:`unit_aucs` against :func:`loop_concept`; the unit furthest from 0.5 is chosen,
    with its sign, and then read once on the test part. Two controls say whether it is a
    loop detector or a digit detector: the AUC of the network's *answer* alone (score: the
    share of training digits of the predicted class with a loop), and the chosen unit
    inside the one class whose loops vary most (the class whose loop share is closest to
    one half in training: the 2s, which are written with and without a loop), where the
    digit's identity cannot help; and the best unit for loops chosen on that class's
    training digits, read on its test digits.
    """
    from dlcv.train import predict

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a dlcv Sequential, got {type(model).__name__}")
    parts = mnist_parts()
    concept = {p: loop_concept(getattr(parts, f"x_{p}")) for p in ("train", "test")}
    acts = {p: features(model, getattr(parts, f"x_{p}"), layer) for p in ("train", "test")}
    train = unit_aucs(acts["train"], concept["train"])
    unit = int(np.argmax(np.abs(train - 0.5)))
    sign = 1 if train[unit] >= 0.5 else -1
    test = unit_aucs(acts["test"][:, [unit]], concept["test"])[0]
    share = np.array([concept["train"][parts.y_train == c].mean() for c in range(10)])
    answers = predict(model, parts.x_test)
    class_auc = float(unit_aucs(share[answers][:, None], concept["test"])[0])
    within = int(np.argmin(np.abs(share - 0.5)))
    in_train, in_test = parts.y_train == within, parts.y_test == within
    within_auc = unit_aucs(acts["test"][in_test][:, [unit]], concept["test"][in_test])[0]
    best = unit_aucs(acts["train"][in_train], concept["train"][in_train])
    best_unit = int(np.argmax(np.abs(best - 0.5)))
    best_sign = 1 if best[best_unit] >= 0.5 else -1
    best_test = unit_aucs(acts["test"][in_test][:, [best_unit]], concept["test"][in_test])[0]
    return ConceptTest(unit, sign, _fold(float(train[unit]), sign), _fold(float(test), sign),
                       class_auc, within, _fold(float(within_auc), sign), best_unit,
                       _fold(float(best_test), best_sign))  # fmt: skip


# ------------------------------------------------------------------------ the results
class FutureResults:
    """The two CSV files of ``scripts/future_experiment.py``, read back.

    ``tables`` maps ``"fewshot"`` and ``"selfsupervised"`` to their rows (numbers
    converted, blank fields ``""``); ``header`` the comment lines of the first file.
    """

    def __init__(self, tables: dict[str, list[dict]], header: list[str]):
        self.tables, self.header = tables, header

    def rows(self, table: str, **where) -> list[dict]:
        """The rows of ``table`` whose columns equal ``where`` (e.g. ``method="HOG"``)."""
        check_choice(table, "table", tuple(FILES))
        for key in where:
            check_choice(key, "column", FILES[table][1])
        return [r for r in self.tables[table] if all(r[k] == v for k, v in where.items())]

    def summary(self, table: str, column: str, **where) -> tuple[float, float, int]:
        """Mean, standard deviation over rows (``ddof=1``; 0 for one row) and the number of
        rows of ``column`` among the rows matching ``where`` (e.g. over seeds)."""
        check_choice(column, "column", FILES[table][1])
        values = np.array([r[column] for r in self.rows(table, **where)], dtype=float)
        if len(values) == 0:
            raise ValueError(f"no row of {table} matches {where}")
        spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        return float(values.mean()), spread, len(values)


def load_future_results(folder=None) -> FutureResults:
    """The two tables of :data:`FILES`, from the package's assets or from ``folder``.

    A missing file raises ``FileNotFoundError`` naming ``scripts/future_experiment.py``;
    a damaged one (a column lost, no rows, a number that is text or not finite, an empty
    name) raises ``ValueError`` naming the file, the row and the column.
    """
    from dlcv.grid import check_rows, read_results

    read = read_results([name for name, _ in FILES.values()], "scripts/future_experiment.py",
                        folder)  # fmt: skip
    tables = {}
    for (table, (name, columns)), (rows, _) in zip(FILES.items(), read, strict=True):
        check_rows(name, rows, columns, _KINDS, "scripts/future_experiment.py")
        tables[table] = rows
    return FutureResults(tables, read[0][1])
