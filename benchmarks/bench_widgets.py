"""Time one update of each course widget, computation plus drawing, on a 512x512 photo.

Usage::

    .venv/bin/python benchmarks/bench_widgets.py                # every case
    .venv/bin/python benchmarks/bench_widgets.py -k kernel      # cases whose name contains "kernel"
    .venv/bin/python benchmarks/bench_widgets.py --repeats 50

A widget feels live when an update takes under :data:`BUDGET_MS` (150 ms). Each
:class:`Case` builds its widget once and returns a list of *actions*; every action
sets a control's ``.value`` the way a learner does, so the widget's own callback runs
(computation, colouring, PNG encoding, captions). The actions are cycled so that every
call really changes something, and each call is timed with ``time.perf_counter``.
The table reports the median and the 90th percentile over ``--repeats`` calls.

An action fails loudly when the widget reports an error (``widget.error``, the one
check of every ``dlcv.widgets.Explorer``), so a failed update cannot pass for a fast one.

A case may also name a *reference*: the bare computation (for example
``scipy.ndimage.correlate`` on the same image), timed in the same process, side by side,
so the ratio shows what the widget adds on top of the arithmetic.

To add a widget, append a :class:`Case` to :data:`CASES` (one per kind of update).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BUDGET_MS = 150.0


@dataclass(frozen=True)
class Case:
    """One kind of widget update to time.

    Attributes
    ----------
    name : str
        Shown in the table, e.g. ``"kernel editor: edit one weight"``.
    make : callable
        ``make() -> list of callables``; builds the widget (not timed) and returns
        actions, each of which triggers exactly one update.
    reference : callable, optional
        ``reference() -> callable``; builds the bare computation the update performs
        (not timed) and returns it, to be timed side by side.
    """

    name: str
    make: Callable[[], list[Callable[[], object]]]
    reference: Callable[[], Callable[[], object]] | None = None


def _checked(widget, action):
    """Wrap an action so that a failed update cannot pass for a fast one.

    Every widget is a ``dlcv.widgets.Explorer``: ``error`` is None after an update that
    worked, the message otherwise.
    """

    def run():
        action()
        if widget.error is not None:
            raise RuntimeError(f"{type(widget).__name__} reported an error: {widget.error}")

    return run


def _setter(widget, control, values):
    """Actions that set ``control.value`` to each of ``values``, each checked."""
    return [_checked(widget, lambda v=v: setattr(control, "value", v)) for v in values]


def time_calls(actions: list[Callable[[], object]], repeats: int) -> list[float]:
    """Milliseconds taken by ``repeats`` calls, cycling through ``actions`` (after one warm-up)."""
    cycle = itertools.cycle(actions)
    next(cycle)()  # warm-up: caches, first PNG encoder call
    times = []
    for action in itertools.islice(cycle, repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


# ---------------------------------------------------------------- kernel editor (chapter 02)
def _kernel_editor(**kwargs):
    from dlcv.widgets.kernel_editor import KernelEditor

    editor = KernelEditor(image="camera", **kwargs)
    assert editor.image_array.shape == (512, 512), editor.image_array.shape
    return editor


def _editor_edit_weight():
    editor = _kernel_editor(preset="sobel_x", padding="same")
    return _setter(editor, editor.cells[1][1], (0.5, -0.5))


def _editor_switch_preset():
    editor = _kernel_editor(preset="sobel_x", padding="same")
    return _setter(editor, editor.preset, ("gaussian_5x5", "sobel_x"))


def _editor_padding_stride():
    editor = _kernel_editor(preset="laplacian_4", padding="same")
    steps = [
        (editor.padding, "valid"),
        (editor.stride, 2),
        (editor.padding, "full"),
        (editor.stride, 1),
        (editor.padding, "same"),
    ]  # one control per action
    return [_checked(editor, lambda c=c, v=v: setattr(c, "value", v)) for c, v in steps]


def _editor_pick_pixel():
    editor = _kernel_editor(preset="sobel_x", padding="same")
    return _setter(editor, editor.row, (100, 300))


def _scipy_correlate(kernel_name):
    def build():
        import scipy.ndimage as ndi

        from dlcv import kernels
        from dlcv.data import sample_image

        image, kernel = sample_image("camera", grey=True), kernels.get(kernel_name)
        return lambda: ndi.correlate(image, kernel, mode="constant")

    return build


def _dlcv_correlate(kernel_name):
    def build():
        from dlcv import correlate2d, kernels
        from dlcv.data import sample_image

        image, kernel = sample_image("camera", grey=True), kernels.get(kernel_name)
        return lambda: correlate2d(image, kernel, padding="same")

    return build


CASES: list[Case] = [
    Case(
        "kernel editor: edit one weight (3x3, same)",
        _editor_edit_weight,
        _scipy_correlate("sobel_x"),
    ),
    Case(
        "kernel editor: edit one weight, ref. dlcv.correlate2d",
        _editor_edit_weight,
        _dlcv_correlate("sobel_x"),
    ),
    Case(
        "kernel editor: switch preset (3x3 <-> 5x5)",
        _editor_switch_preset,
        _scipy_correlate("gaussian_5x5"),
    ),
    Case("kernel editor: change padding or stride", _editor_padding_stride),
    Case("kernel editor: pick an output pixel", _editor_pick_pixel),
]


# ---------------------------------------------------------------- shape calculator (chapter 03)
def _calculator():
    """VGG-16's convolutional part on a 3x512x512 input: 18 layer rows, the largest preset."""
    from dlcv.shapes import PRESETS
    from dlcv.widgets.shape_calculator import ShapeCalculator

    return ShapeCalculator((3, 512, 512), PRESETS["VGG-16 (conv part)"][1])


