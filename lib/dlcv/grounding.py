"""Grounding a command: which object on the table does "the red mug on the left" mean?

Chapter 12's third step, independent of perception. A grounder gets the candidate
objects, each as an RGB crop with its place in the image, and a command in plain words,
and returns a score per candidate and a choice, or a clear "nothing matches" answer
(:class:`Grounding`). Two grounders:

* :func:`keyword_ground`, the baseline: a hand-written synonym table
  (:data:`KEYWORDS`, word -> kind, colour or position); a candidate's score is the number
  of named attributes it has. It reads colour from the crop by a fixed rule
  (:func:`crop_colour`) and takes the kind from the caller (the perception step names
  each crop).
* :class:`GroundingModel`, a text-image embedding in the spirit of CLIP (Radford et al.,
  2021): an image encoder for crops (a small CNN of :mod:`dlcv.layers`) and a
  bag-of-words text encoder, trained together with the symmetric contrastive loss
  (:func:`clip_loss`); the choice is the most similar crop, "nothing matches" when even
  that one's cosine similarity is below a threshold chosen on validation commands.

Commands come from :func:`generate_commands`, seeded: templates with kind, colour and
position words, synonyms ("cup", "bear", "block", "sphere", ...), functional
descriptions ("the thing to drink from", "the toy animal") and commands that name
nothing on the table. A command is generated only when its words pick out exactly one
object (or none, for the "nothing matches" ones). The phrasing templates are split into
:data:`TRAIN_TEMPLATES` and :data:`HELD_OUT_TEMPLATES`, the (kind, colour) pairs into
:data:`TRAIN_COMBINATIONS` and :data:`HELD_OUT_COMBINATIONS`, so that a model trained on
one part can be measured on phrasings and on combinations it never saw.

**Position words** are defined by thirds of the image width: a candidate whose centre
lies in the left third of the image (column ``u < W / 3``) is "on the left", in the right
third (``u >= 2 W / 3``) "on the right", otherwise "in the middle" / "in the centre".
Left and right are the camera's, as a person looking at the picture would say them.
Candidates give their column as a fraction of the image width, ``u / W`` in [0, 1].

**Unknown words** are ignored by both grounders: the keyword table skips words it does
not list, the text encoder words outside its training vocabulary. A command with no
known word at all gets "nothing matches" (choice ``None``) and its scores are NaN.

``scripts/train_grounding.py`` renders the crops, trains the embedding and writes
``lib/dlcv/assets/grounding_embedding.npz`` (read by :func:`load_grounding_model`) and
``grounding_results.csv`` (validation and test accuracy of both grounders). What it found
(the run at commit 6d4a323, 116 s on one core; 4,752 training pairs from scenes
1000-1399; 992 test commands per training-pair cell and 686 per held-out-pair cell, a
fifth of them naming nothing, on scenes 3000-3099): with perfect crops and the true kinds
the keyword baseline is right on every test command. The embedding picks the named object
for 94 % of the commands about training (kind, colour) pairs but 74 % of those about
held-out pairs (73 % with held-out phrasings too), and says "nothing matches" for 77-82 %
of the commands that name nothing (threshold 0.413 from validation). The held-out
phrasings change only framing words, which both grounders ignore, so they cost nothing
here (93.7 % vs 92.6 % on training pairs); new words for the attributes themselves would
defeat both. A caveat on the protocol: the shipped settings (40 epochs of 12 commands a
scene) won over 100 x 20 on validation accuracy (0.880 against 0.873), but both trial runs
also printed their test numbers, before the script had ``--no-test``; the test part was
seen twice, not once, though it did not make the choice. The spread over training seeds
(``python scripts/train_grounding.py --seed 1 --out /tmp/s1``, and ``--seed 2``, at commit
e037adf, 103 s each; their files are not shipped): on the test commands about training
pairs the embedding picks the named object for 94.8 % and 94.6 % (the shipped seed 0:
93.7 %), about held-out pairs for 73.5 % and 75.1 % (74.1 %), and says "nothing matches"
correctly for 81-90 % of the commands naming nothing (the shipped run: 74-82 %). The gap
to the keyword table is far larger than that spread.

>>> gen = generate_commands([("mug", "red"), ("duck", "yellow")], [0.1, 0.8], 3, seed=0)
>>> [c.target for c in gen] == [c.target for c in generate_commands(
...     [("mug", "red"), ("duck", "yellow")], [0.1, 0.8], 3, seed=0)]
True
"""

from __future__ import annotations

import importlib.resources
import json
import math
import numbers
import re
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dlcv.contrastive import clip_loss
from dlcv.grid import read_results
from dlcv.layers import LAYER_TYPES, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from dlcv.tabletop import COLOURS, KINDS, Camera, render, world_to_pixel
from dlcv.validate import check_choice, check_int, generator

