"""Chapter 13's experiments: what deep networks still get wrong, measured on real digits.

Three claims of the chapter become four tables, each made by
``scripts/challenges_experiment.py`` from the run functions below (in the library, so
worker processes can import them and the chapter can re-run any single cell live):

1. **Data hunger** (:func:`hunger_run`, ``challenges_data_hunger.csv``): test accuracy
   against the number of labelled images per class (:data:`BUDGETS`) on the course's
   MNIST parts (:func:`dlcv.data.load_mnist_splits`: 3,500 training, 500 validation and
   1,000 test digits), for logistic regression on pixels, logistic regression on HOG
   features (both :func:`dlcv.transfer.linear_probe`, ``C`` chosen on validation) and
   the LeNet CNN trained from scratch (learning rate chosen on validation).
2. **Distribution shift and calibration** (:func:`shift_run`,
   ``challenges_shift.csv``): the shipped LeNet (:func:`dlcv.models.load_lenet_mnist`),
   untouched, on the test part clean and under every corruption and severity of
   :mod:`dlcv.corruptions`, and on scikit-learn's 1,797 digits brought to MNIST's format
   (:func:`dlcv.transfer.digits_as_mnist`): accuracy, mean confidence and expected
   calibration error (:func:`dlcv.calibration.expected_calibration_error`, 15 bins).
3. **Adversarial examples** (:func:`adversarial_run`, ``challenges_adversarial.csv``):
   accuracy of the shipped LeNet and of a logistic regression on pixels under FGSM and
   PGD (:mod:`dlcv.adversarial`) against the radius ``epsilon``, with the mean size of
   the perturbation (L-infinity and L2) and the mean confidence on the attacked images.
4. **Adversarial training** (:func:`adversarial_training_run`,
   ``challenges_adversarial_training.csv``): LeNet trained as usual or on attacked
   mini-batches (:data:`TRAININGS`), with the same data, recipe and number of steps.

:func:`load_challenges_results` reads the four files back (:class:`ChallengesResults`).

Every run is a pure function of its arguments: seeded, one BLAS thread, the data loaded
once per process from the library. Choices (``C``, learning rate) are made on the
validation part; the test part is read once per run, by the chosen model only.
"""

from __future__ import annotations

import functools
import math
import numbers
import time

import numpy as np
from threadpoolctl import threadpool_limits

from dlcv.adversarial import fgsm, pgd
from dlcv.calibration import expected_calibration_error
from dlcv.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from dlcv.data import load_mnist_splits
from dlcv.layers import Sequential, softmax_cross_entropy
from dlcv.models import LENET_MNIST_RECIPE, load_lenet_mnist
from dlcv.optim import Adam
from dlcv.selection import train_chosen
from dlcv.train import evaluate, fit, predict_proba
from dlcv.transfer import budget_indices, digits_as_mnist, hog_features, linear_probe, prepare
from dlcv.validate import check_choice, check_int

__all__ = [
    "ADVERSARIAL_COLUMNS",
    "ADV_PER_CLASS",
    "ATTACKS",
    "BUDGETS",
    "CNN_LRS",
    "ChallengesResults",
    "EPSILONS",
    "FILES",
    "HUNGER_COLUMNS",
    "HUNGER_METHODS",
    "LOGREG_C",
    "MODELS",
    "PGD_STEPS",
    "RUNS",
    "SHIFT_COLUMNS",
    "SHIFT_DATA",
    "STEPS",
    "TRAININGS",
    "TRAINING_COLUMNS",
    "TRAIN_EPSILON",
    "adversarial_fit",
    "adversarial_run",
    "adversarial_training_run",
    "attack",
    "hunger_run",
    "load_challenges_results",
    "mnist_parts",
    "pixel_logreg",
    "probabilities",
    "recipe_schedule",
    "robustness",
    "run_cell",
    "shift_cells",
    "shift_run",
    "shifted_images",
    "warmup_epsilon",
]

