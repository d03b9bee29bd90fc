"""Chapter 15's privacy measurements: does a trained network give away its training data?

**Membership inference by loss threshold** (Yeom et al., 2018): a network fits the images
it trained on better than others, so an attacker who sees an image, its label and the
network's output guesses "member" when the cross-entropy loss is at most a threshold
``t``. The attack's quality needs no threshold: the **AUC**
(:func:`membership_auc`, the chance that a random member has a lower loss than a random
non-member; 0.5 is guessing). At a threshold, its **advantage** is the true-positive
rate minus the false-positive rate (:func:`attack_at`; 0 is guessing, 1 is perfect),
which Yeom et al. tie to the generalisation gap. The threshold is never chosen on the
images it is scored on: :func:`choose_threshold` picks it on a **shadow** split
(Shokri et al., 2017: the attacker trains a model of its own on data like the target's
and learns what members look like there).

* :func:`membership_run` (``ethics_membership.csv``): a LeNet trained on a small part
  of the training digits until it overfits, attacked on its members against held-out
  digits, with the threshold from a shadow LeNet trained the same way on four disjoint
  sets of the course's training part (:func:`membership_split`).
* :func:`shipped_membership_run`: the same attack on the shipped network (trained on all
  3,500 training digits): threshold chosen on 500 of its members against the validation
  part, scored on 1,000 other members against the test part (the attacker here knows
  some members, a stronger attacker than the shadow one).

What the results say (``ethics_membership.csv``, the full run at commit 80fe661; mean
over seeds 0-2): every small network fits its training digits perfectly; the fewer they
are, the larger the generalisation gap and the better the attack. 10 digits per class:
held-out accuracy 78 %, AUC 0.82, advantage 0.61; 30 per class: 92 %, 0.60, 0.29; 80
per class: 95 %, 0.55, 0.17. The shipped network (3,500 digits, held-out accuracy
97.6 %): AUC 0.52, advantage 0.04, near guessing. The shadow split's advantage at its own
threshold is within 0.03 of the target's (mean over seeds): a shadow trained on like data
tells the attacker what the target does. This is Yeom et al.'s point, measured: membership leaks
through overfitting.

Anonymisation (chapter 10's faces) is measured by ``scripts/face_experiment.py``
(``face_anonymisation.csv``); :func:`load_anonymisation` reads that table back and
:func:`anonymisation_summary` says, per method, the weakest strength at which each
detector and the re-identifier fail.
"""

from __future__ import annotations

import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

from dlcv.challenges import mnist_parts
from dlcv.models import LENET_MNIST_RECIPE, lenet, load_lenet_mnist
from dlcv.optim import Adam
from dlcv.train import fit, predict_proba
from dlcv.validate import check_int

__all__ = [
    "ANONYMISATION_FILE",
    "MEMBERSHIP_COLUMNS",
    "MI_LR",
    "MI_PER_CLASS",
    "MI_STEPS",
    "anonymisation_summary",
    "unprotected_faces",
    "attack_at",
    "choose_threshold",
    "load_anonymisation",
    "membership_auc",
    "membership_run",
    "membership_split",
    "per_example_loss",
    "shipped_membership_run",
]

#: Training digits per class of the attacked small networks (each of the four disjoint
#: sets of :func:`membership_split` holds this many of every class).
MI_PER_CLASS = (10, 30, 80)
#: Training steps (batches of 32) and Adam's learning rate of the small networks: enough
#: steps to fit every training digit, no decay, no regularisation.
MI_STEPS = 600
MI_LR = 1e-3
#: Chapter 10's anonymisation table.
ANONYMISATION_FILE = "face_anonymisation.csv"

MEMBERSHIP_COLUMNS = [
    "model", "per_class", "seed", "n_members", "n_nonmembers", "steps", "train_accuracy",
    "heldout_accuracy", "generalisation_gap", "member_loss", "nonmember_loss", "threshold",
    "auc", "tpr", "fpr", "advantage", "shadow_advantage", "seconds",
]  # fmt: skip