__all__ = [
    "CROP_SIZE",
    "FUNCTIONS",
    "GROUNDING_FILE",
    "HELD_OUT_COMBINATIONS",
    "HELD_OUT_TEMPLATES",
    "KEYWORDS",
    "KIND_WORDS",
    "POSITIONS",
    "POSITION_WORDS",
    "RESULTS_FILE",
    "RESULTS_COLUMNS",
    "SCENE_SEEDS",
    "TRAIN_COMBINATIONS",
    "TRAIN_TEMPLATES",
    "Candidates",
    "Command",
    "Grounding",
    "GroundingModel",
    "clip_loss",
    "crop_box",
    "crop_colour",
    "generate_commands",
    "keyword_ground",
    "load_grounding_model",
    "load_grounding_results",
    "position_of",
    "scene_candidates",
    "tokenize",
]

CROP_SIZE = 16
"""Side (pixels) of the square RGB crop every candidate is resized to."""

POSITIONS = ("left", "middle", "right")
"""Position names, by thirds of the image width (see the module's description)."""

KIND_WORDS = {
    "mug": ("mug", "cup"),
    "duck": ("duck", "rubber duck"),
    "teddy": ("teddy", "teddy bear", "bear"),
    "cube": ("cube", "block", "box"),
    "ball": ("ball", "sphere"),
}
"""The words a command may use for each kind."""

FUNCTIONS = {
    "thing to drink from": ("mug",),
    "toy animal": ("duck", "teddy"),
    "thing that rolls": ("ball",),
    "bird": ("duck",),
    "thing to stack": ("cube",),
    "cuddly toy": ("teddy",),
}
"""Functional descriptions and the kinds they fit. "toy animal" fits two kinds, so it is
generated only on a table where exactly one object of those kinds has the other named
attributes."""

POSITION_WORDS = {
    "left": ("on the left",),
    "middle": ("in the middle", "in the centre"),
    "right": ("on the right",),
}
"""The phrases a command may use for each position."""

TRAIN_TEMPLATES = ("the {}", "pick up the {}", "hand me the {}", "grab the {}")
"""Phrasings a model is trained on; ``{}`` is the description."""

HELD_OUT_TEMPLATES = ("could you pass me the {}", "i would like the {} please")
"""Phrasings kept out of training, to measure how a grounder copes with new wording."""

HELD_OUT_COMBINATIONS = frozenset(
    {("mug", "green"), ("duck", "blue"), ("teddy", "purple"), ("cube", "red"), ("ball", "yellow")}
)
"""(kind, colour) pairs kept out of training: one per kind and one per colour, so every
word is still seen in training, only never these pairs together."""

TRAIN_COMBINATIONS = frozenset(
    (k, c) for k in KINDS for c in COLOURS if (k, c) not in HELD_OUT_COMBINATIONS
)
"""The other 20 (kind, colour) pairs."""

SCENE_SEEDS = {
    "train": range(1000, 1400),
    "validation": range(2000, 2100),
    "test": range(3000, 3100),
}
"""The scene seeds of each part, disjoint (``scripts/train_grounding.py`` uses them;
the tests render fresh scenes from seeds 5000 on)."""


def _keyword_table() -> dict:
    table = {}
    for kind, words in KIND_WORDS.items():
        for phrase in words:
            for word in phrase.split():
                if word != "rubber":
                    table[word] = ("kind", frozenset({kind}))
    table.update(
        {
            "drink": ("kind", frozenset({"mug"})),
            "animal": ("kind", frozenset({"duck", "teddy"})),
            "rolls": ("kind", frozenset({"ball"})),
            "bird": ("kind", frozenset({"duck"})),
            "stack": ("kind", frozenset({"cube"})),
            "cuddly": ("kind", frozenset({"teddy"})),
        }
    )
    table.update({colour: ("colour", colour) for colour in COLOURS})
    table.update({"left": ("position", "left"), "right": ("position", "right")})
    table.update({"middle": ("position", "middle"), "centre": ("position", "middle")})
    return table


KEYWORDS = _keyword_table()
"""The keyword baseline's synonym table: word -> ``("kind", frozenset of kinds)``,
``("colour", name)`` or ``("position", name)``. Written by hand from the words above;
any other word is ignored."""


class Command(NamedTuple):
    """A generated command: its ``text``, the index of its ``target`` among the objects
    (``None``: nothing on the table matches), the attributes its words name (``kinds``, a
    frozenset or ``None``; ``colour`` and ``position``, names or ``None``), the
    ``template`` it was phrased with and whether it is ``functional``."""

    text: str
    target: int | None
    kinds: frozenset | None
    colour: str | None
    position: str | None
    template: str
    functional: bool


