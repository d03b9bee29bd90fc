"""Shape, cost and receptive-field arithmetic of a stack of conv and pooling layers.

A stack is described, not built: a list of :class:`Conv` and :class:`Pool` specs.
:func:`analyze` walks it from an input shape ``(C, H, W)`` and reports, for every
layer, the output shape, the number of learned parameters, the multiply-adds and
the receptive field (size, jump and start), using the standard recurrences
(Dumoulin & Visin, 2016; Araujo, Norris & Sim, 2019)::

    H_out = floor((H + 2P - F) / S) + 1,        F = D (K - 1) + 1   (dilated kernel)
    r_out = r_in + (F - 1) j_in                 receptive field size
    j_out = j_in S                              jump: input pixels between neighbours
    a_out = a_in - P j_in                       first input pixel seen by output 0

Settings that cannot work together (a kernel larger than the padded input, a
``(W - F + 2P)/S + 1`` that is not an integer, pooling padding over half the
window) are not exceptions: the layer's report carries a ``problem`` sentence,
so a calculator can show it. Misuse of the API itself (a float kernel size, a
negative stride, an input shape with two numbers) raises ``TypeError`` or
``ValueError`` up front.

:func:`impulse_response` *measures* the receptive field by actually running the
stack (:func:`dlcv.conv.conv2d`, :func:`dlcv.pool.max_pool2d`) on one impulse per
input pixel, so the recurrences can be checked against reality.

>>> from dlcv.shapes import Conv, Pool, analyze
>>> report = analyze((1, 32, 32), [Conv(6, 5), Pool(2), Conv(16, 5), Pool(2)])
>>> [layer.out_shape for layer in report.layers]
[(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
>>> report.layers[-1].rf, report.total_params
((16, 16), 2572)
>>> print(analyze((1, 28, 28), [Conv(8, 5, stride=2)]).layers[0].problem[:46])
(H - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dlcv.validate import check_int, int_pair

__all__ = [
    "Conv",
    "DenseCost",
    "LayerReport",
    "PRESETS",
    "Pool",
    "StackReport",
    "analyze",
    "dense_equivalent",
    "draw_weights",
    "impulse_response",
    "input_gradient",
    "nested_fields",
    "run_stack",
]

Pair = tuple[int, int]
_AXES = (("H", "row"), ("W", "column"))


def _fmt(pair: Pair | None, sep: str = "×") -> str:
    if pair is None:
        return "–"
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}{sep}{pair[1]}"


@dataclass(frozen=True)
class Conv:
    """A 2-D convolutional layer: ``out_channels`` filters of size ``kernel_size``.

    Parameters
    ----------
    out_channels : int
        Number of filters F (output channels), at least 1.
    kernel_size : int or (int, int)
        Kernel height and width K, at least 1.
    stride : int or (int, int)
        Step S between windows, at least 1.
    padding : int or (int, int)
        Zeros P added on each side, at least 0.
    dilation : int or (int, int)
        Spacing D between kernel taps, at least 1 (the kernel covers ``D(K-1)+1``).
    bias : bool
        Whether each filter has a bias (adds F parameters).

    Integer arguments are stored as ``(h, w)`` pairs.
    """

    out_channels: int
    kernel_size: int | Pair = 3
    stride: int | Pair = 1
    padding: int | Pair = 0
    dilation: int | Pair = 1
    bias: bool = True

    def __post_init__(self):
        if isinstance(self.out_channels, bool) or not isinstance(
            self.out_channels, (int, np.integer)
        ):
            raise TypeError(f"out_channels must be an int, got {self.out_channels!r}")
        if self.out_channels < 1:
            raise ValueError(f"out_channels must be at least 1, got {self.out_channels}")
        if not isinstance(self.bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {self.bias!r}")
        object.__setattr__(self, "out_channels", int(self.out_channels))
        object.__setattr__(self, "bias", bool(self.bias))
        for name, minimum in (("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            object.__setattr__(self, name, int_pair(getattr(self, name), name, minimum))

    kind = "conv"

    def describe(self) -> str:
        """Short label, e.g. ``'conv 5×5, 6 filters, stride 2'``."""
        kh, kw = self.kernel_size
        text = f"conv {kh}×{kw}, {self.out_channels} filter{'s' if self.out_channels > 1 else ''}"
        for name, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1))):
            value = getattr(self, name)
            if value != default:
                text += f", {name} {_fmt(value)}"
        return text + ("" if self.bias else ", no bias")


@dataclass(frozen=True)
class Pool:
    """A 2-D pooling layer (max or average) with the semantics of ``dlcv.pool``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window height and width K, at least 1.
    stride : int or (int, int), optional
        Step S, at least 1; defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        Padding P on each side, at least 0 (at most half the window, else the
        report flags it).
    mode : {"max", "avg"}
        Which pooling; the shapes are the same, only :func:`run_stack` differs.
    """

    kernel_size: int | Pair = 2
    stride: int | Pair | None = None
    padding: int | Pair = 0
    mode: Literal["max", "avg"] = "max"

    def __post_init__(self):
        kernel = int_pair(self.kernel_size, "kernel_size", 1)
        object.__setattr__(self, "kernel_size", kernel)
        stride = kernel if self.stride is None else int_pair(self.stride, "stride", 1)
        object.__setattr__(self, "stride", stride)
        object.__setattr__(self, "padding", int_pair(self.padding, "padding", 0))
        if self.mode not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg', got {self.mode!r}")

    kind = "pool"
    dilation: Pair = field(default=(1, 1), init=False, repr=False)

    def describe(self) -> str:
        """Short label, e.g. ``'max pool 2×2'``."""
        k = self.kernel_size
        text = f"{self.mode} pool {k[0]}×{k[1]}"
        if self.stride != k:
            text += f", stride {_fmt(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding {_fmt(self.padding)}"
        return text


@dataclass(frozen=True)
class LayerReport:
    """What one layer does to its input. ``None`` fields mean "cannot be computed".

    Attributes
    ----------
    index : int
        Position in the stack, from 1.
    layer : Conv or Pool
        The spec.
    in_shape, out_shape : (C, H, W) or None
        Shapes before and after; ``out_shape`` is None when the layer cannot run.
    params : int or None
        Learned numbers: ``F*C*K_h*K_w + F`` for a conv layer (no ``+ F`` without
        bias), 0 for pooling.
    macs : int or None
        Multiply-adds: ``C*K_h*K_w`` per output value of a conv layer, counting the
        products with padding zeros as frameworks do; 0 for pooling (which compares
        or adds, but multiplies nothing by a weight).
    rf, jump, start : (int, int) or None
        Receptive field size, jump (input pixels between neighbouring outputs) and
        the input index of the first (top-left) pixel in output ``(0, 0)``'s
        receptive field; negative when it reaches into padding.
    problem : str or None
        Why the settings do not fit, in words. With ``out_shape`` not None it is a
        warning (e.g. rows dropped by flooring); with ``out_shape`` None the layer
        (and every later one) has no output.
    """

    index: int
    layer: Conv | Pool
    in_shape: tuple[int, int, int] | None
    out_shape: tuple[int, int, int] | None
    params: int | None
    macs: int | None
    rf: Pair | None
    jump: Pair | None
    start: Pair | None
    problem: str | None

    @property
    def ok(self) -> bool:
        """True when the layer has an output (it may still carry a warning)."""
        return self.out_shape is not None

    def centre(self) -> tuple[float, float] | None:
        """Input coordinates of the centre of output ``(0, 0)``'s receptive field."""
        if self.rf is None:
            return None
        return tuple(a + (r - 1) / 2 for a, r in zip(self.start, self.rf, strict=True))