def _losses(name: str, losses) -> np.ndarray:
    a = np.asarray(losses, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array of losses, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError(f"{name} must not hold NaN")
    return a


def per_example_loss(model, x, y) -> np.ndarray:
    """Cross-entropy ``-log p(y | x)`` of every image, shape ``(N,)`` (probabilities
    clipped at 1e-300 so a certain mistake gives a large finite loss)."""
    y = np.asarray(y)
    with threadpool_limits(1):
        p = predict_proba(model, x)
    if y.shape != (len(p),):
        raise ValueError(f"y must have shape ({len(p)},) like the images, got {y.shape}")
    return -np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))


def membership_auc(member_losses, nonmember_losses) -> float:
    """Area under the ROC curve of the loss-threshold attack (members positive, the score
    is minus the loss): the share of (member, non-member) pairs in which the member has
    the lower loss, ties counting one half (the Mann-Whitney statistic)."""
    m = _losses("member_losses", member_losses)
    n = _losses("nonmember_losses", nonmember_losses)
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([-m, -n]))
    return float((ranks[: len(m)].sum() - len(m) * (len(m) + 1) / 2) / (len(m) * len(n)))


def attack_at(member_losses, nonmember_losses, threshold) -> dict:
    """The attack "member when loss <= threshold": ``tpr`` (members caught), ``fpr``
    (non-members accused), ``advantage = tpr - fpr``."""
    m = _losses("member_losses", member_losses)
    n = _losses("nonmember_losses", nonmember_losses)
    t = float(threshold)
    if math.isnan(t):
        raise ValueError("threshold must be a number, got NaN")
    tpr, fpr = float(np.mean(m <= t)), float(np.mean(n <= t))
    return {"tpr": tpr, "fpr": fpr, "advantage": tpr - fpr}


def choose_threshold(member_losses, nonmember_losses) -> float:
    """The threshold with the largest advantage on these (shadow) losses.

    Every distinct loss is a candidate (and ``-inf``, accusing no one); ties go to the
    smallest threshold. Returns the midpoint between the chosen loss and the next larger
    one, so that losses equal to a candidate on *other* data do not sit on the edge.
    """
    m = _losses("member_losses", member_losses)
    n = _losses("nonmember_losses", nonmember_losses)
    cuts = np.unique(np.concatenate([m, n]))
    tpr = np.searchsorted(np.sort(m), cuts, side="right") / len(m)
    fpr = np.searchsorted(np.sort(n), cuts, side="right") / len(n)
    advantage = tpr - fpr
    best = int(np.argmax(advantage))
    if advantage[best] <= 0:
        return float(-np.inf)
    upper = cuts[best + 1] if best + 1 < len(cuts) else cuts[best] + 1.0
    return float((cuts[best] + upper) / 2)


def membership_split(per_class: int, seed: int) -> dict[str, np.ndarray]:
    """Four disjoint index sets of the training part, ``per_class`` digits of each class
    in each: ``target_in``, ``target_out``, ``shadow_in``, ``shadow_out``."""
    parts = mnist_parts()
    per_class, seed = check_int(per_class, "per_class", 1), check_int(seed, "seed", 0)
    most = int(np.bincount(parts.y_train).min()) // 4
    if per_class > most:
        raise ValueError(
            f"per_class must be at most {most} (four disjoint sets of the training part's "
            f"{4 * most} digits per class), got {per_class}"
        )
    rng = np.random.default_rng([seed, 2018])
    sets = {k: [] for k in ("target_in", "target_out", "shadow_in", "shadow_out")}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(parts.y_train == c))
        for j, key in enumerate(sets):
            sets[key].append(idx[j * per_class : (j + 1) * per_class])
    return {k: np.sort(np.concatenate(v)) for k, v in sets.items()}


def _overfit(x, y, seed: int, steps: int):
    model = lenet(channels=tuple(LENET_MNIST_RECIPE["channels"]), rng=seed)
    batch = min(32, len(x))
    epochs = max(1, round(steps / math.ceil(len(x) / batch)))
    fit(model, x, y, epochs=epochs, batch_size=batch, optimizer=Adam(MI_LR), seed=seed,
        verbose=False)  # fmt: skip
    return model, epochs * math.ceil(len(x) / batch)


def _accuracy(model, x, y) -> float:
    with threadpool_limits(1):
        return float(np.mean(predict_proba(model, x).argmax(axis=1) == y))