class Grounding(NamedTuple):
    """A grounder's answer: ``scores`` (N,) float, one per candidate (NaN when the
    command has no known word), ``choice`` (the chosen candidate's index, ``None`` for
    "nothing matches") and ``reason`` (a sentence saying why)."""

    scores: np.ndarray
    choice: int | None
    reason: str


def tokenize(text) -> list[str]:
    """Lower-case words of ``text`` (letters only): ``"Hand me the Cup!"`` ->
    ``["hand", "me", "the", "cup"]``."""
    if not isinstance(text, str):
        raise TypeError(f"command must be a string, got {type(text).__name__}")
    return re.findall(r"[a-z]+", text.lower())


def position_of(column) -> str:
    """The position name of a candidate whose centre is at ``column`` (fraction of the
    image width, 0 = left edge): thirds of the width."""
    if not isinstance(column, numbers.Real) or isinstance(column, bool):
        raise TypeError(f"column must be a number, got {column!r}")
    if not 0 <= column <= 1:
        raise ValueError(f"column must be a fraction of the image width in [0, 1], got {column}")
    return "left" if column < 1 / 3 else "right" if column >= 2 / 3 else "middle"


def _check_objects(objects, columns) -> tuple[list, list]:
    if isinstance(objects, str) or not hasattr(objects, "__len__"):
        raise TypeError(f"objects must be a sequence of (kind, colour), got {objects!r}")
    pairs = []
    for i, obj in enumerate(objects):
        kind, colour = (obj.kind, obj.colour) if hasattr(obj, "kind") else tuple(obj)
        if kind not in KINDS or colour not in COLOURS:
            raise ValueError(
                f"objects[{i}] must be a (kind, colour) of {tuple(KINDS)} and "
                f"{tuple(COLOURS)}, got {(kind, colour)!r}"
            )
        pairs.append((kind, colour))
    if not pairs:
        raise ValueError("objects must not be empty")
    if isinstance(columns, str) or not hasattr(columns, "__len__"):
        raise TypeError(f"columns must be a sequence of numbers, got {columns!r}")
    if len(columns) != len(pairs):
        raise ValueError(
            f"columns must have one entry per object ({len(pairs)}), got {len(columns)}"
        )
    places = []
    for c in columns:
        if isinstance(c, bool) or not isinstance(c, numbers.Real):
            raise TypeError(f"columns must hold numbers, got {c!r}")
        places.append(position_of(float(c)))
    return pairs, places


def _matches(pairs, places, kinds, colour, position) -> list[int]:
    return [
        i
        for i, ((k, c), pos) in enumerate(zip(pairs, places, strict=True))
        if (kinds is None or k in kinds)
        and (colour is None or c == colour)
        and (position is None or pos == position)
    ]


def _describe(rng, kinds, colour, position, function) -> str:
    if function is not None:
        noun = function
    elif kinds is not None:
        (kind,) = kinds
        words = KIND_WORDS[kind]
        noun = words[rng.integers(len(words))]
    else:
        noun = "one" if rng.integers(2) else "thing"
    text = noun if colour is None else f"{colour} {noun}"
    if position is not None:
        phrases = POSITION_WORDS[position]
        text += " " + phrases[rng.integers(len(phrases))]
    return text