@dataclass(frozen=True)
class StackReport:
    """The per-layer reports of :func:`analyze` and their totals."""

    input_shape: tuple[int, int, int]
    layers: tuple[LayerReport, ...]

    @property
    def ok(self) -> bool:
        """True when every layer has an output."""
        return all(layer.ok for layer in self.layers)

    @property
    def output_shape(self) -> tuple[int, int, int] | None:
        """Shape after the last layer (the input shape for an empty stack)."""
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def total_params(self) -> int | None:
        """Sum of parameters; None if some layer cannot be computed."""
        values = [layer.params for layer in self.layers]
        return None if None in values else sum(values)

    @property
    def total_macs(self) -> int | None:
        """Sum of multiply-adds; None if some layer cannot be computed."""
        values = [layer.macs for layer in self.layers]
        return None if None in values else sum(values)

    @property
    def problems(self) -> list[str]:
        """Every problem sentence, prefixed with its layer number."""
        return [f"layer {r.index}: {r.problem}" for r in self.layers if r.problem]

    def rows(self) -> list[dict[str, str]]:
        """One dict of display strings per layer (plus the input), for a table."""
        c, h, w = self.input_shape
        rows = [
            {
                "#": "0",
                "layer": "input",
                "output (C×H×W)": f"{c}×{h}×{w}",
                "params": "0",
                "multiply-adds": "0",
                "receptive field": "1",
                "jump": "1",
                "start": "0",
                "problem": "",
            }
        ]
        for r in self.layers:
            rows.append(
                {
                    "#": str(r.index),
                    "layer": r.layer.describe(),
                    "output (C×H×W)": "–"
                    if r.out_shape is None
                    else "×".join(map(str, r.out_shape)),
                    "params": "–" if r.params is None else f"{r.params:,}",
                    "multiply-adds": "–" if r.macs is None else f"{r.macs:,}",
                    "receptive field": _fmt(r.rf),
                    "jump": _fmt(r.jump),
                    "start": _fmt(r.start, sep=", "),
                    "problem": r.problem or "",
                }
            )
        return rows

    def table(self, problems: bool = True) -> str:
        """The report as a fixed-width text table (what ``print(report)`` shows).

        Parameters
        ----------
        problems : bool
            Append the problem sentences under the table.
        """
        rows = self.rows()
        keys = [k for k in rows[0] if k != "problem"]
        widths = {k: max(len(k), *(len(row[k]) for row in rows)) for k in keys}
        right = {"params", "multiply-adds"}

        def line(row):
            return "  ".join(
                row[k].rjust(widths[k]) if k in right else row[k].ljust(widths[k]) for k in keys
            ).rstrip()

        out = [line({k: k for k in keys}), "  ".join("-" * widths[k] for k in keys)]
        out += [line(row) for row in rows]
        total_p, total_m = self.total_params, self.total_macs
        out.append(
            f"total: {'–' if total_p is None else f'{total_p:,}'} parameters, "
            f"{'–' if total_m is None else f'{total_m:,}'} multiply-adds"
        )
        if problems:
            out += [f"⚠ {text}" for text in self.problems]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def to_html(self, dense: bool = True) -> str:
        """The report as an HTML table; each problem in a shaded row under its layer.

        A warning (the output exists, but rows or columns are dropped) is marked ⚠ on a
        light orange background; a layer without output is marked ⛔ on light grey.

        Parameters
        ----------
        dense : bool
            End with the cost of one dense layer from the input to the last output.
        """
        rows = self.rows()
        keys = [k for k in rows[0] if k != "problem"]
        pad = "padding:2px 8px;"
        out = [
            '<table style="border-collapse:collapse;font-size:13px;font-family:monospace">',
            "<tr>"
            + "".join(
                _html_cell(k, "th", pad + "border-bottom:1px solid #444;text-align:left")
                for k in keys
            )
            + "</tr>",
        ]
        for row, layer in zip(rows, (None, *self.layers), strict=True):
            out.append(
                "<tr>"
                + "".join(
                    _html_cell(
                        row[k],
                        style=pad
                        + ("text-align:right" if k in ("params", "multiply-adds") else ""),
                    )
                    for k in keys
                )
                + "</tr>"
            )
            if layer is not None and layer.problem:
                mark, colour = ("⚠", "#fee6ce") if layer.ok else ("⛔", "#e0e0e0")
                out.append(
                    f'<tr style="background:{colour}"><td colspan="{len(keys)}" style="{pad}">'
                    f"{mark} {html.escape(layer.problem)}</td></tr>"
                )
        total_p, total_m = self.total_params, self.total_macs
        summary = (
            f"total: {'–' if total_p is None else f'{total_p:,}'} parameters, "
            f"{'–' if total_m is None else f'{total_m:,}'} multiply-adds"
        )
        if dense and self.layers and self.ok:
            cost = dense_equivalent(self.input_shape, self.output_shape)
            summary += (
                f". One dense layer from the input to the same output size would need "
                f"{cost.params:,} parameters and {cost.macs:,} multiply-adds"
            )
        out.append(
            f'<tr><td colspan="{len(keys)}" style="{pad}border-top:1px solid #444">'
            f"{html.escape(summary)}.</td></tr></table>"
        )
        return "".join(out)

    def _repr_html_(self) -> str:  # Jupyter shows the HTML table
        return self.to_html()

    def _repr_pretty_(self, printer, cycle) -> None:  # and the text table as text/plain
        printer.text(self.table())


