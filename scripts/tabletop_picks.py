"""Chapter 12's upper bound: every object of many seeded table tops picked at its true place.

Perfect perception and perfect grounding: the arm is sent to each object's true centre
(:func:`dlcv.tabletop.pick_at_true_position`), so the only things left to fail are the
grasp and the arm's reach. Each row is judged by :func:`dlcv.tabletop.judge` from where
the objects ended up: the named object lifted at least 10 cm, no other one moved more
than 2 cm. Then the same on the first ``--offset-scenes`` scenes with the grasp moved off
the centre by each of ``--offsets`` (1, 2 and 3 cm, each object in its own seeded
direction): how close must perception come? The file it writes,
``lib/dlcv/assets/tabletop_picks.csv``, is what the chapter compares perception and
grounding against; it re-runs a sample of the rows live.

Usage::

    python scripts/tabletop_picks.py                                   # one process
    python scripts/tabletop_picks.py --scenes 3 --offset-scenes 1 --out /tmp/tp  # seconds

One process on purpose: each pick is a fresh simulator (about half a second), the
machine is shared, and the rows depend on their seeds alone, so they come out the same
in any order. Comment lines at the top of the file record the command, the date, the
library's commit and the machine; ``dlcv.tabletop.load_pick_results`` reads them back.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.grid import provenance, write_csv
from dlcv.tabletop import (
    KINDS,
    LIFT_HEIGHT,
    MOVED_TOLERANCE,
    PICKS_COLUMNS,
    PICKS_FILE,
    load_pick_results,
    make_scene,
    pick_at_true_position,
)

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100, help="seeds 0 .. scenes - 1")
    parser.add_argument("--offset-scenes", type=int, default=30, help="scenes with offsets")
    parser.add_argument("--offsets", type=float, nargs="+", default=[0.01, 0.02, 0.03])
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the output file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = []
    plan = [(0.0, args.scenes)] + [(offset, args.offset_scenes) for offset in args.offsets]
    for offset, scenes in plan:
        for seed in range(scenes):
            with make_scene(seed) as scene:
                count = len(scene.objects)
            for index in range(count):
                rows.append(pick_at_true_position(seed, index, offset))
        done = [r["success"] for r in rows if r["offset"] == offset]
        print(f"offset {offset} m: {sum(done)}/{len(done)} picks succeeded", flush=True)
    wall = time.perf_counter() - start
    command = "python scripts/tabletop_picks.py " + shlex.join(argv)
    settings = (
        f"scenes: dlcv.tabletop.make_scene(seed) for seeds 0-{args.scenes - 1}, every object; "
        "grasp: dlcv.tabletop.pick at the object's true bounding-box centre, yaw 0, or "
        f"moved by the offsets {args.offsets} m on seeds 0-{args.offset_scenes - 1}; "
        f"success: lifted >= {LIFT_HEIGHT} m and no other object moved > {MOVED_TOLERANCE} m"
    )
    comments = [*provenance(command, 1, wall), settings]
    write_csv(args.out / PICKS_FILE, rows, PICKS_COLUMNS, comments)
    results = load_pick_results(args.out)  # refuses what it could not have written
    print(f"wrote {len(rows)} picks to {args.out / PICKS_FILE} in {wall:.0f} s")
    for offset in results.offsets():
        kinds = {r["kind"] for r in results.rows if r["offset"] == offset}
        by_kind = ", ".join(f"{k} {results.success_rate(offset, k):.1%}" for k in KINDS
                            if k in kinds)  # fmt: skip
        failures = {r: n for r, n in results.failures(offset).items() if n}
        print(f"offset {offset} m: {results.success_rate(offset):.1%} succeeded ({by_kind}); "
              f"failures {failures}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