def generate_commands(
    objects,
    columns,
    n,
    seed=None,
    phrasing="train",
    combinations="all",
    nothing_fraction=0.2,
) -> list[Command]:
    """Up to ``n`` seeded commands about a table, each naming exactly one object or none.

    Every description the vocabulary can make is listed (kind, colour + kind,
    kind + position, colour + kind + position, colour alone, colour + position, a
    functional description with or without colour and position); those whose
    attributes fit exactly one object are the commands with a target. A command that
    names nothing is a kind, a colour or a (colour, kind) pair that no object has. Each
    command is then drawn with its words (synonyms) and a template of ``phrasing``.

    Parameters
    ----------
    objects : sequence of (kind, colour) or of :class:`dlcv.tabletop.SceneObject`
    columns : sequence of float
        Each object's image column as a fraction of the width (for position words).
    n : int >= 0
        How many commands; fewer when the table allows fewer distinct descriptions.
    seed : None, int or numpy Generator
    phrasing : {"train", "held_out"}
        Which templates to phrase with (:data:`TRAIN_TEMPLATES`, :data:`HELD_OUT_TEMPLATES`).
    combinations : {"all", "train", "held_out"}
        Keep only commands whose target's (kind, colour) is in that part
        (:data:`TRAIN_COMBINATIONS`, :data:`HELD_OUT_COMBINATIONS`); "nothing matches"
        commands are kept in every part.
    nothing_fraction : float in [0, 1]
        The share of commands (rounded down) that name nothing on the table.

    Returns
    -------
    list of Command
    """
    pairs, places = _check_objects(objects, columns)
    n = check_int(n, "n", 0)
    rng = generator(seed, "seed")
    check_choice(phrasing, "phrasing", ("train", "held_out"))
    check_choice(combinations, "combinations", ("all", "train", "held_out"))
    if isinstance(nothing_fraction, bool) or not isinstance(nothing_fraction, numbers.Real):
        raise TypeError(f"nothing_fraction must be a number, got {nothing_fraction!r}")
    if not 0 <= nothing_fraction <= 1:
        raise ValueError(f"nothing_fraction must be in [0, 1], got {nothing_fraction!r}")
    templates = TRAIN_TEMPLATES if phrasing == "train" else HELD_OUT_TEMPLATES
    part = {"train": TRAIN_COMBINATIONS, "held_out": HELD_OUT_COMBINATIONS}.get(combinations)
    # every (kinds, colour, position, function) description, in a fixed order
    specs = []
    for kind in KINDS:
        for colour in (None, *COLOURS):
            for position in (None, *POSITIONS):
                specs.append((frozenset({kind}), colour, position, None))
    for colour in COLOURS:
        for position in (None, *POSITIONS):
            specs.append((None, colour, position, None))
    for function, kinds in FUNCTIONS.items():
        for colour in (None, *COLOURS):
            for position in (None, *POSITIONS):
                specs.append((frozenset(kinds), colour, position, function))
    unique, nothing = [], []
    for spec in specs:
        kinds, colour, position, function = spec
        found = _matches(pairs, places, kinds, colour, position)
        if len(found) == 1 and (part is None or pairs[found[0]] in part):
            unique.append((spec, found[0]))
        elif not found and position is None and function is None:
            nothing.append((spec, None))  # a kind, colour or pair that is not on the table
    n_nothing = min(int(n * nothing_fraction), len(nothing))
    n_unique = min(n - n_nothing, len(unique))
    chosen = [unique[i] for i in rng.choice(len(unique), n_unique, replace=False)]
    chosen += [nothing[i] for i in rng.choice(len(nothing), n_nothing, replace=False)]
    commands = []
    for (kinds, colour, position, function), target in chosen:
        template = templates[rng.integers(len(templates))]
        text = template.format(_describe(rng, kinds, colour, position, function))
        commands.append(
            Command(text, target, kinds, colour, position, template, function is not None)
        )
    order = rng.permutation(len(commands))
    return [commands[i] for i in order]


# --- Candidates: crops from a rendered scene ----------------------------------------------


class Candidates(NamedTuple):
    """The objects of one rendered scene as a grounder sees them: ``crops`` (N, S, S, 3)
    uint8, ``columns`` (N,) each centre's column as a fraction of the image width,
    ``kinds`` and ``colours`` (the true names, for evaluation and for the keyword
    baseline's kind input) and ``bodies`` (the simulator's body ids)."""

    crops: np.ndarray
    columns: np.ndarray
    kinds: tuple
    colours: tuple
    bodies: tuple


def crop_box(rgb, box, size=CROP_SIZE) -> np.ndarray:
    """The crop (size, size, 3) uint8 of ``rgb`` (H, W, 3) inside ``box = (i0, j0, i1,
    j1)`` (rows ``i0 <= i < i1``, columns ``j0 <= j < j1``), bilinearly resized by
    sampling at pixel centres. :func:`scene_candidates` crops by the mask's box with it,
    :func:`dlcv.perception.propose` by a proposal's, so both give a grounder the same
    geometry."""
    img = np.asarray(rgb)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got {img.shape}")
    size = check_int(size, "size", 4)
    try:
        i0, j0, i1, j1 = (int(b) for b in box)
    except (TypeError, ValueError):
        raise ValueError(f"box must be four integers (i0, j0, i1, j1), got {box!r}") from None
    if not (0 <= i0 < i1 <= img.shape[0] and 0 <= j0 < j1 <= img.shape[1]):
        raise ValueError(f"box must be (i0, j0, i1, j1) inside the image {img.shape[:2]}, "
                         f"got {tuple(box)}")  # fmt: skip
    image = img[i0:i1, j0:j1].astype(np.float64)
    h, w = image.shape[:2]
    rows = np.clip((np.arange(size) + 0.5) * h / size - 0.5, 0, h - 1)
    cols = np.clip((np.arange(size) + 0.5) * w / size - 0.5, 0, w - 1)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = (rows - r0)[:, None, None], (cols - c0)[None, :, None]
    top = image[r0][:, c0] * (1 - fc) + image[r0][:, c1] * fc
    bottom = image[r1][:, c0] * (1 - fc) + image[r1][:, c1] * fc
    return np.round(top * (1 - fr) + bottom * fr).astype(np.uint8)