def _html_cell(text: str, tag: str = "td", style: str = "") -> str:
    style_attr = f' style="{style}"' if style else ""
    return f"<{tag}{style_attr}>{html.escape(text)}</{tag}>"


def _axis_problem(
    n: int, k: int, s: int, p: int, d: int, axis: tuple[str, str]
) -> tuple[int | None, str | None]:
    """Output length along one axis, and what is wrong with it in words (or None)."""
    letter, unit = axis
    f = d * (k - 1) + 1
    kernel = f"kernel {k}" + (f" (dilated {f})" if d > 1 else "")
    padded = n + 2 * p
    if f > padded:
        where = f"{n}" if p == 0 else f"{padded} = {n} + 2×{p}"
        return None, f"output would be empty: {kernel} is larger than the padded input {where}"
    out, rest = divmod(padded - f, s)
    out += 1
    if rest == 0:
        return out, None
    value = (padded - f) / s + 1
    text = (
        f"({letter} - F + 2P)/S + 1 = ({n} - {f} + {2 * p})/{s} + 1 = {value:.4g} "
        f"is not an integer: the last {rest} {unit}(s)"
    )
    if p == 0:
        text += " are never covered"
    else:
        pixels = max(0, rest - p)
        lost = (
            "only padding, no image pixel is lost"
            if pixels == 0
            else f"{pixels} of them image pixels"
        )
        text += f" of the padded input are never covered ({lost})"
    return out, text + f", so the output is floored to {out}"