def _calculator_edit_kernel():
    calc = _calculator()
    return _setter(calc, calc.rows[0].kernel, (5, 3))


def _calculator_add_remove():
    calc = _calculator()
    return [
        _checked(calc, calc.add_conv.click),
        _checked(calc, lambda: calc.rows[-1].remove.click()),
    ]


def _bare_analyze():
    from dlcv.shapes import PRESETS, analyze

    layers = PRESETS["VGG-16 (conv part)"][1]
    return lambda: analyze((3, 512, 512), layers)


CASES += [
    Case(
        "shape calculator: edit a kernel (VGG-16, 18 rows)", _calculator_edit_kernel, _bare_analyze
    ),
    Case("shape calculator: add / remove a layer (VGG-16)", _calculator_add_remove, _bare_analyze),
]


# ---------------------------------------------------------------- pooling explorer (chapter 04)
def _explorer(**kwargs):
    from dlcv.widgets.pooling_explorer import PoolingExplorer

    explorer = PoolingExplorer(image="camera", **kwargs)
    assert explorer.input.shape == (512, 512), explorer.input.shape
    return explorer


def _explorer_setter(control, values, **kwargs):
    def make():
        explorer = _explorer(**kwargs)
        return _setter(explorer, getattr(explorer, control), values)

    return make


def _bare_pool(mode, kernel_size, stride):
    def build():
        from dlcv.data import sample_image
        from dlcv.pool import avg_pool2d, max_pool2d

        image, pool = sample_image("camera", grey=True), max_pool2d if mode == "max" else avg_pool2d
        return lambda: pool(image, kernel_size, stride=stride)

    return build


CASES += [
    Case(
        "pooling explorer: window 2 <-> 8 (max, stride 2)",
        _explorer_setter("kernel_size", (8, 2), stride=2),
        _bare_pool("max", 8, 2),
    ),
    Case(
        "pooling explorer: stride 1 <-> 2 (max, window 8: 505x505 output)",
        _explorer_setter("stride", (1, 2), kernel_size=8),
        _bare_pool("max", 8, 1),
    ),
    Case(
        "pooling explorer: max <-> average (window 3, stride 2, padding 1)",
        _explorer_setter("mode", ("avg", "max"), kernel_size=3, stride=2, padding=1),
        _bare_pool("avg", 3, 2),
    ),
    Case(
        "pooling explorer: photo <-> ReLU(Sobel x) feature map (window 2)",
        _explorer_setter("feature", ("sobel_x", "pixels"), kernel_size=2, stride=2),
    ),
]


