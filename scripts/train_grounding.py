"""Chapter 12's grounding: train the CLIP-style embedding and measure both grounders.

Renders the seeded table tops of :data:`dlcv.grounding.SCENE_SEEDS` (train 1000-1399,
validation 2000-2099, test 3000-3099, disjoint), crops every object by its segmentation
mask (:func:`dlcv.grounding.scene_candidates`: perfect perception), generates commands
(:func:`dlcv.grounding.generate_commands`) and trains :class:`dlcv.grounding.GroundingModel`
with the symmetric contrastive loss on training scenes, training phrasings and training
(kind, colour) pairs only. The "nothing matches" threshold is chosen on the validation
scenes' commands (training phrasings, every pair, a fifth naming nothing); the test
scenes are read once, at the end, in four cells: training or held-out phrasings x
training or held-out pairs, for the embedding and the keyword baseline (which gets the
true kind of each crop, as perfect perception would give it).

Writes ``lib/dlcv/assets/grounding_embedding.npz`` and ``grounding_results.csv`` (comment
lines with the command, date, commit and machine).

Settings are chosen with ``--no-test`` (validation only). The defaults were chosen so:
40 epochs of 12 commands a scene (validation accuracy 0.880) against 100 epochs of 20
(0.873).

Usage::

    python scripts/train_grounding.py                        # about 2 minutes, one core
    python scripts/train_grounding.py --scenes 40 --epochs 2 --out /tmp/g   # a quick try
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from dlcv.grid import provenance, write_csv  # noqa: E402
from dlcv.grounding import (  # noqa: E402
    GROUNDING_FILE,
    RESULTS_COLUMNS,
    RESULTS_FILE,
    SCENE_SEEDS,
    GroundingModel,
    generate_commands,
    keyword_ground,
    load_grounding_model,
    scene_candidates,
    tokenize,
)
from dlcv.optim import Adam  # noqa: E402
from dlcv.tabletop import make_scene  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"


def render_part(seeds) -> list:
    """The candidates of every scene of ``seeds``."""
    out = []
    for seed in seeds:
        with make_scene(seed) as scene:
            out.append(scene_candidates(scene))
    return out


def commands_for(scenes, seeds, per_scene, phrasing, combinations, nothing, salt):
    """(scene index, command) pairs, each scene's commands seeded by (salt, seed)."""
    pairs = []
    for k, (cands, seed) in enumerate(zip(scenes, seeds, strict=True)):
        objects = list(zip(cands.kinds, cands.colours, strict=True))
        rng = np.random.default_rng([salt, seed])
        commands = generate_commands(objects, cands.columns, per_scene, rng, phrasing,
                                     combinations, nothing)  # fmt: skip
        pairs.extend((k, command) for command in commands)
    return pairs


def evaluate(model, scenes, pairs, grounder):
    """Per command: (has target, chosen == target) and the embedding's best similarity."""
    rows = []
    for k, command in pairs:
        cands = scenes[k]
        if grounder == "embedding":
            g = model.ground(command.text, cands.crops, cands.columns)
        else:
            g = keyword_ground(command.text, cands.crops, cands.columns, cands.kinds)
        best = float(np.nanmax(g.scores)) if not np.isnan(g.scores).all() else -np.inf
        argmax = int(np.nanargmax(g.scores)) if np.isfinite(best) else None
        rows.append((command.target is not None, g.choice == command.target, best,
                     argmax is not None and argmax == command.target))  # fmt: skip
    return rows