def scene_candidates(scene, camera=None, size=CROP_SIZE, pad=2) -> Candidates:
    """Render ``scene`` and crop every object by its segmentation mask: perfect perception.

    Each crop is the bounding box of the object's pixels in the mask, grown by ``pad``
    pixels on every side (clipped at the image border) and resized to ``size`` x
    ``size``. Its column is the projected centre of the object (:func:`world_to_pixel`)
    over the image width. An object the camera does not see gets no candidate.

    Parameters
    ----------
    scene : dlcv.tabletop.Scene
    camera : dlcv.tabletop.Camera, optional
        The default camera by default.
    size, pad : int
    """
    camera = Camera() if camera is None else camera
    size, pad = check_int(size, "size", 4), check_int(pad, "pad", 0)
    frame = render(scene, camera)
    h, w = frame.segmentation.shape
    crops, columns, kinds, colours, bodies = [], [], [], [], []
    for obj in scene.objects:
        rows, cols = np.nonzero(frame.segmentation == obj.body)
        if len(rows) == 0:
            continue
        i0, i1 = max(rows.min() - pad, 0), min(rows.max() + 1 + pad, h)
        j0, j1 = max(cols.min() - pad, 0), min(cols.max() + 1 + pad, w)
        crops.append(crop_box(frame.rgb, (i0, j0, i1, j1), size))
        u = float(world_to_pixel(camera, obj.position)[0])
        columns.append(min(max(u / w, 0.0), 1.0))
        kinds.append(obj.kind)
        colours.append(obj.colour)
        bodies.append(obj.body)
    return Candidates(
        np.array(crops, dtype=np.uint8).reshape(-1, size, size, 3),
        np.array(columns),
        tuple(kinds),
        tuple(colours),
        tuple(bodies),
    )


def _check_crops(crops, columns) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(crops)
    if arr.dtype.kind not in "uif":
        raise TypeError(f"crops must be a numeric array (N, S, S, 3), got dtype {arr.dtype}")
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"crops must have shape (N, S, S, 3) with N >= 1, got {arr.shape}")
    cols = np.asarray(columns, dtype=np.float64) if not isinstance(columns, str) else None
    if cols is None or cols.shape != (arr.shape[0],):
        raise ValueError(
            f"columns must have one fraction per crop, shape ({arr.shape[0]},), got "
            f"{getattr(cols, 'shape', columns)}"
        )
    if not (np.isfinite(cols).all() and (cols >= 0).all() and (cols <= 1).all()):
        raise ValueError(f"columns must be fractions of the image width in [0, 1], got {cols}")
    return arr, cols


# --- The keyword baseline -----------------------------------------------------------------


def crop_colour(crop) -> str:
    """The colour name of the object in ``crop`` (S, S, 3), by a fixed rule.

    The background is estimated as the median of the crop's border pixels (the padding
    shows the table); pixels farther than 60 (RGB distance, 0-255 scale) from it are
    the object's, and their median is named by the :data:`COLOURS` entry nearest in
    direction (largest cosine between RGB vectors), so that shading, which scales a
    colour, does not change its name. When fewer than 4 pixels differ from the
    background, the whole crop's median is used.
    """
    arr = np.asarray(crop)
    if arr.ndim != 3 or arr.shape[-1] != 3 or min(arr.shape[:2]) < 3:
        raise ValueError(f"crop must have shape (S, S, 3) with S >= 3, got {arr.shape}")
    pixels = arr.reshape(-1, 3).astype(np.float64)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).astype(np.float64)
    background = np.median(border, axis=0)
    inside = pixels[np.linalg.norm(pixels - background, axis=1) > 60]
    median = np.median(inside if len(inside) >= 4 else pixels, axis=0)
    names = list(COLOURS)
    palette = np.array([COLOURS[c] for c in names], dtype=np.float64)
    palette /= np.linalg.norm(palette, axis=1, keepdims=True)
    return names[int(np.argmax(palette @ median))]


def _parse(command: str) -> tuple[frozenset | None, str | None, str | None, list[str]]:
    kinds, colour, position, known = None, None, None, []
    for word in tokenize(command):
        if word not in KEYWORDS:
            continue
        known.append(word)
        what, value = KEYWORDS[word]
        if what == "kind":
            kinds = value if kinds is None else kinds & value
        elif what == "colour":
            colour = value
        else:
            position = value
    return kinds, colour, position, known