def _row(model_name, per_class, seed, steps, target, members, nonmembers, shadow_losses,
         start) -> dict:  # fmt: skip
    (xm, ym), (xn, yn) = members, nonmembers
    lm, ln = per_example_loss(target, xm, ym), per_example_loss(target, xn, yn)
    threshold = choose_threshold(*shadow_losses)
    at = attack_at(lm, ln, threshold)
    train, held = _accuracy(target, xm, ym), _accuracy(target, xn, yn)
    return {
        "model": model_name, "per_class": per_class, "seed": seed, "n_members": len(ym),
        "n_nonmembers": len(yn), "steps": steps, "train_accuracy": train,
        "heldout_accuracy": held, "generalisation_gap": train - held,
        "member_loss": float(lm.mean()), "nonmember_loss": float(ln.mean()),
        "threshold": threshold, "auc": membership_auc(lm, ln), **at,
        "shadow_advantage": attack_at(*shadow_losses, threshold)["advantage"],
        "seconds": round(time.perf_counter() - start, 2),
    }  # fmt: skip


def membership_run(per_class: int, seed: int = 0, *, steps: int = MI_STEPS) -> dict:
    """One row of ``ethics_membership.csv``: the attack on a small LeNet that overfits.

    The target LeNet (channels 16 and 32, from ``seed``) trains on ``target_in`` of
    :func:`membership_split` for about ``steps`` steps (Adam :data:`MI_LR`, batches of
    32); a shadow LeNet (seed ``seed + 1000``) trains the same way on ``shadow_in``. The
    threshold is :func:`choose_threshold` of the shadow's losses on ``shadow_in`` against
    ``shadow_out``; the attack is then scored on the target's losses on ``target_in``
    (members) against ``target_out`` (held out). The test part is not used.

    Returns
    -------
    dict
        The keys of :data:`MEMBERSHIP_COLUMNS`.
    """
    per_class, seed = check_int(per_class, "per_class", 1), check_int(seed, "seed", 0)
    steps = check_int(steps, "steps", 1)
    start = time.perf_counter()
    parts, sets = mnist_parts(), membership_split(per_class, seed)
    x, y = parts.x_train, parts.y_train
    target, done = _overfit(x[sets["target_in"]], y[sets["target_in"]], seed, steps)
    shadow, _ = _overfit(x[sets["shadow_in"]], y[sets["shadow_in"]], seed + 1000, steps)
    shadow_losses = (
        per_example_loss(shadow, x[sets["shadow_in"]], y[sets["shadow_in"]]),
        per_example_loss(shadow, x[sets["shadow_out"]], y[sets["shadow_out"]]),
    )
    members = (x[sets["target_in"]], y[sets["target_in"]])
    nonmembers = (x[sets["target_out"]], y[sets["target_out"]])
    return _row("small LeNet", per_class, seed, done, target, members, nonmembers,
                shadow_losses, start)  # fmt: skip


def shipped_membership_run(seed: int = 0) -> dict:
    """The attack on the shipped network (:func:`dlcv.models.load_lenet_mnist`).

    Its members are the 3,500 training digits. The threshold is chosen on 500 of them
    (drawn by ``seed``) against the 500 validation digits; the attack is scored on 1,000
    other members against the 1,000 test digits (the test part's one reading here).
    """
    seed = check_int(seed, "seed", 0)
    start = time.perf_counter()
    parts, model = mnist_parts(), load_lenet_mnist()
    order = np.random.default_rng([seed, 2019]).permutation(len(parts.y_train))
    shadow_in, scored = np.sort(order[:500]), np.sort(order[500:1500])
    x, y = parts.x_train, parts.y_train
    shadow_losses = (
        per_example_loss(model, x[shadow_in], y[shadow_in]),
        per_example_loss(model, parts.x_val, parts.y_val),
    )
    recipe = model.metadata["recipe"]
    steps = recipe["epochs"] * math.ceil(len(y) / recipe["batch_size"])
    return _row("shipped LeNet", int(np.bincount(y).min()), seed, steps, model,
                (x[scored], y[scored]), (parts.x_test, parts.y_test), shadow_losses,
                start)  # fmt: skip