# ---------------------------------------------------------------- shift explorer (chapter 05)
def _shift_setter(control, values, **kwargs):
    def make():
        from dlcv.widgets.shift_explorer import ShiftExplorer

        explorer = ShiftExplorer(image="camera", **kwargs)
        assert explorer.shifted_input.shape == (512, 512), explorer.shifted_input.shape
        return _setter(explorer, getattr(explorer, control), values)

    return make


def _bare_shift(kernel_name, pool):
    """The explorer's arithmetic without drawing: shift, correlate, ReLU, pool and compare."""

    def build():
        import numpy as np

        from dlcv import correlate2d, kernels
        from dlcv.data import sample_image
        from dlcv.shift import interior_mask, pool_compare, shift_image

        image, kernel = sample_image("camera", grey=True), kernels.get(kernel_name)
        before = np.maximum(correlate2d(image, kernel, padding="same"), 0)
        trusted = interior_mask(image.shape, kernel.shape, 0, 2)

        def run():
            after = np.maximum(correlate2d(shift_image(image, 0, 2), kernel, padding="same"), 0)
            return pool_compare(before, after, 2, 2, pool, trusted)

        return run

    return build


CASES += [
    Case(
        "shift explorer: dx 1 <-> 2 (Sobel x, max 2x2, stride 2)",
        _shift_setter("dx", (2, 1), kernel="sobel_x"),
        _bare_shift("sobel_x", "max"),
    ),
    Case(
        "shift explorer: max <-> max + blur (window 2, stride 2)",
        _shift_setter("pool", ("blur", "max"), kernel="sobel_x", dx=2),
        _bare_shift("sobel_x", "blur"),
    ),
    Case(
        "shift explorer: kernel Sobel x <-> Gaussian 5x5",
        _shift_setter("kernel", ("gaussian_5x5", "sobel_x"), dx=2),
        _bare_shift("gaussian_5x5", "max"),
    ),
]


# ---------------------------------------------------------------- augment explorer (chapter 07)
def _augment_setter(image, preset, control, values):
    """Actions that set one control of the augmentation explorer (a seed or a slider)."""

    def make():
        from dlcv.widgets.augment_explorer import AugmentExplorer

        explorer = AugmentExplorer(image=image, preset=preset)
        widget = explorer.seed if control == "seed" else explorer.rows[control][2]
        return _setter(explorer, widget, values)

    return make


def _bare_augment(image, preset):
    """The explorer's arithmetic without drawing: 12 samples through the library pipeline."""

    def build():
        from dlcv.augment_presets import (
            PRESETS,
            augmented_samples,
            build_pipeline,
            explorer_image,
        )

        picture = explorer_image(image)
        pipeline = build_pipeline(PRESETS[preset], max(picture.shape[:2]))
        seeds = iter(range(10**6))
        return lambda: augmented_samples(picture, pipeline, 12, next(seeds))

    return build


CASES += [
    Case(
        "augment explorer: new seed (astronaut 512x512, photo preset)",
        _augment_setter("astronaut", "photos: flips and colour", "seed", range(1, 1000)),
        _bare_augment("astronaut", "photos: flips and colour"),
    ),
    Case(
        "augment explorer: new seed (astronaut, every augmentation)",
        _augment_setter("astronaut", "everything", "seed", range(1, 1000)),
        _bare_augment("astronaut", "everything"),
    ),
    Case(
        "augment explorer: rotation slider (digit 7, label-preserving)",
        _augment_setter("digit 7", "digits: label-preserving", "rotation", (10, 20)),
        _bare_augment("digit 7", "digits: label-preserving"),
    ),
]


# ---------------------------------------------------------------- digit inspector (chapter 06)
def _inspector_pick():
    """The shipped LeNet on the 1,000 MNIST test digits; each action shows a new digit."""
    from dlcv.data import load_mnist
    from dlcv.models import load_lenet_mnist
    from dlcv.widgets.training import DigitInspector

    data = load_mnist()
    inspector = DigitInspector(load_lenet_mnist(), data.x_test, data.y_test)
    return _setter(inspector, inspector.index, range(1, len(data.x_test)))


def _bare_feature_maps():
    from dlcv.data import load_mnist
    from dlcv.models import load_lenet_mnist
    from dlcv.train import conv_feature_maps

    model, digits = load_lenet_mnist(), iter(load_mnist().x_test)
    return lambda: conv_feature_maps(model, next(digits))