def keyword_ground(command, crops, columns, kinds) -> Grounding:
    """The keyword baseline: words looked up in :data:`KEYWORDS`, attributes counted.

    Each known word names a kind (or a set of kinds: "animal"), a colour or a position;
    a candidate's score is how many of the named attributes it has (its kind from
    ``kinds``, its colour by :func:`crop_colour`, its position by :func:`position_of`).
    The choice is the best candidate when it has every named attribute (the first such
    one on a tie); otherwise "nothing matches", with the reason: a named kind or colour
    that no candidate has, or no candidate with all of them together.

    Parameters
    ----------
    command : str
    crops : array_like (N, S, S, 3)
    columns : array_like (N,)
        Each candidate's column as a fraction of the image width.
    kinds : sequence of N str
        Each candidate's kind, as the perception step named it.
    """
    tokenize(command)  # a TypeError naming the command when it is not a string
    crops, cols = _check_crops(crops, columns)
    if isinstance(kinds, str) or not hasattr(kinds, "__len__") or len(kinds) != len(crops):
        raise ValueError(f"kinds must give one kind per crop ({len(crops)}), got {kinds!r}")
    for i, kind in enumerate(kinds):
        check_choice(kind, f"kinds[{i}]", tuple(KINDS))
    want_kinds, want_colour, want_position, known = _parse(command)
    n = len(crops)
    if not known:
        return Grounding(np.full(n, np.nan), None, "no word of the command is in the table")
    colours = [crop_colour(c) for c in crops]
    places = [position_of(float(c)) for c in cols]
    named = sum(x is not None for x in (want_kinds, want_colour, want_position))
    scores = np.zeros(n)
    for i in range(n):
        scores[i] = (
            (want_kinds is not None and kinds[i] in want_kinds)
            + (want_colour is not None and colours[i] == want_colour)
            + (want_position is not None and places[i] == want_position)
        )
    if want_kinds is not None and not any(k in want_kinds for k in kinds):
        return Grounding(scores, None, f"no candidate is a {' or '.join(sorted(want_kinds))}")
    if want_colour is not None and want_colour not in colours:
        return Grounding(scores, None, f"no candidate is {want_colour}")
    best = int(np.argmax(scores))
    if scores[best] < named:
        return Grounding(scores, None, "no candidate has every attribute the command names")
    return Grounding(scores, best, f"candidate {best} has all {named} named attribute(s)")


# --- The learned embedding ----------------------------------------------------------------