# ------------------------------------------------------------------------------ settings
#: Labelled images per class of the data-hunger table. The course's training part holds
#: 350 digits of each class, so the largest budget is all of it (400 per class would have
#: to borrow validation or test digits, which the protocol forbids).
BUDGETS = (1, 3, 10, 30, 100, 350)
#: The three learners of the data-hunger table.
HUNGER_METHODS = ("pixels", "HOG", "CNN")
#: Learning rates tried for the CNN at every budget (Adam); the better on validation wins.
CNN_LRS = (5e-4, 1e-3, 5e-3)
#: Gradient steps of every CNN trained here: the shipped network's recipe
#: (:data:`dlcv.models.LENET_MNIST_RECIPE`, 5 epochs of 3,500 digits in batches of 32).
STEPS = 550
_RECIPE_STEPS_PER_EPOCH = 110  # ceil(3500 / 32): the recipe decays the rate once per 110 steps
#: Inverse regularisation of the logistic regression on pixels that is attacked: chapter
#: 06's choice on validation (``dlcv.selection.load_selection().chosen("logreg")``).
LOGREG_C = 1.0
#: Names of the attacked models: the shipped LeNet and the logistic regression on pixels.
MODELS = ("LeNet", "logistic regression")
#: The attacks (:func:`dlcv.adversarial.fgsm`, :func:`dlcv.adversarial.pgd`).
ATTACKS = ("FGSM", "PGD")
#: Radii of the attacks' L-infinity ball, pixels being in [0, 1].
EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
#: PGD's steps when evaluating (step size ``2.5 * epsilon / steps``, random start).
PGD_STEPS = 10
#: Test digits per class attacked in the adversarial table (500 in all, fixed).
ADV_PER_CLASS = 50
#: The two data sets of the shift table.
SHIFT_DATA = ("MNIST test", "digits")
#: How the networks of the adversarial-training table see their mini-batches.
TRAININGS = {
    "standard": "the clean mini-batch (the shipped network's recipe)",
    "FGSM": "every mini-batch replaced by its FGSM images at epsilon (Goodfellow et al., 2015)",
    "PGD-3": "every mini-batch replaced by 3-step PGD images at epsilon (Madry et al., 2018)",
    "PGD-3 warm-up": "as PGD-3, epsilon growing from 0 over the first fifth of the steps",
}
#: The radius the adversarial-training table trains and attacks at.
TRAIN_EPSILON = 0.1

HUNGER_COLUMNS = ["method", "per_class", "n_train", "seed", "C", "lr", "steps",
                  "val_accuracy", "test_accuracy", "seconds"]  # fmt: skip
SHIFT_COLUMNS = ["data", "corruption", "severity", "seed", "n_images", "accuracy",
                 "mean_confidence", "ece", "seconds"]  # fmt: skip
ADVERSARIAL_COLUMNS = ["model", "attack", "epsilon", "steps", "seed", "n_images", "accuracy",
                       "mean_confidence", "linf", "l2", "seconds"]  # fmt: skip
TRAINING_COLUMNS = ["training", "epsilon", "seed", "steps", "train_seconds", "val_accuracy",
                    "clean_accuracy", "fgsm_accuracy", "pgd_accuracy"]  # fmt: skip
#: The four files of ``scripts/challenges_experiment.py``: table name -> (file, columns).
FILES = {
    "hunger": ("challenges_data_hunger.csv", HUNGER_COLUMNS),
    "shift": ("challenges_shift.csv", SHIFT_COLUMNS),
    "adversarial": ("challenges_adversarial.csv", ADVERSARIAL_COLUMNS),
    "training": ("challenges_adversarial_training.csv", TRAINING_COLUMNS),
}
_TEXT = {"method", "data", "corruption", "model", "attack", "training"}
_OPTIONAL = {"C", "lr", "steps"}  # blank where they do not apply


def _check_seed(seed, name: str = "seed") -> int:
    return check_int(seed, name, minimum=0)


