"""A model card (Mitchell et al., 2019) for the shipped MNIST network, written from measured
numbers only.

:func:`model_card` reads three sources and types no number itself:

* the network's record (``lenet_mnist.npz``'s ``metadata``, :func:`dlcv.models.
  load_lenet_mnist`): recipe, data, parameters, validation and test accuracy;
* chapter 15's results (:func:`dlcv.fairness.load_ethics_results`): accuracy by stroke
  thickness and slant with bootstrap intervals, the under-representation experiment,
  the membership attack on this network;
* chapter 13's results (:func:`dlcv.challenges.load_challenges_results`): accuracy and
  calibration error under corruptions and on scikit-learn's digits.

Every number of the card is a :class:`Fact`: its printed text, its value and where it
came from (file, rows and column, and whether it is one value or a mean over rows), so a
test can look each one up again. A missing or damaged source raises the error of its
loader (which names the file and the script that makes it); a record without a field the
card needs raises ``ValueError`` naming the field.

The card's sections are Mitchell et al.'s nine: model details, intended use, factors,
metrics, evaluation data, training data, quantitative analyses, ethical considerations,
caveats and recommendations.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

__all__ = ["RECORD_FIELDS", "SECTIONS", "Fact", "ModelCard", "model_card"]

#: Mitchell et al.'s sections, in their order.
SECTIONS = (
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
)
#: What the card needs from the network's record.
RECORD_FIELDS = ("what", "made_by", "recipe", "data", "validation_accuracy", "test_accuracy",
                 "n_params", "train_seconds", "versions")  # fmt: skip
RECORD_FILE = "lenet_mnist.npz"


class Fact(NamedTuple):
    """One number of the card: ``text`` as printed (``value * scale``, rounded), and its
    source: ``file``, ``rows`` (indices into the file's table, or the record's key path),
    ``column`` and ``how`` (``"value"``: the first row's value; ``"mean"``: the mean over
    ``rows``; ``"count"``: the number of rows)."""

    text: str
    value: float
    file: str
    rows: tuple
    column: str
    how: str
    scale: float


class ModelCard(NamedTuple):
    """The card as Markdown and every number in it."""

    markdown: str
    facts: tuple[Fact, ...]

    def _repr_markdown_(self) -> str:  # shown as Markdown in Jupyter
        return self.markdown

    def section(self, level: int = 3) -> str:
        """The card as Markdown whose title is a heading of ``level`` (1-5) and its
        sections one level below, to show it inside a page's own section."""
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            raise ValueError(f"level must be an int from 1 to 5, got {level!r}")
        shift = "#" * (level - 1)
        return re.sub(r"^(#{1,5}) ", lambda m: f"{m.group(1)}{shift} ", self.markdown,
                      flags=re.M)  # fmt: skip


class _Writer:
    def __init__(self):
        self.lines: list[str] = []
        self.facts: list[Fact] = []

    def number(self, value, fmt: str, file: str, rows, column: str, how: str = "value",
               scale: float = 1.0) -> str:  # fmt: skip
        text = format(value if scale == 1 else scale * value, fmt)
        self.facts.append(Fact(text, float(value), file, tuple(rows), column, how, scale))
        return text

    def percent(self, value, file, rows, column, how="value") -> str:
        return self.number(value, ".1f", file, rows, column, how, 100.0) + " %"

    def points(self, value, file, rows, column) -> str:
        return self.number(value, ".1f", file, rows, column, "value", 100.0)


def _check_record(record: dict) -> dict:
    if not isinstance(record, dict):
        raise TypeError(f"record must be the network's metadata dict, got {type(record).__name__}")
    missing = [f for f in RECORD_FIELDS if f not in record]
    if missing:
        raise ValueError(
            f"the network's record ({RECORD_FILE} metadata) lacks {missing}: run "
            "scripts/train_lenet_mnist.py again"
        )
    for key in ("validation_accuracy", "test_accuracy", "n_params", "train_seconds"):
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ValueError(f"the network's record ({RECORD_FILE} metadata): {key} = {value!r} "
                             "is not a number; run scripts/train_lenet_mnist.py again")  # fmt: skip
    return record


def _indices(table: list[dict], **where) -> list[int]:
    found = [i for i, r in enumerate(table) if all(r[k] == v for k, v in where.items())]
    if not found:
        raise ValueError(f"no row matches {where}: the results file is incomplete; run its "
                         "script again")  # fmt: skip
    return found