def _shape_problem(layer: Conv | Pool, h: int, w: int) -> tuple[Pair | None, str | None]:
    """Output (H, W) of a layer, or None, with the problems of both axes in words."""
    if layer.kind == "pool":
        bad = [i for i in (0, 1) if 2 * layer.padding[i] > layer.kernel_size[i]]
        if bad:
            i = bad[0]
            return None, (
                f"padding {layer.padding[i]} is more than half the pooling window "
                f"{layer.kernel_size[i]}: some windows would hold only padding"
            )
    args = [
        (n, layer.kernel_size[i], layer.stride[i], layer.padding[i], layer.dilation[i])
        for i, n in enumerate((h, w))
    ]
    if args[0] == args[1]:
        size, text = _axis_problem(*args[0], ("H", "row"))
        if text is not None and size is not None:
            text = text.replace("row(s)", "row(s) and column(s)")
        return (None if size is None else (size, size)), text
    results = [_axis_problem(*a, axis) for a, axis in zip(args, _AXES, strict=True)]
    sizes = [size for size, _ in results]
    texts = [
        t if size is not None else t.replace("empty:", f"empty along the {name}:")
        for (size, t), name in zip(results, ("height", "width"), strict=True)
        if t
    ]
    out = None if None in sizes else (sizes[0], sizes[1])
    return out, ("; ".join(texts) or None)


def _check_input_shape(input_shape) -> tuple[int, int, int]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), three positive ints, got {input_shape!r}")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in input_shape):
        raise TypeError(f"input_shape must hold ints (C, H, W), got {input_shape!r}")
    if min(input_shape) < 1:
        raise ValueError(f"input_shape must be positive (C, H, W), got {tuple(input_shape)}")
    return tuple(int(v) for v in input_shape)


def _check_layers(layers) -> list[Conv | Pool]:
    if isinstance(layers, (Conv, Pool)):
        layers = [layers]
    layers = list(layers)
    for i, layer in enumerate(layers, start=1):
        if not isinstance(layer, (Conv, Pool)):
            raise TypeError(
                f"layer {i} must be a dlcv.shapes.Conv or Pool, got {type(layer).__name__}"
            )
    return layers