# --------------------------------------------------------------------- anonymisation
_ANON_COLUMNS = ["method", "strength", "faces", "re-identified"]


def load_anonymisation(folder=None) -> list[dict]:
    """Chapter 10's anonymisation table (``face_anonymisation.csv``): per method and
    strength, of ``faces`` faces, how many each detector still finds (``found <detector>``)
    and how many dlib's descriptor still re-identifies.

    Raises ``FileNotFoundError`` naming ``scripts/face_experiment.py`` when it is missing,
    ``ValueError`` naming the row and column when it is damaged.
    """
    from dlcv.grid import read_results

    ((rows, _),) = read_results([ANONYMISATION_FILE], "scripts/face_experiment.py", folder)
    if (
        not rows
        or any(c not in rows[0] for c in _ANON_COLUMNS)
        or not any(c.startswith("found ") for c in rows[0])
    ):
        raise ValueError(f"{ANONYMISATION_FILE} is damaged or not chapter 10's table: expected "
                         f"the columns {_ANON_COLUMNS} and 'found <detector>' columns, found "
                         f"{sorted(rows[0]) if rows else []}")  # fmt: skip
    for number, row in enumerate(rows, start=1):
        for column, value in row.items():
            if column == "method":
                good = isinstance(value, str) and bool(value)
            else:
                good = isinstance(value, int) or (isinstance(value, float) and column ==
                                                  "strength" and math.isfinite(value))  # fmt: skip
                good = good and value >= 0 and (column in ("strength", "faces") or
                                                value <= row["faces"])  # fmt: skip
            if not good:
                raise ValueError(f"{ANONYMISATION_FILE} is damaged at row {number}: {column} = "
                                 f"{value!r}; run scripts/face_experiment.py again")  # fmt: skip
    return rows


def anonymisation_summary(rows=None) -> list[dict]:
    """Per anonymisation method and per measure (each ``found <detector>`` and
    ``re-identified``): the weakest strength at which at most 5 % of the faces remain
    (blank when none does), and the share at the strongest setting."""
    rows = load_anonymisation() if rows is None else rows
    measures = [c for c in rows[0] if c.startswith("found ")] + ["re-identified"]
    out = []
    for method in dict.fromkeys(r["method"] for r in rows if r["method"] != "none"):
        ordered = sorted((r for r in rows if r["method"] == method), key=lambda r: r["strength"])
        for measure in measures:
            shares = [r[measure] / r["faces"] for r in ordered]
            weakest = next((r["strength"] for r, s in zip(ordered, shares, strict=True)
                            if s <= 0.05), "")  # fmt: skip
            out.append({"method": method, "measure": measure, "weakest_strength": weakest,
                        "share_at_strongest": shares[-1]})  # fmt: skip
    return out


def unprotected_faces(folder=None) -> list[dict]:
    """Faces an automatic anonymiser would leave untouched, from chapter 10's detection
    table (``face_detection.csv``): an anonymiser blurs only the faces its detector finds
    (at the threshold that allows 0.05 false detections per face-free scene), so per
    detector and condition, ``faces - found`` faces stay as they are.

    Returns rows ``detector, condition, faces, unprotected, share``; raises as
    :func:`load_anonymisation` does for a missing or damaged file.
    """
    from dlcv.grid import read_results

    ((rows, _),) = read_results(["face_detection.csv"], "scripts/face_experiment.py", folder)
    out = []
    for number, row in enumerate(rows, start=1):
        faces, found = row.get("faces"), row.get("found")
        good = (isinstance(row.get("detector"), str) and isinstance(row.get("condition"), str)
                and isinstance(faces, int) and isinstance(found, int) and 0 <= found <= faces
                and faces > 0)  # fmt: skip
        if not good:
            raise ValueError(f"face_detection.csv is damaged at row {number}: {row}; run "
                             "scripts/face_experiment.py again")  # fmt: skip
        out.append({"detector": row["detector"], "condition": row["condition"], "faces": faces,
                    "unprotected": faces - found, "share": (faces - found) / faces})  # fmt: skip
    if not out:
        raise ValueError("face_detection.csv holds no rows: run scripts/face_experiment.py again")
    return out