def _overlap(sub: list[dict], attribute: str) -> bool:
    rows = [r for r in sub if r["attribute"] == attribute and r["part"] == "test"]
    return max(r["low"] for r in rows) <= min(r["high"] for r in rows)


def model_card(record: dict | None = None, ethics=None, challenges=None, *,
               folder=None) -> ModelCard:  # fmt: skip
    """The model card of the shipped network, as Markdown with its facts.

    Parameters
    ----------
    record : dict, optional
        The network's metadata (default: :func:`dlcv.models.load_lenet_mnist`'s).
    ethics : dlcv.fairness.EthicsResults, optional
        Default: :func:`dlcv.fairness.load_ethics_results`.
    challenges : dlcv.challenges.ChallengesResults, optional
        Default: :func:`dlcv.challenges.load_challenges_results`.
    folder : str or Path, optional
        Where both loaders read their files (default: the package's assets).

    Returns
    -------
    ModelCard
    """
    from dlcv.challenges import load_challenges_results
    from dlcv.fairness import FILES, GROUPS, load_ethics_results
    from dlcv.models import load_lenet_mnist

    record = _check_record(load_lenet_mnist().metadata if record is None else record)
    ethics = load_ethics_results(folder) if ethics is None else ethics
    challenges = load_challenges_results(folder) if challenges is None else challenges
    w = _Writer()
    rec = RECORD_FILE
    recipe = record["recipe"]
    sub_file, rep_file, mem_file = (FILES[t][0] for t in ("subgroups", "representation",
                                                          "membership"))  # fmt: skip
    shift_file = "challenges_shift.csv"
    sub = ethics.tables["subgroups"]
    out = w.lines

    out += ["# Model card: the course's MNIST LeNet", ""]
    out += [f"*Written by `dlcv.model_card.model_card()` from the network's record, "
            f"chapter 15's results ({ethics.commit}) and chapter 13's; no number is typed.*",
            ""]  # fmt: skip

    # 1. model details
    channels = recipe.get("channels", [])
    out += ["## Model details", ""]
    out += [
        f"- {record['what']}; made by `{record['made_by']}`.",
        "- Architecture: two 5x5 convolutions ("
        + ", ".join(w.number(c, "d", rec, ("recipe", "channels", i), "channels")
                    for i, c in enumerate(channels))
        + " filters), each followed by ReLU and 2x2 max-pooling, then a hidden dense layer "
        f"and ten outputs; {w.number(record['n_params'], ',d', rec, ('n_params',), 'n_params')}"
        " parameters.",
        f"- Training: {recipe.get('optimizer', 'Adam')}, learning rate "
        f"{w.number(recipe['lr'], 'g', rec, ('recipe', 'lr'), 'lr')} multiplied by "
        f"{w.number(recipe['lr_decay'], 'g', rec, ('recipe', 'lr_decay'), 'lr_decay')} after "
        f"every epoch, {w.number(recipe['epochs'], 'd', rec, ('recipe', 'epochs'), 'epochs')} "
        f"epochs, batches of "
        f"{w.number(recipe['batch_size'], 'd', rec, ('recipe', 'batch_size'), 'batch_size')}, "
        f"{recipe.get('loss', 'softmax cross-entropy')}, seed "
        f"{w.number(recipe['seed'], 'd', rec, ('recipe', 'seed'), 'seed')}; "
        f"{w.number(record['train_seconds'], '.1f', rec, ('train_seconds',), 'train_seconds')}"
        " s on a CPU.",
        "- Software: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()
                                   if k != "blas") + ".",  # fmt: skip
        "- Licence: that of the course (MIT). Questions: the course's issue tracker.",
        "",
    ]  # fmt: skip

    # 2. intended use
    out += ["## Intended use", ""]
    out += [
        "- **Primary use**: teaching. The course trains, inspects, attacks and measures this "
        "network to show how convolutional networks work and fail.",
        "- **Primary users**: learners of the course.",
        "- **Out of scope**: reading real handwriting for any decision about a person "
        "(postcodes, cheques, forms, exam marks); digits not centred in a grey square like "
        "MNIST's; other scripts. The measurements below show why.",
        "",
    ]

    # 3. factors
    out += ["## Factors", ""]
    out += [
        "Two properties of the writing, measured on each image (chapter 15), each cut "
        "into three equally common groups at the terciles of the training digits:",
        "",
    ]
    for attribute, unit in (("thickness", "pixels of stroke width"), ("slant", "degrees")):
        rows = _indices(sub, attribute=attribute, part="test")
        names = GROUPS[attribute]
        # in the order printed: the first group's upper edge, the second's lower and upper
        edges = [
            w.number(sub[i][c], ".2f", sub_file, (i,), c)
            for i, c in ((rows[0], "upper"), (rows[1], "lower"), (rows[1], "upper"))
        ]
        out.append(f"- **{attribute}** ({unit}): {names[0]} below {edges[0]}, {names[1]} "
                   f"from {edges[1]} to {edges[2]}, {names[2]} above.")  # fmt: skip
    out += ["- **Image changes** that a deployed reader meets (chapter 13): rotation, blur, "
            "noise, inverted contrast, thicker strokes; and digits from another scanner and "
            "other writers (scikit-learn's digits).", ""]  # fmt: skip

    # 4. metrics
    out += ["## Metrics", ""]
    out += ["- Accuracy overall and **by group** (fairlearn's `MetricFrame`), each with a "
            "95 % percentile bootstrap interval; the **largest gap** between groups.",
            "- Expected calibration error (15 bins) under image changes: how far the "
            "network's confidence is from its accuracy.",
            "- Membership inference: the ROC AUC and the advantage (true- minus "
            "false-positive rate) of a loss-threshold attack.", ""]  # fmt: skip

    # 5 and 6. data
    out += ["## Evaluation data", ""]
    out += [f"- The course's test part: {record['data']}; read once, at the end.",
            "- scikit-learn's digits (8x8 scans of other writers, brought to MNIST's "
            "format) for the change of source.", ""]  # fmt: skip
    out += ["## Training data", ""]
    out += ["- The course's training part of the same source (its validation part chose "
            f"the recipe, validation accuracy "
            f"{w.percent(record['validation_accuracy'], rec, ('validation_accuracy',), 'val')}"
            "). Who wrote MNIST's digits, and how they were selected, is documented only "
            "loosely (American Census Bureau employees and high-school students); no "
            "datasheet (Gebru et al.) exists for it.", ""]  # fmt: skip

    # 7. quantitative analyses
    out += ["## Quantitative analyses", ""]
    out += [f"Test accuracy overall: "
            f"**{w.percent(record['test_accuracy'], rec, ('test_accuracy',), 'test_accuracy')}**.",
            "", "| factor | group | digits | accuracy | 95 % interval |",
            "|---|---|---|---|---|"]  # fmt: skip
    gaps = []
    for attribute in ("thickness", "slant"):
        rows = _indices(sub, attribute=attribute, part="test")
        for i in rows:
            r = sub[i]
            out.append(
                f"| {attribute} | {r['group']} "
                f"| {w.number(r['count'], 'd', sub_file, (i,), 'count')}"
                f" | {w.percent(r['accuracy'], sub_file, (i,), 'accuracy')}"
                f" | {w.percent(r['low'], sub_file, (i,), 'low')} to "
                f"{w.percent(r['high'], sub_file, (i,), 'high')} |"
            )
    for attribute in ("thickness", "slant"):
        i = _indices(sub, attribute=attribute, part="test")[0]
        gaps.append(f"{attribute} {w.points(sub[i]['gap'], sub_file, (i,), 'gap')} points "
                    f"(interval {w.points(sub[i]['gap_low'], sub_file, (i,), 'gap_low')} to "
                    f"{w.points(sub[i]['gap_high'], sub_file, (i,), 'gap_high')})")  # fmt: skip
    overlap = [a for a in ("thickness", "slant") if _overlap(sub, a)]
    verdict = (
        "The intervals of the groups of " + " and of ".join(overlap) + " overlap: with "
        "about a third of the test part per group, the test cannot tell those groups apart."
        if overlap else "The groups' intervals do not all overlap."
    )  # fmt: skip
    out += ["", "Largest gap between groups: " + "; ".join(gaps) + ". " + verdict + " (The "
            "gap's interval is that of the largest of noisy differences, so it sits above "
            "zero even for groups that do not differ.)", ""]  # fmt: skip

    shift = challenges.tables["shift"]
    out += [
        "Under image changes (chapter 13; the mean over seeds where there are several):",
        "",
        "| change | strength | accuracy | calibration error |",
        "|---|---|---|---|",
    ]
    for corruption in dict.fromkeys(r["corruption"] for r in shift if r["data"] == "MNIST test"):
        severities = sorted({r["severity"] for r in shift if r["corruption"] == corruption})
        for severity in severities[-2:] if corruption != "none" else severities:
            rows = _indices(shift, data="MNIST test", corruption=corruption, severity=severity)
            acc = float(np.mean([shift[i]["accuracy"] for i in rows]))
            ece = float(np.mean([shift[i]["ece"] for i in rows]))
            strength = w.number(severity, "g", shift_file, rows, "severity", "mean")
            out.append(f"| {corruption} | {strength}"
                       f" | {w.percent(acc, shift_file, rows, 'accuracy', 'mean')}"
                       f" | {w.number(ece, '.3f', shift_file, rows, 'ece', 'mean')} |")  # fmt: skip
    rows = _indices(shift, data="digits")
    digits = shift[rows[0]]
    out += [f"| scikit-learn's digits | "
            f"| {w.percent(digits['accuracy'], shift_file, rows, 'accuracy')}"
            f" | {w.number(digits['ece'], '.3f', shift_file, rows, 'ece')} |", ""]  # fmt: skip

    # 8. ethical considerations
    mem = ethics.tables["membership"]
    shipped = _indices(mem, model="shipped LeNet")
    auc = float(np.mean([mem[i]["auc"] for i in shipped]))
    adv = float(np.mean([mem[i]["advantage"] for i in shipped]))
    small = _indices(mem, model="small LeNet")
    fewest = min(mem[i]["per_class"] for i in small)
    few = _indices(mem, model="small LeNet", per_class=fewest)
    few_auc = float(np.mean([mem[i]["auc"] for i in few]))
    out += ["## Ethical considerations", ""]
    out += [f"- **Privacy.** A loss-threshold membership attack on this network reaches an "
            f"AUC of {w.number(auc, '.3f', mem_file, shipped, 'auc', 'mean')} and an "
            f"advantage of {w.number(adv, '.3f', mem_file, shipped, 'advantage', 'mean')} "
            f"(the mean over {w.number(len(shipped), 'd', mem_file, shipped, 'seed', 'count')}"
            " draws of the attacker's known members; an AUC of 0.5 and an advantage of 0 are "
            "guessing). The same attack on a network trained on only "
            f"{w.number(fewest, 'd', mem_file, few[:1], 'per_class')} digits per class reaches "
            f"an AUC of {w.number(few_auc, '.3f', mem_file, few, 'auc', 'mean')}"
            + (": the more a network overfits, the more it tells about its training data."
               if few_auc > auc else ", no higher.")
            + " Digits are not personal data; faces are (chapter 10).",
            ]  # fmt: skip
    rep = ethics.tables["representation"]
    cells = dict.fromkeys((r["attribute"], r["rare"]) for r in rep)
    effects = []
    for attribute, rare in cells:
        means = {}
        for condition in ("balanced", "under-represented"):
            rows = _indices(rep, attribute=attribute, rare=rare, condition=condition)
            means[condition] = w.percent(float(np.mean([rep[i]["test_rare"] for i in rows])),
                                         rep_file, rows, "test_rare", "mean")  # fmt: skip
        effects.append(f"{rare} ({attribute}) {means['balanced']} -> "
                       f"{means['under-represented']}")  # fmt: skip
    out += ["- **Fairness.** When one group of writing makes up only a small share of the "
            "training digits, networks of this architecture trained that way (chapter 15, "
            "the mean over seeds) score that group, on the test part, as follows (balanced "
            "training -> under-represented): " + "; ".join(effects) + ".",
            "- On digits such a gap costs little; the same mechanism in a face "
            "recogniser (Buolamwini and Gebru, 2018) decides whose face is recognised.",
            ""]  # fmt: skip

    # 9. caveats
    test_rows = _indices(sub, part="test")
    widest = max(test_rows, key=lambda i: sub[i]["high"] - sub[i]["low"])
    out += ["## Caveats and recommendations", ""]
    out += ["- The test part is small: the widest group interval above runs from "
            f"{w.percent(sub[widest]['low'], sub_file, (widest,), 'low')} to "
            f"{w.percent(sub[widest]['high'], sub_file, (widest,), 'high')} "
            f"({sub[widest]['attribute']}, {sub[widest]['group']}). Measure on more data "
            "before trusting a difference.",
            "- The factors are properties of the images the course can measure, not of the "
            "writers; who the writers are is unknown.",
            "- Confidence is not accuracy under change: read the calibration error above "
            "before using the network's probabilities.", ""]  # fmt: skip
    return ModelCard("\n".join(out), tuple(w.facts))