def _check_epsilon(epsilon, name: str = "epsilon") -> float:
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, numbers.Real):
        raise TypeError(f"{name} must be a number (pixels are in [0, 1]), got {epsilon!r}")
    if not 0 <= float(epsilon) <= 1:
        raise ValueError(f"{name} must be from 0 to 1 (pixels are in [0, 1]), got {epsilon!r}")
    return float(epsilon)


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


# ---------------------------------------------------------------------------------- data
@functools.cache
def mnist_parts():
    """The course's MNIST parts (:func:`dlcv.data.load_mnist_splits`), loaded once per process."""
    return load_mnist_splits()


@functools.cache
def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return digits_as_mnist(bunch.images), bunch.target.astype(np.int64)


@functools.cache
def _features(kind: str, part: str) -> np.ndarray:
    x = getattr(mnist_parts(), f"x_{part}")
    return hog_features(x) if kind == "HOG" else x.reshape(len(x), -1)


@functools.cache
def pixel_logreg():
    """Logistic regression on the 784 pixels of the training part, ``C = LOGREG_C`` (chapter
    06's model, :func:`dlcv.selection.train_chosen`), fitted once per process."""
    return train_chosen(mnist_parts(), {"model": "logreg", "C": LOGREG_C})[0]


def _test_sample(per_class):
    """The test digits of a run: ``per_class`` of each class (fixed draw), or all."""
    parts = mnist_parts()
    idx = budget_indices(parts.y_test, per_class, seed=0)
    return parts.x_test[idx], parts.y_test[idx]


# ------------------------------------------------------------------------ 1. data hunger
def recipe_schedule(n_images: int, steps: int = STEPS) -> tuple[int, int, float]:
    """The shipped network's recipe for ``n_images`` training images and ``steps`` steps.

    The recipe (:data:`dlcv.models.LENET_MNIST_RECIPE`) trains 5 epochs of 3,500 images in
    batches of 32 with Adam, the learning rate multiplied by 0.7 after every epoch, i.e.
    every 110 steps. For a smaller set the same schedule is kept *in steps*: batches of
    ``min(32, n_images)``, as many epochs as make about ``steps`` steps, and a decay per
    epoch of ``0.7 ** (steps per epoch / 110)``. For 3,500 images and 550 steps it is the
    recipe itself.

    Returns
    -------
    batch_size, epochs, lr_decay : int, int, float
    """
    n_images, steps = check_int(n_images, "n_images", 1), check_int(steps, "steps", 1)
    batch = min(LENET_MNIST_RECIPE["batch_size"], n_images)
    per_epoch = math.ceil(n_images / batch)
    epochs = max(1, round(steps / per_epoch))
    return batch, epochs, LENET_MNIST_RECIPE["lr_decay"] ** (per_epoch / _RECIPE_STEPS_PER_EPOCH)


def _check_budget(per_class):
    per_class = check_int(per_class, "per_class", 1)
    most = int(np.bincount(mnist_parts().y_train).min())
    if per_class > most:
        raise ValueError(
            f"per_class must be at most {most} (the training part's images per class), "
            f"got {per_class}"
        )
    return per_class


