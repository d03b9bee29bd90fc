"""Time the core kernels of dlcv against references, side by side in one process.

Usage::

    .venv/bin/python benchmarks/bench_kernels.py            # every table
    .venv/bin/python benchmarks/bench_kernels.py --quick    # fewer repeats, skip the naive loop
    .venv/bin/python benchmarks/bench_kernels.py --only conv2d   # one table
    .venv/bin/python benchmarks/bench_kernels.py --clock cpu     # CPU time, for a busy machine

Three tables, printed as Markdown:

1. ``correlate2d`` on a real 512x512 photograph (scikit-image's ``camera``) with a
   3x3 and a 7x7 kernel, float32 and float64, "same" zero padding, against a naive
   double loop of our own (one window product per output pixel, the way a beginner
   writes it), ``scipy.ndimage.correlate(mode="constant")`` and, when ``import torch``
   works, ``torch.nn.functional.conv2d``.
2. ``max_pool2d`` / ``avg_pool2d`` 2x2 on a (64, 16, 26, 26) batch of feature maps
   against the reshape-and-reduce baseline (which only works when 2x2 tiles the input).
3. ``conv2d`` forward and ``conv2d_backward`` at the sizes of the course's CNN
   (batch 64, 28x28 digits, 1 -> 8 -> 16 channels).

Every method of a table row is timed in the same rounds, interleaved (round 1 of
every method, then round 2, ...), so a slow moment of a shared machine hits them all;
the table shows the median time per call over the rounds. The naive loop takes
seconds per call, so it gets 3 rounds of one call each, interleaved with rounds
of ``dlcv.correlate2d``; the "naive / dlcv" ratio compares those two medians.
All outputs are checked against each other before timing.

OpenBLAS reads ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` at start-up; run
with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` so the BLAS kernel for this
CPU is used. The header prints what threadpoolctl reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.ndimage as ndi
from skimage import data

import dlcv
from dlcv import naive
from dlcv.conv import conv2d_backward

try:
    import torch
except ImportError:  # torch is optional: not in requirements.txt
    torch = None


def naive_correlate(image, kernel):
    """The obvious loop, one window product per output pixel ("same" padding)."""
    return naive.correlate2d(image, kernel, padding="same")


# Wall-clock time by default; ``--clock cpu`` measures the CPU time this process
# used (all its threads), which other jobs on a busy machine disturb much less.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def interleaved_medians(functions, rounds, min_seconds=0.05):
    """Median seconds per call of each function, timed in interleaved rounds.

    Each function is first called once (warm-up) and calibrated to run ``number``
    times per round so that a round takes at least ``min_seconds``.
    """
    numbers = {}
    for name, f in functions.items():
        start = clock()
        f()
        once = clock() - start
        numbers[name] = max(1, int(min_seconds / max(once, 1e-9)))
    samples = {name: [] for name in functions}
    for _ in range(rounds):
        for name, f in functions.items():
            start = clock()
            for _ in range(numbers[name]):
                f()
            samples[name].append((clock() - start) / numbers[name])
    return {name: statistics.median(s) for name, s in samples.items()}


def ms(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(lines) + "\n")


def machine_report():
    from threadpoolctl import threadpool_info

    blas = [
        f"{i['internal_api']} {i['version']} ({i.get('architecture')}, {i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    env = {v: os.environ.get(v, "unset") for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    load = os.getloadavg()[0]
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at start")
    versions = f"NumPy {np.__version__}, SciPy {scipy.__version__}"
    versions += (
        f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""
    )
    print(f"- Python {platform.python_version()}, {versions}")
    print(f"- BLAS (threadpoolctl): {'; '.join(blas) or 'none reported'}")
    print(f"- environment: {env}\n")


def correlate_functions(image, kernel):
    """The fast implementations of 'same' correlation to time, by name."""
    funcs = {
        "dlcv": lambda: dlcv.correlate2d(image, kernel, padding="same"),
        "scipy": lambda: ndi.correlate(image, kernel, mode="constant"),
    }
    if torch is not None:
        t_image, t_kernel = (
            torch.from_numpy(image)[None, None],
            torch.from_numpy(kernel)[None, None],
        )
        funcs["torch"] = lambda: torch.nn.functional.conv2d(t_image, t_kernel, padding="same")
    reference = funcs["scipy"]()
    for name, f in funcs.items():
        result = np.asarray(f()).reshape(reference.shape)
        np.testing.assert_allclose(result, reference, rtol=1e-4, atol=1e-4, err_msg=name)
    return funcs


def correlate_row(image, kernel, rounds, naive_rounds):
    """One table row: times of every method and the two target ratios."""
    funcs = correlate_functions(image, kernel)
    times = interleaved_medians(funcs, rounds)
    size = f"{kernel.shape[0]}x{kernel.shape[1]} {image.dtype.name}"
    naive = naive_versus_dlcv(image, kernel, funcs["dlcv"], naive_rounds)
    row = [size, ms(naive[0]) if naive else "skipped", ms(times["dlcv"]), ms(times["scipy"])]
    row += [ms(times["torch"])] if "torch" in times else []
    row.append(f"{times['dlcv'] / times['scipy']:.2f}")
    row.append(f"{naive[0] / naive[1]:.0f}x" if naive else "skipped")
    return row


def naive_versus_dlcv(image, kernel, fast, rounds):
    """Median times of the naive loop and of ``fast``, interleaved in the same rounds."""
    if not rounds:
        return None
    crop = image[:40, :40]
    expected = dlcv.correlate2d(crop, kernel, padding="same")
    np.testing.assert_allclose(naive_correlate(crop, kernel), expected, rtol=1e-4, atol=1e-4)
    times = interleaved_medians({"naive": lambda: naive_correlate(image, kernel), "dlcv": fast},
                                rounds)  # fmt: skip
    return times["naive"], times["dlcv"]


def correlate_table(rounds, naive_rounds):
    image = data.camera() / 255.0  # (512, 512) real photograph
    rng = np.random.default_rng(0)
    kernels = [rng.standard_normal((size, size)) for size in (3, 7)]
    rows = [
        correlate_row(image.astype(dtype), kernel.astype(dtype), rounds, naive_rounds)
        for kernel in kernels
        for dtype in (np.float32, np.float64)
    ]
    header = ["kernel, dtype", f"naive loop ({naive_rounds} rounds)", "dlcv.correlate2d"]
    header += ["scipy.ndimage.correlate"] + (["torch conv2d"] if torch is not None else [])
    header += ["dlcv / scipy (target <= 2)", "naive / dlcv (target >= 100x)"]
    print(f"### correlate2d, 512x512 camera, padding 'same' (median of {rounds} rounds)\n")
    table(header, rows)


def pool_table(rounds):
    rng = np.random.default_rng(1)
    rows = []
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((64, 16, 26, 26)).astype(dtype)
        blocks = x.reshape(64, 16, 13, 2, 13, 2)
        funcs = {
            "max_pool2d": lambda x=x: dlcv.max_pool2d(x, 2),
            "max_pool2d, return_indices": lambda x=x: dlcv.max_pool2d(x, 2, return_indices=True),
            "reshape + max": lambda b=blocks: b.max(axis=(3, 5)),
            "avg_pool2d": lambda x=x: dlcv.avg_pool2d(x, 2),
            "reshape + mean": lambda b=blocks: b.mean(axis=(3, 5)),
        }
        if torch is not None:
            tx = torch.from_numpy(x)
            funcs["torch max_pool2d"] = lambda tx=tx: torch.nn.functional.max_pool2d(tx, 2)
            funcs["torch avg_pool2d"] = lambda tx=tx: torch.nn.functional.avg_pool2d(tx, 2)
        np.testing.assert_array_equal(funcs["max_pool2d"](), funcs["reshape + max"]())
        np.testing.assert_allclose(funcs["avg_pool2d"](), funcs["reshape + mean"](), atol=1e-6)
        times = interleaved_medians(funcs, rounds)
        for name, t in times.items():
            averaging = "avg" in name or "mean" in name
            base = times["reshape + mean" if averaging else "reshape + max"]
            rows.append([np.dtype(dtype).name, name, ms(t), f"{t / base:.2f}"])
    print(f"### Pooling 2x2, stride 2, on (64, 16, 26, 26) (median of {rounds} rounds)\n")
    table(["dtype", "method", "time per call", "ratio to reshape baseline"], rows)


def conv2d_table(rounds):
    rng = np.random.default_rng(2)
    rows = []
    for n, c, f, hw, k in ((64, 1, 8, 28, 3), (64, 8, 16, 13, 3), (64, 1, 8, 28, 5)):
        x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
        w = rng.standard_normal((f, c, k, k)).astype(np.float32)
        b = rng.standard_normal(f).astype(np.float32)
        g = rng.standard_normal(dlcv.conv2d(x, w, b).shape).astype(np.float32)
        funcs = {
            "conv2d": lambda x=x, w=w, b=b: dlcv.conv2d(x, w, b),
            "conv2d_backward": lambda x=x, w=w, g=g: conv2d_backward(g, x, w),
        }
        if torch is not None:
            tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
            expected = torch.nn.functional.conv2d(tx, tw, tb).numpy()
            np.testing.assert_allclose(funcs["conv2d"](), expected, rtol=1e-4, atol=1e-4)
            funcs["torch conv2d"] = lambda tx=tx, tw=tw, tb=tb: torch.nn.functional.conv2d(
                tx, tw, tb
            )
        times = interleaved_medians(funcs, rounds)
        rows.append([f"x {x.shape}, weight {w.shape}"] + [ms(t) for t in times.values()])
    header = ["float32 shapes", "dlcv conv2d", "dlcv conv2d_backward"]
    header += ["torch conv2d (forward)"] if torch is not None else []
    print(f"### conv2d at the course CNN's sizes (median of {rounds} rounds)\n")
    table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, no naive loop")
    parser.add_argument("--only", choices=["correlate", "pool", "conv2d"], help="one table")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall", help="what to time")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    rounds = 3 if args.quick else 15
    print("## Core kernels (benchmarks/bench_kernels.py)\n")
    machine_report()
    print(f"Times are {args.clock} times per call (`--clock {args.clock}`).\n")
    if args.only in (None, "correlate"):
        correlate_table(rounds, naive_rounds=0 if args.quick else 3)
    if args.only in (None, "pool"):
        pool_table(rounds)
    if args.only in (None, "conv2d"):
        conv2d_table(rounds)


if __name__ == "__main__":
    main()