def analyze(input_shape, layers) -> StackReport:
    """Walk a stack of layers and report every layer's shape, cost and receptive field.

    Parameters
    ----------
    input_shape : (int, int, int)
        Channels, height and width (C, H, W) of the input image.
    layers : sequence of Conv and Pool
        The stack, first layer first (a single layer is accepted too).

    Returns
    -------
    StackReport
        ``.layers`` holds one :class:`LayerReport` per layer. A layer that cannot run
        has ``out_shape=None`` and a ``problem`` sentence; the layers after it report
        "no input" and None values. Receptive fields follow Araujo et al. (2019).

    Raises
    ------
    TypeError, ValueError
        For a malformed ``input_shape`` or something in ``layers`` that is not a
        :class:`Conv` or :class:`Pool`; never for settings that merely do not fit.
    """
    shape: tuple[int, int, int] | None = _check_input_shape(input_shape)
    layers = _check_layers(layers)
    rf, jump, start = (1, 1), (1, 1), (0, 0)
    reports = []
    for index, layer in enumerate(layers, start=1):
        if shape is None:
            reports.append(
                LayerReport(
                    index,
                    layer,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    f"no input: layer {index - 1} has no output",
                )
            )
            continue
        c, h, w = shape
        size, problem = _shape_problem(layer, h, w)
        k_eff = [layer.dilation[i] * (layer.kernel_size[i] - 1) + 1 for i in (0, 1)]
        rf = tuple(rf[i] + (k_eff[i] - 1) * jump[i] for i in (0, 1))
        start = tuple(start[i] - layer.padding[i] * jump[i] for i in (0, 1))
        jump = tuple(jump[i] * layer.stride[i] for i in (0, 1))
        if layer.kind == "conv":
            per_output = c * layer.kernel_size[0] * layer.kernel_size[1]
            params = layer.out_channels * per_output + (layer.out_channels if layer.bias else 0)
            out_c = layer.out_channels
        else:
            per_output, params, out_c = 0, 0, c
        out_shape = None if size is None else (out_c, size[0], size[1])
        macs = None if out_shape is None else math.prod(out_shape) * per_output
        reports.append(
            LayerReport(
                index,
                layer,
                shape,
                out_shape,
                params,
                macs,
                rf if out_shape else None,
                jump if out_shape else None,
                start if out_shape else None,
                problem,
            )
        )
        shape = out_shape
    return StackReport(_check_input_shape(input_shape), tuple(reports))