def hunger_run(method: str, per_class: int, seed: int, *, lrs=CNN_LRS, steps: int = STEPS):
    """One cell of the data-hunger table: one learner, ``per_class`` labels of every class.

    The labelled subset is :func:`dlcv.transfer.budget_indices` of the training part
    (drawn by ``seed``; 350 per class is the whole part). Then

    * ``"pixels"`` / ``"HOG"``: :func:`dlcv.transfer.linear_probe` (standardised features,
      ``C`` from :data:`dlcv.transfer.C_GRID` chosen on the validation part) on the 784
      pixels or on :func:`dlcv.transfer.hog_features`;
    * ``"CNN"``: chapter 06's LeNet (channels 16 and 32) from random weights (``seed``),
      trained with :func:`recipe_schedule` for ``steps`` steps once per learning rate in
      ``lrs``; the rate with the better validation accuracy wins (ties: the first).

    Only the chosen model is scored on the test part. Choosing on 500 validation digits
    when only 10 are labelled for training is generous to every learner alike (a real
    project with 10 labels has no 500 more); the table's comparison stays fair.

    Returns
    -------
    dict
        The keys of :data:`HUNGER_COLUMNS`; accuracies as fractions, ``C`` blank for the
        CNN and ``lr``, ``steps`` blank for the probes.
    """
    check_choice(method, "method", HUNGER_METHODS)
    per_class, seed = _check_budget(per_class), _check_seed(seed)
    lrs = tuple(lrs)
    if not lrs or not all(isinstance(lr, numbers.Real) and lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be one or more positive learning rates, got {lrs!r}")
    parts, start = mnist_parts(), time.perf_counter()
    idx = budget_indices(parts.y_train, per_class, seed)
    row = {"method": method, "per_class": per_class, "n_train": len(idx), "seed": seed,
           "C": "", "lr": "", "steps": ""}  # fmt: skip
    if method != "CNN":
        train = _features(method, "train")[idx]
        clf, C, val = linear_probe(train, parts.y_train[idx], _features(method, "val"), parts.y_val)
        with threadpool_limits(1):
            test = float(clf.score(_features(method, "test"), parts.y_test))
        return {**row, "C": C, "val_accuracy": val, "test_accuracy": test,
                "seconds": _since(start)}  # fmt: skip
    batch, epochs, decay = recipe_schedule(len(idx), check_int(steps, "steps", 1))
    best = None
    for lr in lrs:
        model = prepare("scratch", seed=seed)
        fit(
            model,
            parts.x_train[idx],
            parts.y_train[idx],
            epochs=epochs,
            batch_size=batch,
            optimizer=Adam(lr),
            lr_decay=decay,
            seed=seed,
            verbose=False,
        )
        val = float(evaluate(model, parts.x_val, parts.y_val)[1])
        if best is None or val > best[2]:
            best = (model, lr, val)
    model, lr, val = best
    test = float(evaluate(model, parts.x_test, parts.y_test)[1])
    return {**row, "lr": lr, "steps": epochs * math.ceil(len(idx) / batch),
            "val_accuracy": val, "test_accuracy": test, "seconds": _since(start)}  # fmt: skip


# ------------------------------------------------------------ 2. shift and calibration
def shift_cells() -> list[dict]:
    """Every cell of the shift table, as keyword arguments of :func:`shift_run`: clean
    MNIST, each corruption at each severity of its sweep (noise, the one that draws, with
    seeds 0, 1 and 2), and the scikit-learn digits."""
    cells = [{"data": "MNIST test", "corruption": "none", "severity": 0, "seed": 0}]
    for kind in CORRUPTIONS:
        for severity in SEVERITIES[kind].sweep:
            for seed in (0, 1, 2) if kind == "noise" else (0,):
                cells.append(
                    {"data": "MNIST test", "corruption": kind, "severity": severity, "seed": seed}
                )
    return [*cells, {"data": "digits", "corruption": "none", "severity": 0, "seed": 0}]


def shifted_images(
    data: str, corruption: str = "none", severity=0, seed: int = 0, n_images: int | None = None
):
    """The images and labels of one cell of the shift table.

    Parameters
    ----------
    data : {"MNIST test", "digits"}
        The course's 1,000 MNIST test digits, or scikit-learn's 1,797 digits in MNIST's
        format (:func:`dlcv.transfer.digits_as_mnist`; other writers, another scanner).
    corruption : str
        ``"none"`` or one of :data:`dlcv.corruptions.CORRUPTIONS`.
    severity : float (int for thicken)
        As :func:`dlcv.corruptions.corrupt`; ignored for ``"none"``.
    seed : int
        The noise's generator (the other corruptions draw nothing).
    n_images : int, optional
        Only the first ``n_images`` (for a quick look); all by default.

    Returns
    -------
    x : ndarray, (N, 1, 28, 28) float32
    y : ndarray, (N,) int64
    """
    check_choice(data, "data", SHIFT_DATA)
    check_choice(corruption, "corruption", ("none", *CORRUPTIONS))
    seed = _check_seed(seed)
    x, y = (mnist_parts().x_test, mnist_parts().y_test) if data == "MNIST test" else _digits()
    if n_images is not None:
        n_images = check_int(n_images, "n_images", 1)
        x, y = x[:n_images], y[:n_images]
    if corruption != "none":
        x = corrupt(x, corruption, severity, rng=seed)
    return x, y


def shift_run(
    data: str, corruption: str = "none", severity=0, seed: int = 0, n_images: int | None = None
) -> dict:
    """One cell of the shift table: the shipped LeNet on :func:`shifted_images`.

    No training: the network is :func:`dlcv.models.load_lenet_mnist`, as chapter 06 made
    it. ``mean_confidence`` is the mean of each image's largest probability; ``ece`` is
    :func:`dlcv.calibration.expected_calibration_error` with 15 bins. Arguments as
    :func:`shifted_images`.

    Returns
    -------
    dict
        The keys of :data:`SHIFT_COLUMNS`.
    """
    start = time.perf_counter()
    x, y = shifted_images(data, corruption, severity, seed, n_images)
    p = predict_proba(load_lenet_mnist(), x)
    return {
        "data": data,
        "corruption": corruption,
        "severity": severity if corruption != "none" else 0,
        "seed": seed,
        "n_images": len(y),
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "mean_confidence": float(p.max(axis=1).mean()),
        "ece": expected_calibration_error(p, y, n_bins=15),
        "seconds": _since(start),
    }


# ------------------------------------------------------------- 3. adversarial examples
def probabilities(model, x) -> np.ndarray:
    """Class probabilities ``(N, 10)`` of ``x`` from a network or a logistic regression on
    the flattened pixels, on one BLAS thread for the latter."""
    if isinstance(model, Sequential):
        return predict_proba(model, x)
    with threadpool_limits(1):
        return model.predict_proba(x.reshape(len(x), -1))


def attack(model, x, y, name: str, epsilon, *, steps: int = PGD_STEPS, seed: int = 0):
    """``x`` attacked by ``name`` (:data:`ATTACKS`) at ``epsilon``, on one BLAS thread.

    FGSM is :func:`dlcv.adversarial.fgsm`; PGD is :func:`dlcv.adversarial.pgd` with
    ``steps`` steps of ``2.5 * epsilon / steps`` from a random start drawn by ``seed``.
    """
    check_choice(name, "attack", ATTACKS)
    epsilon = _check_epsilon(epsilon)
    with threadpool_limits(1):
        if name == "FGSM":
            return fgsm(model, x, y, epsilon)
        return pgd(model, x, y, epsilon, steps=check_int(steps, "steps", 1), rng=seed)


def adversarial_run(
    model: str,
    attack_name: str,
    epsilon,
    *,
    seed: int = 0,
    per_class: int | None = ADV_PER_CLASS,
    steps: int = PGD_STEPS,
) -> dict:
    """One cell of the adversarial table: one model, one attack, one radius.

    Parameters
    ----------
    model : {"LeNet", "logistic regression"}
        The shipped LeNet, or :func:`pixel_logreg` (trained on the same training part).
    attack_name : {"FGSM", "PGD"}
    epsilon : float
        Radius of the L-infinity ball, from 0 to 1; 0 leaves the images as they are.
    seed : int
        PGD's random start.
    per_class : int or None
        Test digits of each class attacked (a fixed stratified draw; ``None``: all
        1,000). 50 gives the table's 500.
    steps : int
        PGD's steps (FGSM has one).

    Returns
    -------
    dict
        The keys of :data:`ADVERSARIAL_COLUMNS`: accuracy and mean confidence on the
        attacked images, and the mean over images of the perturbation's largest pixel
        change (``linf``) and of its Euclidean length (``l2``).
    """
    check_choice(model, "model", MODELS)
    check_choice(attack_name, "attack_name", ATTACKS)
    epsilon, seed = _check_epsilon(epsilon), _check_seed(seed)
    steps = check_int(steps, "steps", 1)
    if per_class is not None:
        per_class = check_int(per_class, "per_class", 1)
    x, y = _test_sample(per_class)
    start = time.perf_counter()
    net = load_lenet_mnist() if model == "LeNet" else pixel_logreg()
    adv = attack(net, x, y, attack_name, epsilon, steps=steps, seed=seed)
    p = probabilities(net, adv)
    delta = (adv.astype(np.float64) - x).reshape(len(x), -1)
    return {
        "model": model,
        "attack": attack_name,
        "epsilon": epsilon,
        "steps": steps if attack_name == "PGD" else 1,
        "seed": seed,
        "n_images": len(y),
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "mean_confidence": float(p.max(axis=1).mean()),
        "linf": float(np.abs(delta).max(axis=1).mean()),
        "l2": float(np.sqrt((delta**2).sum(axis=1)).mean()),
        "seconds": _since(start),
    }


# ------------------------------------------------------------ 4. adversarial training
def warmup_epsilon(epsilon: float, step: int, steps: int) -> float:
    """The radius of the ``"PGD-3 warm-up"`` attack at training step ``step`` (from 1) of
    ``steps``: growing linearly from ``epsilon / warm`` to ``epsilon`` over the first
    ``warm = max(1, steps // 5)`` steps (110 of 550: one epoch of the recipe), then
    ``epsilon``."""
    epsilon = _check_epsilon(epsilon)
    step, steps = check_int(step, "step", 1), check_int(steps, "steps", 1)
    return epsilon * min(1.0, step / max(1, steps // 5))


def adversarial_fit(
    model: Sequential,
    x,
    y,
    *,
    training: str = "standard",
    epsilon: float = TRAIN_EPSILON,
    steps: int = STEPS,
    seed: int = 0,
):
    """Train ``model`` in place with :func:`recipe_schedule`, on clean or attacked batches.

    The loop of :func:`dlcv.train.train_epoch` with one more line: before the four steps,
    the mini-batch is attacked (:data:`TRAININGS`: FGSM, or 3-step PGD whose random
    starts come from their own generator) with the model as it is at that step, and the
    network learns from the attacked images only (Madry et al.'s objective, not a mix of
    clean and attacked). With ``"standard"`` it is exactly :func:`dlcv.train.fit` (same
    batches, same weights, bit for bit), so with seed 0 on the whole training part it
    remakes the shipped network.

    A pitfall, measured: with PGD from the first step, a network can collapse within
    about ten steps to the constant answer (seed 1 of the table: the loss stays at
    ``ln 10``, every digit gets the same class, 10 % accuracy clean and attacked). For an
    untrained network the attacker wins every batch, and the output that no small change
    of the image can make worse is one that ignores the image: near that point the
    gradients are tiny and Adam never leaves. The validation part shows it (10 %), and
    ``"PGD-3 warm-up"`` (:func:`warmup_epsilon`: the radius grows from 0 over the first
    fifth of the steps, so the network first learns digits) avoids it. FGSM, a weaker
    attacker, did not collapse in the table.

    Returns
    -------
    float
        Seconds spent training.
    """
    check_choice(training, "training", tuple(TRAININGS))
    epsilon, seed = _check_epsilon(epsilon), _check_seed(seed)
    batch, epochs, decay = recipe_schedule(len(x), steps)
    total = epochs * math.ceil(len(x) / batch)
    optimizer, shuffle = Adam(LENET_MNIST_RECIPE["lr"]), np.random.default_rng(seed)
    starts = np.random.default_rng([seed, 2])  # PGD's random starts, apart from the shuffling
    x, y = np.asarray(x, dtype=model.dtype), np.asarray(y)
    start, step = time.perf_counter(), 0
    with threadpool_limits(1):
        for _ in range(epochs):
            order = shuffle.permutation(len(x))
            model.train()
            for first in range(0, len(x), batch):
                rows, step = order[first : first + batch], step + 1
                images = x[rows]
                if training == "FGSM":
                    images = fgsm(model, images, y[rows], epsilon)
                elif training.startswith("PGD-3"):
                    radius = (
                        epsilon if training == "PGD-3" else warmup_epsilon(epsilon, step, total)
                    )
                    images = pgd(model, images, y[rows], radius, steps=3, rng=starts)
                logits = model.forward(images)  # 1. predict
                _, dlogits = softmax_cross_entropy(logits, y[rows])  # 2. measure the error
                model.backward(dlogits, input_grad=False)  # 3. gradients
                optimizer.step(model)  # 4. update
            optimizer.lr *= decay
    model.eval()
    return time.perf_counter() - start


def robustness(model, x, y, epsilon, *, steps: int = PGD_STEPS, seed: int = 0) -> dict:
    """Accuracy of ``model`` on ``(x, y)`` clean, under FGSM and under PGD at ``epsilon``.

    Returns
    -------
    dict
        ``clean_accuracy``, ``fgsm_accuracy`` and ``pgd_accuracy`` (fractions).
    """
    out = {}
    for name, images in (
        ("clean", x),
        ("fgsm", attack(model, x, y, "FGSM", epsilon)),
        ("pgd", attack(model, x, y, "PGD", epsilon, steps=steps, seed=seed)),
    ):
        out[f"{name}_accuracy"] = float(np.mean(probabilities(model, images).argmax(1) == y))
    return out


def adversarial_training_run(
    training: str,
    seed: int,
    *,
    epsilon: float = TRAIN_EPSILON,
    per_class: int | None = None,
    steps: int = STEPS,
    eval_per_class: int | None = None,
) -> dict:
    """One row of the adversarial-training table: train a LeNet one way, then attack it.

    Chapter 06's LeNet from random weights (``seed``) is trained by :func:`adversarial_fit`
    on the training part (or ``per_class`` digits of each class, for a quick look), then
    scored on the validation part (clean) and on the test part (or ``eval_per_class`` of
    each class) clean, under FGSM and under 10-step PGD at the same ``epsilon``
    (:func:`robustness`). ``train_seconds`` is the time spent training, for the ratio of
    the costs.

    Returns
    -------
    dict
        The keys of :data:`TRAINING_COLUMNS`.
    """
    check_choice(training, "training", tuple(TRAININGS))
    seed, epsilon = _check_seed(seed), _check_epsilon(epsilon)
    parts = mnist_parts()
    idx = budget_indices(
        parts.y_train, None if per_class is None else _check_budget(per_class), seed
    )
    if eval_per_class is not None:
        eval_per_class = check_int(eval_per_class, "eval_per_class", 1)
    model = prepare("scratch", seed=seed)
    seconds = adversarial_fit(
        model,
        parts.x_train[idx],
        parts.y_train[idx],
        training=training,
        epsilon=epsilon,
        steps=check_int(steps, "steps", 1),
        seed=seed,
    )
    x, y = _test_sample(eval_per_class)
    batch, epochs, _ = recipe_schedule(len(idx), steps)
    return {
        "training": training,
        "epsilon": epsilon,
        "seed": seed,
        "steps": epochs * math.ceil(len(idx) / batch),
        "train_seconds": round(seconds, 2),
        "val_accuracy": float(evaluate(model, parts.x_val, parts.y_val)[1]),
        **robustness(model, x, y, epsilon, seed=seed),
    }


RUNS = {
    "hunger": hunger_run,
    "shift": shift_run,
    "adversarial": adversarial_run,
    "training": adversarial_training_run,
}
"""The run function of each table of :data:`FILES`."""


def run_cell(table: str, **config) -> dict:
    """``RUNS[table](**config)``: one row of any table (what the script hands the workers)."""
    check_choice(table, "table", tuple(RUNS))
    return RUNS[table](**config)


# ------------------------------------------------------------------------ the results
class ChallengesResults:
    """The four CSV files of ``scripts/challenges_experiment.py``, read back.

    ``tables`` maps each name of :data:`FILES` (``"hunger"``, ``"shift"``,
    ``"adversarial"``, ``"training"``) to its rows (numbers converted; blank fields stay
    ``""``); ``header`` holds the comment lines of the first file (command, date, commit,
    machine, settings).
    """

    def __init__(self, tables: dict[str, list[dict]], header: list[str]):
        self.tables, self.header = tables, header

    def rows(self, table: str, **where) -> list[dict]:
        """The rows of ``table`` whose columns equal ``where`` (e.g. ``method="CNN"``)."""
        check_choice(table, "table", tuple(FILES))
        unknown = set(where) - set(FILES[table][1])
        if unknown:
            raise ValueError(f"{table} has no column {sorted(unknown)}; it has {FILES[table][1]}")
        return [r for r in self.tables[table] if all(r[k] == v for k, v in where.items())]

    def values(self, table: str, column: str, **where) -> np.ndarray:
        """``column`` of the rows of ``table`` that match ``where``, in file order."""
        rows = self.rows(table, **where)
        check_choice(column, "column", FILES[table][1])
        return np.array([r[column] for r in rows])

    def curve(self, table: str, along: str, column: str, **where):
        """Mean and standard deviation (over seeds) of ``column`` for each value of ``along``.

        Returns
        -------
        xs, mean, std : ndarray
            ``xs`` sorted; ``std`` with ``ddof=1`` (0 where there is one row).
        """
        rows = self.rows(table, **where)
        check_choice(along, "along", FILES[table][1])
        if not rows:
            raise ValueError(f"no row of {table} matches {where}")
        xs = sorted({r[along] for r in rows})
        groups = [[r[column] for r in rows if r[along] == x] for x in xs]
        mean = np.array([np.mean(g) for g in groups])
        std = np.array([np.std(g, ddof=1) if len(g) > 1 else 0.0 for g in groups])
        return np.array(xs), mean, std

    def time_ratio(self, training: str) -> np.ndarray:
        """Training time of ``training`` over that of ``"standard"``, one per seed."""
        base = {r["seed"]: r["train_seconds"] for r in self.rows("training", training="standard")}
        return np.array(
            [r["train_seconds"] / base[r["seed"]] for r in self.rows("training", training=training)]
        )


def _check_table(path: str, rows: list[dict], columns: list[str]) -> None:
    if not rows:
        raise ValueError(f"{path} holds no rows: it is damaged; run the script again")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise ValueError(
            f"{path} is not a file of scripts/challenges_experiment.py: columns {missing} "
            f"missing (expected {columns})"
        )
    for i, row in enumerate(rows):
        for column in columns:
            value = row[column]
            if column in _TEXT:
                ok = isinstance(value, str) and value != ""
            else:
                ok = isinstance(value, (int, float)) or (column in _OPTIONAL and value == "")
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(
                    f"{path} is damaged: row {i + 1}, column {column!r} holds {value!r}; "
                    "run scripts/challenges_experiment.py again"
                )


def load_challenges_results(folder=None) -> ChallengesResults:
    """Read the four files of :data:`FILES` (the package's own by default, or ``folder``).

    Raises
    ------
    FileNotFoundError
        A file is missing (the message names the script that makes it).
    ValueError
        A file lacks a column, has no rows, or a field that should be a number is not.
    """
    from dlcv.grid import read_results

    names = [name for name, _ in FILES.values()]
    read = read_results(names, "scripts/challenges_experiment.py", folder)
    tables = {}
    for (table, (name, columns)), (rows, _) in zip(FILES.items(), read, strict=True):
        _check_table(name, rows, columns)
        tables[table] = rows
    return ChallengesResults(tables, read[0][1])
