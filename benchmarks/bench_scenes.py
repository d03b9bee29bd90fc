"""Time dlcv.scenes: road frames rendered per second, against one projective warp of a frame.

Usage::

    .venv/bin/python benchmarks/bench_scenes.py              # 7 rounds
    .venv/bin/python benchmarks/bench_scenes.py --rounds 3   # quicker
    .venv/bin/python benchmarks/bench_scenes.py --clock cpu  # CPU time, for a busy machine

One table, printed as Markdown: frames per second of ``random_scene`` (96 x 128 RGB, with
its labels) for the training mix (``condition=None``: lighting, weather, shadows, wear and
curves drawn at random) and for each named condition of ``CONDITIONS``, with objects (0-3
cars, 0-2 pedestrians, 0-1 traffic light); ``render(Road(), [])`` (an empty straight road by
day, nothing drawn at random but the textures' offsets and the noise) shows what the road
plane alone costs.

Every call renders a new scene (seeds 0, 1, 2, ... of the training split), so the times
average over the objects and conditions drawn. The reference, timed in the same interleaved
rounds, is ``skimage.transform.warp`` of one 96 x 128 RGB float64 frame through a projective
transform (bilinear, ``order=1``): the cost of resampling a whole frame once through a
homography, which is how a bird's-eye view or a perspective texture is usually made from an
image. A frame of ``dlcv.scenes`` traces every pixel to the road plane instead and samples
two textures at mip levels; the last column says how many such warps one frame costs.

Rounds are interleaved (each calibrated to at least 50 ms, see
``bench_kernels.interleaved_medians``) and the table shows medians. The first frame of a
process also loads and blurs scikit-image's textures (cached afterwards); the script times
it once before anything else and prints it under the table.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from skimage.transform import ProjectiveTransform, warp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_kernels  # noqa: E402
from bench_kernels import CLOCKS, interleaved_medians, machine_report, ms, table  # noqa: E402

from dlcv.scenes import CAMERA, CONDITIONS, Road, random_scene, render  # noqa: E402


def scene_maker(condition):
    """A function that renders the next training scene of ``condition`` at each call."""
    seeds = itertools.count()
    return lambda: random_scene(next(seeds), "train", condition)


def warp_reference():
    """Bilinear warp of one RGB frame through a homography (a mild perspective tilt)."""
    h, w = CAMERA.size
    image = np.random.default_rng(0).random((h, w, 3))
    transform = ProjectiveTransform(
        np.array([[1.0, 0.3, -20.0], [0.0, 1.4, -10.0], [0.0, 0.004, 1.0]])
    )
    out = warp(image, transform.inverse, order=1)
    assert out.shape == image.shape and np.isfinite(out).all()
    return lambda: warp(image, transform.inverse, order=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall", help="wall (default) or cpu")
    args = parser.parse_args(argv)
    bench_kernels.clock = CLOCKS[args.clock]  # what interleaved_medians reads
    machine_report()

    start = time.perf_counter()
    random_scene(0)
    first = time.perf_counter() - start

    functions = {"training mix": scene_maker(None)}
    functions.update({c: scene_maker(c) for c in CONDITIONS})
    functions["empty road, render(Road(), [])"] = lambda: render(Road(), [])
    functions["reference: skimage warp"] = warp_reference()
    times = interleaved_medians(functions, args.rounds)

    reference = times.pop("reference: skimage warp")
    rows = [[name, f"{1 / t:,.0f}", ms(t), f"{t / reference:.1f}"] for name, t in times.items()]
    rows.append(["skimage.transform.warp, 96x128x3, order=1", f"{1 / reference:,.0f}"])
    rows[-1] += [ms(reference), "1.0"]
    h, w = CAMERA.size
    print(
        f"#### Frames of {h} x {w} RGB with labels, training split, new seed every call "
        f"(median of {args.rounds} interleaved rounds, {args.clock} clock)\n"
    )
    table(["scenes", "frames per second", "time per frame", "warps per frame"], rows)
    print(f"First frame of the process (loads and blurs the textures): {ms(first)}")


if __name__ == "__main__":
    main()