def nested_fields(report: StackReport, out_pixel=None, last: int | None = None) -> list:
    """Receptive fields, on the input, of one unit and of units feeding it, layer by layer.

    Start at unit ``out_pixel`` of layer ``last``. Going down one layer at a time, take,
    among the units of the layer below that the current unit's window reads (padding
    excluded), the one whose receptive field is centred nearest to the centre of the
    starting unit's field. A unit's receptive field is the union of the fields of the
    units it reads, so every box lies inside the box of the layer above: the boxes are
    nested and all belong to the same output unit. (Picking in each layer the unit
    centred nearest to a point does not give nested boxes: with even windows and strides
    the centres of successive layers do not line up.)

    Parameters
    ----------
    report : StackReport
        From :func:`analyze`; every layer up to ``last`` must have an output.
    out_pixel : (int, int), optional
        Row and column of the unit in layer ``last``; default the centre of its map.
    last : int, optional
        Layer number (1-based, as in the report's table) of the starting unit; default
        the last layer.

    Returns
    -------
    list of (index, unit, top_left, size)
        One entry per layer ``1 .. last``, first layer first: the layer number, the
        unit's (row, column) in that layer's map, and the (row, column) of the top-left
        input pixel and the (height, width) of its receptive field. Rows and columns
        below 0 or beyond the image are padding.
    """
    if not isinstance(report, StackReport):
        raise TypeError(f"report must be a StackReport from analyze(), got {type(report).__name__}")
    n = len(report.layers)
    if n == 0:
        raise ValueError("the report has no layers")
    last = n if last is None else check_int(last, "last", 1)
    if last > n:
        raise ValueError(f"last must be a layer number from 1 to {n}, got {last}")
    broken = [r.index for r in report.layers[:last] if not r.ok]
    if broken:
        raise ValueError(f"layer {broken[0]} has no output: {report.layers[broken[0] - 1].problem}")
    top = report.layers[last - 1]
    _, oh, ow = top.out_shape
    unit = (oh // 2, ow // 2) if out_pixel is None else int_pair(tuple(out_pixel), "out_pixel", 0)
    if unit[0] >= oh or unit[1] >= ow:
        raise ValueError(
            f"out_pixel {tuple(out_pixel)} is outside layer {last}'s map of shape ({oh}, {ow})"
        )
    target = [top.start[a] + unit[a] * top.jump[a] + (top.rf[a] - 1) / 2 for a in (0, 1)]
    chain = []
    for index in range(last, 0, -1):
        r = report.layers[index - 1]
        corner = tuple(r.start[a] + unit[a] * r.jump[a] for a in (0, 1))
        chain.append((index, unit, corner, r.rf))
        if index == 1:
            break
        below = report.layers[index - 2]
        picked = []
        for a in (0, 1):
            k, s = r.layer.kernel_size[a], r.layer.stride[a]
            p, d = r.layer.padding[a], r.layer.dilation[a]
            read = unit[a] * s - p + d * np.arange(k)  # units of the layer below
            read = read[(read >= 0) & (read < r.in_shape[1 + a])]
            if read.size == 0:
                raise ValueError(f"unit {unit} of layer {index} reads only padding")
            centres = below.start[a] + read * below.jump[a] + (below.rf[a] - 1) / 2
            picked.append(int(read[np.argmin(np.abs(centres - target[a]))]))
        unit = tuple(picked)
    return chain[::-1]


@dataclass(frozen=True)
class DenseCost:
    """Cost of a dense (fully connected) layer: ``n_out`` outputs from ``n_in`` inputs."""

    n_in: int
    n_out: int
    params: int
    macs: int


def dense_equivalent(in_shape, out_shape, bias: bool = True) -> DenseCost:
    """Cost of a dense layer mapping an input of ``in_shape`` to an output of ``out_shape``.

    Every output value has its own weight for every input value: ``n_in * n_out``
    weights (plus ``n_out`` biases) and ``n_in * n_out`` multiply-adds, where
    ``n = C*H*W``. Compare with a conv layer producing the same ``out_shape``,
    whose weights are shared across positions.

    Parameters
    ----------
    in_shape, out_shape : (int, int, int)
        (C, H, W) of the input image and of the output maps.
    bias : bool
        Count one bias per output value.

    Returns
    -------
    DenseCost
    """
    n_in = math.prod(_check_input_shape(in_shape))
    n_out = math.prod(_check_input_shape(out_shape))
    return DenseCost(n_in, n_out, n_in * n_out + (n_out if bias else 0), n_in * n_out)


def vgg16(blocks: int = 5, channels: bool = True) -> tuple[Conv | Pool, ...]:
    """The convolutional part of VGG-16 (Simonyan & Zisserman, 2015, configuration D).

    Five blocks of 3x3 convolutions (padding 1; 2, 2, 3, 3 and 3 of them, with 64, 128,
    256, 512 and 512 maps), each followed by a 2x2 max pool.

    Parameters
    ----------
    blocks : int in [1, 5]
        How many of the five blocks to return (the first ``blocks``).
    channels : bool
        False gives one map per layer: the same geometry (sizes, receptive fields) at a
        fraction of the cost, for running the stack (:func:`impulse_response`).
    """
    if not 1 <= check_int(blocks, "blocks") <= 5:
        raise ValueError(f"blocks must be between 1 and 5 (VGG-16 has five), got {blocks}")
    layers: list[Conv | Pool] = []
    for width, repeat in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))[:blocks]:
        width = width if channels else 1
        layers += [Conv(width, 3, padding=1) for _ in range(repeat)] + [Pool(2)]
    return tuple(layers)


PRESETS: dict[str, tuple[tuple[int, int, int], tuple[Conv | Pool, ...]]] = {
    # LeCun et al. (1998), LeNet-5's C1-C5 with full connections and max pooling (the
    # paper's C3 uses a connection table and its S layers have 2 weights per map).
    "LeNet-5 (C1-C5)": ((1, 32, 32), (Conv(6, 5), Pool(2), Conv(16, 5), Pool(2), Conv(120, 5))),
    # Simonyan & Zisserman (2015), configuration D, convolutional part.
    "VGG-16 (conv part)": ((3, 224, 224), vgg16()),
    # Krizhevsky et al. (2012) as the paper states it: 224x224 input, 96 filters 11x11, stride 4.
    "AlexNet conv1 (224 input)": ((3, 224, 224), (Conv(96, 11, stride=4), Pool(3, stride=2))),
    "AlexNet conv1 (227 input)": ((3, 227, 227), (Conv(96, 11, stride=4), Pool(3, stride=2))),
}
"""Named stacks from the literature: name -> ``(input_shape, layers)``."""