# ---------------------------------------------------------------- timeline explorer (chapter 01)
def _timeline_seen_before():
    """Two year ranges in turn: after the first draw of each, every state comes from the cache."""
    from dlcv.data import asset_path
    from dlcv.milestones import load_milestones
    from dlcv.widgets.timeline import TimelineExplorer

    explorer = TimelineExplorer(load_milestones(asset_path("milestones.csv")))
    return _setter(explorer, explorer.years, ((2000, 2024), (1956, 2024)))


CASES += [
    Case(
        "digit inspector: pick a test digit (LeNet, 1,000 digits)",
        _inspector_pick,
        _bare_feature_maps,
    ),
    Case("timeline explorer: years, a state seen before (cached)", _timeline_seen_before),
]


# ---------------------------------------------------------------- command explorer (chapter 12)
COMMANDS = ("the red mug", "the yellow thing", "the blue cube on the right", "the purple teddy",
            "hand me the duck", "the toy animal", "the ball", "the green mug",
            "the thing to stack", "the sphere on the left", "the cuddly toy")  # fmt: skip


def _command_explorer(arm: bool):
    """New commands (never the same twice in a row), with "move the arm" off or on."""
    from dlcv.widgets.robot import CommandExplorer

    explorer = CommandExplorer(seed=10007)
    explorer.arm.value = arm
    texts, numbers = itertools.cycle(COMMANDS), itertools.count(1)

    def new_command():  # a number no grounder reads makes every text new: no cached answer
        explorer.command.value = f"{next(texts)} {next(numbers)}"

    return [_checked(explorer, new_command)]


def _bare_carry_out(arm: bool):
    """The pipeline without pictures: a fresh scene, perceive, ground (and pick)."""
    from dlcv import robot
    from dlcv.tabletop import Camera, make_scene

    models, texts, frames = robot.load_models(), itertools.cycle(COMMANDS), Camera(160, 120)

    def call():
        with make_scene(10007) as scene:
            robot.carry_out(scene, next(texts), "cnn", "embedding", models=models,
                            frames_camera=frames if arm else None, act=arm)  # fmt: skip

    return call


CASES += [
    Case(
        "command explorer: a new command, arm off (perception kept)",
        lambda: _command_explorer(False),
        lambda: _bare_carry_out(False),
    ),  # fmt: skip
    Case(
        "command explorer: a new command, arm on (a pick in a fresh scene)",
        lambda: _command_explorer(True),
        lambda: _bare_carry_out(True),
    ),  # fmt: skip
]


# ---------------------------------------------------------------- running
def run(cases: list[Case], repeats: int = 30) -> list[dict]:
    """Time every case; return one row per case (milliseconds)."""
    rows = []
    for case in cases:
        times = time_calls(case.make(), repeats)
        row = {
            "name": case.name,
            "median_ms": statistics.median(times),
            "p90_ms": float(np.percentile(times, 90)),
            "reference_ms": None,
        }
        if case.reference is not None:
            reference = case.reference()
            row["reference_ms"] = statistics.median(time_calls([reference], repeats))
        rows.append(row)
    return rows


def report(rows: list[dict]) -> str:
    """A plain-text table of the rows returned by :func:`run`."""
    width = max(len(r["name"]) for r in rows)
    header = "median ms  p90 ms  reference ms  widget/ref"
    lines = [f"{'case':<{width}}  {header}  < {BUDGET_MS:.0f} ms?"]
    for r in rows:
        ref = r["reference_ms"]
        ref_text = f"{ref:12.1f}  {r['median_ms'] / ref:10.1f}" if ref else f"{'-':>12}  {'-':>10}"
        ok = "yes" if r["median_ms"] < BUDGET_MS else "NO"
        times = f"{r['median_ms']:9.1f}  {r['p90_ms']:6.1f}"
        lines.append(f"{r['name']:<{width}}  {times}  {ref_text}  {ok:>10}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per case (default 30)")
    parser.add_argument(
        "-k", dest="keyword", default="", help="only cases whose name contains this"
    )
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.keyword.lower() in c.name.lower()]
    if not cases:
        print(f"no case matches {args.keyword!r}; cases: {', '.join(c.name for c in CASES)}")
        return 1
    print(report(run(cases, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