def summary(rows) -> dict:
    has = np.array([r[0] for r in rows])
    right = np.array([r[1] for r in rows])
    return {
        "commands": len(rows),
        "accuracy": round(float(right.mean()), 4),
        "target_accuracy": round(float(right[has].mean()), 4) if has.any() else "",
        "nothing_accuracy": round(float(right[~has].mean()), 4) if (~has).any() else "",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=400, help="training scenes (of 400)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--per-scene", type=int, default=12, help="training commands a scene")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the output files")
    parser.add_argument("--no-test", action="store_true",
                        help="leave the test scenes unread (for choosing settings)")  # fmt: skip
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seeds = {part: list(r) for part, r in SCENE_SEEDS.items()}
    seeds["train"] = seeds["train"][: args.scenes]
    if args.no_test:
        del seeds["test"]
    scenes = {part: render_part(s) for part, s in seeds.items()}
    print(f"rendered {sum(map(len, scenes.values()))} scenes in "
          f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip

    train = commands_for(scenes["train"], seeds["train"], args.per_scene, "train", "train",
                         0.0, 1)  # fmt: skip
    vocabulary = sorted({w for _, c in train for w in tokenize(c.text)})
    model = GroundingModel(vocabulary, rng=args.seed)
    image_x = [model.image_inputs(c.crops, c.columns) for c in scenes["train"]]
    x_img = np.stack([image_x[k][c.target] for k, c in train])
    x_txt = model.text_inputs([c.text for _, c in train])
    optimizers = Adam(lr=args.lr), Adam(lr=args.lr)  # one each: state is keyed by layer
    rng = np.random.default_rng(args.seed)
    print(f"{len(train)} training pairs, vocabulary of {len(vocabulary)} words", flush=True)
    for epoch in range(args.epochs):
        model.image.train()
        model.text.train()
        order = rng.permutation(len(train))
        losses = []
        for b in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[b : b + args.batch]
            losses.append(model.loss_and_backward(x_img[idx], x_txt[idx]))
            optimizers[0].step(model.image)
            optimizers[1].step(model.text)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip

    # the threshold, on validation only
    val = commands_for(scenes["validation"], seeds["validation"], 10, "train", "all", 0.2, 2)
    val_rows = evaluate(model, scenes["validation"], val, "embedding")
    model.choose_threshold([r[2] for r in val_rows], [r[0] for r in val_rows],
                           [r[3] for r in val_rows])  # fmt: skip
    print(f"threshold {model.threshold:.3f} chosen on {len(val)} validation commands")

    results = []
    for grounder in ("embedding", "keywords"):
        rows = evaluate(model, scenes["validation"], val, grounder)
        results.append({"part": "validation", "phrasing": "train", "combinations": "all",
                        "grounder": grounder, **summary(rows)})  # fmt: skip
    for phrasing in () if args.no_test else ("train", "held_out"):
        for combinations in ("train", "held_out"):
            salt = 3 + 2 * (phrasing == "held_out") + (combinations == "held_out")
            test = commands_for(scenes["test"], seeds["test"], 10, phrasing, combinations,
                                0.2, salt)  # fmt: skip
            for grounder in ("embedding", "keywords"):
                rows = evaluate(model, scenes["test"], test, grounder)
                results.append({"part": "test", "phrasing": phrasing,
                                "combinations": combinations, "grounder": grounder,
                                **summary(rows)})  # fmt: skip
    wall = time.perf_counter() - start
    model.metadata = {
        "made_by": "scripts/train_grounding.py " + shlex.join(argv),
        "train_scenes": f"{seeds['train'][0]}-{seeds['train'][-1]}",
        "train_pairs": len(train),
        "epochs": args.epochs,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / GROUNDING_FILE)
    load_grounding_model(args.out / GROUNDING_FILE)  # refuses what it could not have written
    command = "python scripts/train_grounding.py " + shlex.join(argv)
    settings = (
        f"scenes: train {seeds['train'][0]}-{seeds['train'][-1]}, validation "
        f"{seeds['validation'][0]}-{seeds['validation'][-1]}, test "
        f"{'not read' if args.no_test else '3000-3099'}; crops from the segmentation mask "
        "(perfect perception); "
        f"{len(train)} training pairs, {args.epochs} epochs, batch {args.batch}, Adam "
        f"lr {args.lr}, temperature {model.temperature}; threshold {model.threshold:.4f} "
        "chosen on validation; keywords get the true kinds"
    )
    write_csv(args.out / RESULTS_FILE, results, RESULTS_COLUMNS,
              [*provenance(command, 1, wall), settings])  # fmt: skip
    for r in results:
        print(f"{r['part']:10} {r['phrasing']:8} {r['combinations']:8} {r['grounder']:9} "
              f"n={r['commands']:4} acc {r['accuracy']:.3f} target {r['target_accuracy']} "
              f"nothing {r['nothing_accuracy']}")  # fmt: skip
    print(f"wrote {args.out / GROUNDING_FILE} and {RESULTS_FILE} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