# ---------------------------------------------------------------------------
# Running a stack for real (measurements, not formulas)
# ---------------------------------------------------------------------------


def draw_weights(input_channels: int, layers, weights: str = "ones", rng=None) -> list:
    """Conv weights for a stack: all ones, or standard normal drawn in layer order.

    Parameters
    ----------
    input_channels : int
        Channels C of the stack's input.
    layers : sequence of Conv and Pool
    weights : {"ones", "random"}
        Every weight 1 (so nothing cancels: a value is non-zero exactly where some
        input reached it), or standard-normal weights from ``rng``.
    rng : int or numpy.random.Generator, optional
        Seed or generator for ``"random"``; the same seed gives the same weights.

    Returns
    -------
    list
        One entry per layer: the ``(F, C, kh, kw)`` weight array of a conv layer,
        None for a pooling layer.
    """
    if weights not in ("ones", "random"):
        raise ValueError(f"weights must be 'ones' or 'random', got {weights!r}")
    generator = np.random.default_rng(rng)
    arrays, channels = [], input_channels
    for layer in _check_layers(layers):
        if layer.kind == "conv":
            shape = (layer.out_channels, channels, *layer.kernel_size)
            arrays.append(np.ones(shape) if weights == "ones" else generator.standard_normal(shape))
            channels = layer.out_channels
        else:
            arrays.append(None)
    return arrays