def _image_encoder(dim: int, rng) -> Sequential:
    s = CROP_SIZE // 4
    return Sequential([
        Conv2D(6, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(32 * s * s, 64, rng=rng), ReLU(), Dense(64, dim, rng=rng),
    ])  # fmt: skip


def _text_encoder(vocabulary_size: int, dim: int, rng) -> Sequential:
    return Sequential([Dense(vocabulary_size, 64, rng=rng), ReLU(), Dense(64, dim, rng=rng)])


class GroundingModel:
    """A CLIP-style text-image embedding for table-top crops.

    Image side: the crop (S, S, 3) scaled to [0, 1], plus its position as three constant
    planes (one-hot of its third of the image width, in the manner of CoordConv), so an
    input of (N, 6, S, S), goes through a small CNN (two 3x3 convolutions with ReLU and
    2x2 max pooling, then two dense layers) to a ``dim``-vector. Text side: the bag of
    words of the command (each vocabulary word's count over the number of known words:
    the average of one-hot vectors) through two dense layers to a ``dim``-vector. Words
    outside ``vocabulary`` are ignored. The two are compared by cosine similarity.

    Parameters
    ----------
    vocabulary : sequence of str
        The words the text encoder knows (the training commands' words).
    dim : int
        The embedding size.
    temperature : float
        The contrastive loss's ``tau`` (fixed, not learned).
    threshold : float
        "Nothing matches" when the best cosine similarity is below it; set after
        training from validation commands (:meth:`choose_threshold`).
    rng : None, int or Generator
        The initial weights.
    """

    def __init__(self, vocabulary, dim=32, temperature=0.1, threshold=-1.0, rng=None):
        words = list(vocabulary)
        if not words or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"vocabulary must be a non-empty list of words, got {vocabulary!r}")
        if len(set(words)) != len(words):
            raise ValueError("vocabulary must not hold a word twice")
        self.vocabulary = words
        self.index = {w: i for i, w in enumerate(words)}
        self.dim = check_int(dim, "dim", 2)
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
            raise TypeError(f"temperature must be a number, got {temperature!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.threshold = float(threshold)
        rng = generator(rng)
        self.image = _image_encoder(self.dim, rng)
        self.text = _text_encoder(len(words), self.dim, rng)
        self.metadata: dict = {}

    def image_inputs(self, crops, columns) -> np.ndarray:
        """The image encoder's input (N, 6, S, S) float32: RGB in [0, 1] and position planes."""
        crops, cols = _check_crops(crops, columns)
        if crops.shape[1:3] != (CROP_SIZE, CROP_SIZE):
            raise ValueError(
                f"crops must be {CROP_SIZE} x {CROP_SIZE} (scene_candidates makes them), "
                f"got shape {crops.shape}"
            )
        x = np.zeros((len(crops), 6, CROP_SIZE, CROP_SIZE), dtype=self.image.dtype)
        x[:, :3] = np.moveaxis(crops, -1, 1) / 255.0
        for i, c in enumerate(cols):
            x[i, 3 + POSITIONS.index(position_of(float(c)))] = 1.0
        return x

    def text_inputs(self, commands) -> np.ndarray:
        """The bag-of-words rows (M, V) of ``commands`` (str or list of str); a command
        with no known word gets a row of zeros."""
        if isinstance(commands, str):
            commands = [commands]
        if not isinstance(commands, (list, tuple)):
            raise TypeError(f"commands must be a string or a list of strings, got {commands!r}")
        rows = np.zeros((len(commands), len(self.vocabulary)), dtype=self.text.dtype)
        for r, command in enumerate(commands):
            known = [self.index[w] for w in tokenize(command) if w in self.index]
            for i in known:
                rows[r, i] += 1.0 / len(known)
        return rows

    def similarities(self, command, crops, columns) -> np.ndarray:
        """Cosine similarity (N,) of the command's embedding with each crop's (NaN when
        the command has no known word)."""
        text = self.text_inputs(command)
        if not text.any():
            return np.full(len(np.asarray(crops)), np.nan)
        self.image.eval()
        self.text.eval()
        a = self.image.forward(self.image_inputs(crops, columns)).astype(np.float64)
        b = self.text.forward(text).astype(np.float64)[0]
        a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b /= max(np.linalg.norm(b), 1e-12)
        return a @ b

    def ground(self, command, crops, columns) -> Grounding:
        """Scores (cosine similarities) and the most similar candidate, or "nothing
        matches" when the best similarity is below :attr:`threshold`."""
        tokenize(command)
        scores = self.similarities(command, crops, columns)
        if np.isnan(scores).all():
            return Grounding(scores, None, "no word of the command is in the vocabulary")
        best = int(np.argmax(scores))
        if scores[best] < self.threshold:
            return Grounding(
                scores,
                None,
                f"the best similarity {scores[best]:.2f} is below the threshold "
                f"{self.threshold:.2f}",
            )
        return Grounding(scores, best, f"candidate {best} is the most similar ({scores[best]:.2f})")

    def loss_and_backward(self, image_x, text_x) -> float:
        """One training step's loss :func:`clip_loss` on paired inputs, with every
        parameter's gradient left in the encoders' layers."""
        a = self.image.forward(image_x)
        b = self.text.forward(text_x)
        loss, (da, db) = clip_loss(a, b, self.temperature)
        self.image.backward(da, input_grad=False)
        self.text.backward(db, input_grad=False)
        return loss

    def choose_threshold(self, best_similarities, has_target, correct) -> float:
        """Set :attr:`threshold` to the value that maximises accuracy on validation.

        Parameters
        ----------
        best_similarities : array_like (M,)
            Each validation command's best similarity.
        has_target : array_like of bool (M,)
            Whether the command names an object on its table.
        correct : array_like of bool (M,)
            Whether the most similar candidate is the target (False when none).

        A command counts as right when it has a target, the best candidate is it and
        the similarity reaches the threshold, or when it has none and the similarity is
        below. Every midpoint between sorted similarities is tried (and both ends); the
        best accuracy wins, the lowest such threshold on a tie.
        """
        s = np.asarray(best_similarities, dtype=np.float64)
        t, c = np.asarray(has_target, bool), np.asarray(correct, bool)
        if not (s.shape == t.shape == c.shape) or s.ndim != 1 or len(s) == 0:
            raise ValueError(f"best_similarities, has_target and correct must be 1-D of one "
                             f"length, got {s.shape}, {t.shape}, {c.shape}")  # fmt: skip
        values = np.unique(s[np.isfinite(s)])
        trials = np.r_[values[0] - 1e-6, (values[1:] + values[:-1]) / 2, values[-1] + 1e-6]
        accuracy = [np.mean(np.where(t, c & (s >= th), ~(s >= th))) for th in trials]
        self.threshold = float(trials[int(np.argmax(accuracy))])
        return self.threshold

    def save(self, path) -> Path:
        """Write the weights, vocabulary and settings to one ``.npz`` file (no pickle)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"path must end with .npz, got {path.name!r}")
        config = {
            "format": _FORMAT,
            "vocabulary": self.vocabulary,
            "dim": self.dim,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "crop_size": CROP_SIZE,
            "image": self.image.get_config(),
            "text": self.text.get_config(),
            "metadata": self.metadata,
        }
        arrays = {
            f"{side}.{i}.{name}": value.astype(np.float32)
            for side, net in (("image", self.image), ("text", self.text))
            for i, layer in enumerate(net.layers)
            for name, value in layer.params.items()
        }
        np.savez_compressed(path, config=np.array(json.dumps(config)), **arrays)
        return path


_FORMAT = "dlcv-grounding-1"
GROUNDING_FILE = "grounding_embedding.npz"
"""The shipped embedding's file name in ``lib/dlcv/assets``."""

RESULTS_FILE = "grounding_results.csv"
"""The results table of ``scripts/train_grounding.py`` in ``lib/dlcv/assets``."""

RESULTS_COLUMNS = ["part", "phrasing", "combinations", "grounder", "commands", "accuracy",
                   "target_accuracy", "nothing_accuracy"]  # fmt: skip
"""Its columns: the scenes' part, the phrasing and combination split, the grounder, the
number of commands and the share right (overall, among commands with a target, among
those naming nothing)."""


def load_grounding_model(path=None) -> GroundingModel:
    """The embedding written by :meth:`GroundingModel.save` (the shipped one by default).

    Refuses a missing file (``FileNotFoundError`` naming the script that makes it) and
    a damaged one (``ValueError``: not an ``.npz``, another format, a missing or
    misshapen parameter, non-finite weights).
    """
    if path is None:
        path = importlib.resources.files("dlcv") / "assets" / GROUNDING_FILE
    path = Path(str(path))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python scripts/train_grounding.py` from the "
            "repository root to make it"
        )
    try:
        with path.open("rb") as f, np.load(f, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is damaged: not a readable .npz file ({err})") from None
    if "config" not in arrays:
        raise ValueError(f"{path} is damaged: no 'config' (not written by GroundingModel.save)")
    try:
        config = json.loads(str(arrays["config"]))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is damaged: its config is not JSON ({err})") from None
    if config.get("format") != _FORMAT:
        raise ValueError(f"{path}: unknown format {config.get('format')!r}, expected {_FORMAT!r}")
    if config.get("crop_size") != CROP_SIZE:
        raise ValueError(f"{path}: crops of {config.get('crop_size')}, this code uses {CROP_SIZE}")
    model = GroundingModel(
        config["vocabulary"], config["dim"], config["temperature"], config["threshold"]
    )
    for side, net in (("image", model.image), ("text", model.text)):
        layers = [LAYER_TYPES[s["type"]](**s["config"]) for s in config[side]]
        if [type(x).__name__ for x in layers] != [type(x).__name__ for x in net.layers]:
            raise ValueError(f"{path}: its {side} encoder is not this code's architecture")
        for i, layer in enumerate(net.layers):
            for name, value in layer.params.items():
                key = f"{side}.{i}.{name}"
                if key not in arrays:
                    raise ValueError(f"{path} is damaged: parameter {key} is missing")
                stored = arrays[key]
                if stored.shape != value.shape:
                    raise ValueError(f"{path} is damaged: parameter {key} has shape "
                                     f"{stored.shape}, the model needs {value.shape}")  # fmt: skip
                if not np.isfinite(stored).all():
                    raise ValueError(f"{path} is damaged: parameter {key} is not finite")
                layer.params[name] = stored.astype(value.dtype)
    if not math.isfinite(model.threshold):
        raise ValueError(f"{path} is damaged: threshold {model.threshold} is not finite")
    model.metadata = config.get("metadata", {})
    model.image.eval()
    model.text.eval()
    return model


def load_grounding_results(folder=None) -> tuple[list[dict], list[str]]:
    """The rows and the header lines of ``grounding_results.csv`` (in the package's
    assets by default), refused with a ``ValueError`` when a column is missing or a share
    is not in [0, 1] (a missing file: ``FileNotFoundError`` naming the script)."""
    [(rows, header)] = read_results([RESULTS_FILE], "scripts/train_grounding.py", folder)
    if not rows:
        raise ValueError(f"{RESULTS_FILE} has no rows")
    for i, row in enumerate(rows):
        lost = [c for c in RESULTS_COLUMNS if c not in row or row[c] is None]
        if lost:
            raise ValueError(f"{RESULTS_FILE} row {i} lacks the column(s) {lost}")
        for column in ("accuracy", "target_accuracy", "nothing_accuracy"):
            value = row[column]
            if value != "" and not (isinstance(value, numbers.Real) and 0 <= value <= 1):
                raise ValueError(f"{RESULTS_FILE} row {i}: {column} {value!r} is not in [0, 1]")
    return rows, header
