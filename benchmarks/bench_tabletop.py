"""Time dlcv.tabletop (chapter 12's table top) and measure how well its arm reaches.

Usage::

    .venv/bin/python benchmarks/bench_tabletop.py              # 5 rounds, 100 targets
    .venv/bin/python benchmarks/bench_tabletop.py --rounds 3 --targets 30   # quicker
    .venv/bin/python benchmarks/bench_tabletop.py --clock cpu  # CPU time, for a busy machine

Two tables, printed as Markdown.

1. **Speed**: median time per call of ``make_scene`` (a new seed each call, the scene
   closed again), ``render`` through the default camera at 160 x 120 and at 320 x 240,
   ``reach`` (inverse kinematics, then the arm driven there under physics) and ``pick``
   (the whole scripted grasp and lift, without frames), each in interleaved rounds (see
   ``bench_kernels.interleaved_medians``). The reference, timed in the same rounds, is
   ``skimage.transform.warp`` of one 120 x 160 RGB frame through a homography (as in
   ``bench_scenes.py``); the last column says how many such warps one call costs.
2. **Reach**: ``reach`` to ``--targets`` points drawn uniformly in ``WORKSPACE`` at
   heights of 2 to 15 cm above the table of scene 0 (seed 0), one after the other: how
   many inverse kinematics reaches within the default tolerance of 1 cm, and, for those,
   the gripper's distance to the target once the arm has been driven there under physics
   (how many within 1 cm, the median and the largest). The two differ: the solver plans in
   free space, while the arm moves among the scene's objects. For the reaches that end
   more than 1 cm off, it also prints how far the arm pushed an object on its way (the
   largest change of any object's position during that reach).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from skimage.transform import ProjectiveTransform, warp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_kernels  # noqa: E402
from bench_kernels import CLOCKS, interleaved_medians, machine_report, ms, table  # noqa: E402

from dlcv.tabletop import (  # noqa: E402
    WORKSPACE,
    Camera,
    make_scene,
    object_positions,
    pick,
    reach,
    render,
)


def warp_reference(h: int = 120, w: int = 160):
    """Bilinear warp of one RGB frame through a homography (a mild perspective tilt)."""
    image = np.random.default_rng(0).random((h, w, 3))
    transform = ProjectiveTransform(
        np.array([[1.0, 0.3, -20.0], [0.0, 1.4, -10.0], [0.0, 0.004, 1.0]])
    )
    return lambda: warp(image, transform.inverse, order=1)


def targets(n: int, seed: int = 0) -> np.ndarray:
    """``n`` points in the workspace, 2 to 15 cm above the table."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = WORKSPACE
    return np.column_stack(
        [rng.uniform(x0, x1, n), rng.uniform(y0, y1, n), rng.uniform(0.02, 0.15, n)]
    )


def new_scene():
    seeds = itertools.count()

    def make():
        make_scene(next(seeds)).close()

    return make


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--targets", type=int, default=100, help="reach targets (default 100)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall", help="wall (default) or cpu")
    args = parser.parse_args(argv)
    bench_kernels.clock = CLOCKS[args.clock]  # what interleaved_medians reads
    machine_report()

    scene = make_scene(0)
    small, large = Camera(), Camera(width=320, height=240)
    points = itertools.cycle(targets(50, seed=1))
    picks = itertools.count(1)

    def one_pick():
        with make_scene(next(picks)) as s:
            pick(s, s.objects[0].position)

    functions = {
        "make_scene (3-6 objects, the arm, the table)": new_scene(),
        "render, 160 x 120": lambda: render(scene, small),
        "render, 320 x 240": lambda: render(scene, large),
        "reach (IK and the arm driven there)": lambda: reach(scene, next(points)),
        "pick (a new scene, grasp and lift)": one_pick,
        "reference: skimage warp": warp_reference(),
    }
    times = interleaved_medians(functions, args.rounds)
    reference = times.pop("reference: skimage warp")
    rows = [[name, ms(t), f"{t / reference:,.0f}"] for name, t in times.items()]
    rows.append(["skimage.transform.warp, 120x160x3, order=1", ms(reference), "1"])
    print(f"#### Time per call (median of {args.rounds} interleaved rounds, {args.clock} clock)\n")
    table(["call", "time", "warps per call"], rows)

    errors, pushed, reachable = [], [], 0
    with make_scene(0) as s:
        for xyz in targets(args.targets):
            before = object_positions(s)
            answer = reach(s, xyz)
            after = object_positions(s)
            reachable += answer.reachable
            if answer.reachable:
                errors.append(answer.error)
                pushed.append(max(np.linalg.norm(after[b] - before[b]) for b in before))
    errors, pushed = np.array(errors) * 1000, np.array(pushed) * 1000
    print(f"#### Reach: {args.targets} targets in the workspace, 2-15 cm above the table\n")
    table(
        ["reachable by IK (tolerance 1 cm)", "within 1 cm once the arm stopped",
         "median error", "largest error"],
        [[f"{reachable} of {args.targets}", f"{(errors <= 10).sum()} of {len(errors)}",
          f"{np.median(errors):.1f} mm", f"{errors.max():.1f} mm"]],
    )  # fmt: skip
    missed = errors > 10
    print(
        "\nThe reaches that ended more than 1 cm off, and how far the arm pushed an object on "
        "its way (the largest move of any object during that reach):\n"
    )
    table(
        ["reaches more than 1 cm off", "of those, an object moved more than 5 mm",
         "largest object move among them", "largest object move in the other reaches"],
        [[f"{missed.sum()}", f"{(pushed[missed] > 5).sum()} of {missed.sum()}",
          f"{pushed[missed].max():.1f} mm" if missed.any() else "-",
          f"{pushed[~missed].max():.1f} mm" if (~missed).any() else "-"]],
    )  # fmt: skip
    scene.close()


if __name__ == "__main__":
    main()