def run_stack(x, layers, weights="ones", rng=None) -> np.ndarray:
    """Run a stack on a batch with :func:`dlcv.conv.conv2d` and :mod:`dlcv.pool`.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch.
    layers : sequence of Conv and Pool
        The stack; no activation functions are inserted; conv biases are zero.
    weights : {"ones", "random"} or list
        Passed to :func:`draw_weights` with ``rng``, or the list it returns.
    rng : int or numpy.random.Generator, optional
        Seed or generator for ``weights="random"``.

    Returns
    -------
    ndarray, shape (N, C', H', W')
        Raises ``ValueError`` from ``conv2d``/``max_pool2d`` when a layer cannot run.
    """
    from dlcv.conv import conv2d
    from dlcv.pool import avg_pool2d, max_pool2d

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {x.shape}")
    layers = _check_layers(layers)
    arrays = draw_weights(x.shape[1], layers, weights, rng) if isinstance(weights, str) else weights
    for layer, w in zip(layers, arrays, strict=True):
        if layer.kind == "conv":
            x = conv2d(x, w, stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
        else:
            pool = max_pool2d if layer.mode == "max" else avg_pool2d
            x = pool(x, layer.kernel_size, stride=layer.stride, padding=layer.padding)
    return x


def impulse_response(
    input_shape, layers, out_pixel=None, weights: str = "ones", rng=None, batch: int = 256
) -> np.ndarray:
    """Measure how strongly each input pixel reaches one output pixel, by running the stack.

    One unit impulse is placed at each input pixel in turn (all channels), the stack
    is run (:func:`run_stack`, in batches of ``batch`` impulses), and the output
    pixel's values are summed over output channels. With ``weights="ones"`` every
    path adds a positive amount, so the result is non-zero exactly on the input
    pixels that can change that output: the measured receptive field. With max
    pooling the input must be non-negative for this to hold, which it is.

    Parameters
    ----------
    input_shape : (int, int, int)
        (C, H, W) of the input.
    layers : sequence of Conv and Pool
    out_pixel : (int, int), optional
        Row and column of the output pixel; default the centre of the output.
    weights, rng
        As in :func:`run_stack` (``"random"`` measures a signed response).
    batch : int
        Impulses per forward pass (memory versus speed).

    Returns
    -------
    ndarray, shape (H, W), float64
        ``response[y, x]`` = output at ``out_pixel`` when the input is an impulse at
        ``(y, x)``.
    """
    c, h, w = _check_input_shape(input_shape)
    layers = _check_layers(layers)
    report = analyze((c, h, w), layers)
    if not report.ok:
        raise ValueError(f"the stack cannot run on {(c, h, w)}: " + "; ".join(report.problems))
    _, oh, ow = report.output_shape
    if out_pixel is None:
        out_pixel = (oh // 2, ow // 2)
    i, j = int_pair(tuple(out_pixel), "out_pixel", 0)
    if i >= oh or j >= ow:
        raise ValueError(f"out_pixel {out_pixel} is outside the output of shape ({oh}, {ow})")
    arrays = draw_weights(c, layers, weights, rng)
    response = np.empty(h * w)
    for first in range(0, h * w, batch):
        index = np.arange(first, min(first + batch, h * w))
        x = np.zeros((index.size, c, h * w))
        x[np.arange(index.size), :, index] = 1.0
        out = run_stack(x.reshape(index.size, c, h, w), layers, weights=arrays)
        response[index] = out[:, :, i, j].sum(axis=1)
    return response.reshape(h, w)


def input_gradient(x, layers, out_pixel=None, weights: str = "ones", rng=None) -> np.ndarray:
    """Back-propagate from one output pixel to the input through the real layers.

    The stack is run forward on ``x`` (as :func:`run_stack` does), then the gradient
    of that output pixel, summed over output channels, is carried back with
    :func:`dlcv.conv.conv2d_backward` and the pooling backward passes. This is how
    Luo et al. (2016) measure the *effective* receptive field. For conv and average
    pooling layers the result does not depend on ``x`` and equals
    :func:`impulse_response`; max pooling sends the gradient only through the pixel
    that won each window, so it reaches a data-dependent part of the receptive field.

    Parameters
    ----------
    x : ndarray, shape (C, H, W)
        One input image.
    layers : sequence of Conv and Pool
    out_pixel : (int, int), optional
        Row and column of the output pixel; default the centre of the output.
    weights, rng
        As in :func:`run_stack`.

    Returns
    -------
    ndarray, shape (C, H, W)
        d(sum over channels of output[:, i, j]) / dx.
    """
    from dlcv.conv import conv2d, conv2d_backward
    from dlcv.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (C, H, W), got shape {x.shape}")
    layers = _check_layers(layers)
    report = analyze(x.shape, layers)
    if not report.ok:
        raise ValueError(f"the stack cannot run on {x.shape}: " + "; ".join(report.problems))
    tape, h = [], x[None]
    for layer, w in zip(layers, draw_weights(x.shape[0], layers, weights, rng), strict=True):
        if layer.kind == "conv":  # forward, keeping what each backward pass needs
            tape.append((layer, h, w))
            h = conv2d(h, w, stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
        elif layer.mode == "max":
            out, indices = max_pool2d(
                h, layer.kernel_size, layer.stride, layer.padding, return_indices=True
            )
            tape.append((layer, h, indices))
            h = out
        else:
            tape.append((layer, h, None))
            h = avg_pool2d(h, layer.kernel_size, layer.stride, layer.padding)
    _, oh, ow = report.output_shape
    i, j = int_pair(tuple((oh // 2, ow // 2) if out_pixel is None else out_pixel), "out_pixel", 0)
    if i >= oh or j >= ow:
        raise ValueError(f"out_pixel {(i, j)} is outside the output of shape ({oh}, {ow})")
    grad = np.zeros_like(h)
    grad[0, :, i, j] = 1.0
    for layer, h_in, extra in reversed(tape):
        if layer.kind == "conv":
            grad = conv2d_backward(
                grad,
                h_in,
                extra,
                stride=layer.stride,
                padding=layer.padding,
                dilation=layer.dilation,
            )[0]
        elif layer.mode == "max":
            grad = max_pool2d_backward(grad, extra, h_in.shape)
        else:
            grad = avg_pool2d_backward(
                grad, h_in.shape, layer.kernel_size, layer.stride, layer.padding
            )
    return grad[0]


def bounding_box(mask) -> tuple[tuple[int, int], tuple[int, int]]:
    """Size and top-left corner of the smallest box holding every non-zero pixel.

    Used to read a measured receptive field off :func:`impulse_response` or
    :func:`input_gradient`: ``bounding_box(response > 0)``.

    Parameters
    ----------
    mask : array_like, shape (H, W)

    Returns
    -------
    ((height, width), (top, left)) : tuple of int pairs
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("mask has no non-zero pixel: there is no box to measure")
    top, left = int(rows.min()), int(cols.min())
    return (int(rows.max()) - top + 1, int(cols.max()) - left + 1), (top, left)
