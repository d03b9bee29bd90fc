"""Kernel editor: slide an editable 3x3 or 5x5 kernel over a real photo and watch the result.

>>> from dlcv.widgets.kernel_editor import KernelEditor
>>> editor = KernelEditor(image="camera", preset="sobel_x")   # doctest: +SKIP
>>> editor                                                     # doctest: +SKIP

The editor shows *input* ⋆ *kernel* = *output* side by side, where ⋆ is the
cross-correlation :func:`dlcv.conv.correlate2d` computes (no kernel flip, as in a CNN
layer). Below them, for one output pixel the learner picks, it writes out the
arithmetic: the input patch under the kernel, the kernel, their elementwise products
and the sum, which equals that output pixel.

Everything is computed on the full grey image (at most 512 pixels on its longer side);
only the pictures are shrunk for display. The last correlation is kept, so picking
another pixel does not recompute it. A bad setting or a bad upload shows a message and
the widget keeps working (see :class:`dlcv.widgets.Explorer`).
"""

from __future__ import annotations

import html
import time
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv import kernels, render
from dlcv.conv import correlate2d
from dlcv.data import load_image, sample_image
from dlcv.widgets.base import (
    Explorer,
    Picture,
    clear_upload,
    describe_values,
    panel,
    row,
    tip,
    uploaded_files,
)

__all__ = ["SAMPLE_IMAGES", "KernelEditor", "kernel_editor"]

SAMPLE_IMAGES = ("camera", "astronaut", "coins")
"""Photos offered by the image menu (scikit-image samples, grey)."""

CUSTOM = "custom"
UPLOAD = "upload"
MAX_SIZE = 512
PADDINGS = ("valid", "same", "full")
_CELL_WIDTH = "54px"
SATURATE = 0.01
"""Fraction of output values allowed beyond the colour limits (see dlcv.render.display_range)."""
_GREY01 = render.DisplayRange(render.GREY_CMAP, 0.0, 1.0, False)


def _padding_before(padding: str, k: int) -> int:
    """Zero rows (and columns) :func:`correlate2d` adds above (and left of) the image.

    Its documented rule: none for "valid", ``k - 1`` for "full", and for "same"
    ``(k - 1) // 2``, whatever the stride.
    """
    return {"valid": 0, "same": (k - 1) // 2, "full": k - 1}[padding]


def _resize_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Centre a kernel in a larger zero kernel, or crop its centre to a smaller one."""
    k = kernel.shape[0]
    if size >= k:
        out = np.zeros((size, size))
        m = (size - k) // 2
        out[m : m + k, m : m + k] = kernel
        return out
    m = (k - size) // 2
    return kernel[m : m + size, m : m + size].copy()


def _mark(
    base: np.ndarray, top: float, left: float, height: float, width: float, scale: float
) -> bytes:
    """Outline a box in black and white (visible on any colour map); return PNG bytes."""
    canvas = base.copy()
    black, white = (0, 255) if canvas.ndim == 2 else ((0, 0, 0), (255, 255, 255))
    cy, cx = (top + height / 2) * scale, (left + width / 2) * scale
    half_h, half_w = max(height * scale / 2, 4), max(width * scale / 2, 4)
    y0, x0 = round(cy - half_h), round(cx - half_w)
    h, w = round(cy + half_h) - y0 + 1, round(cx + half_w) - x0 + 1
    render.outline(canvas, y0 - 1, x0 - 1, h + 2, w + 2, black)
    render.outline(canvas, y0, x0, h, w, white)
    return render.to_png(canvas)


def _readout(image, out, kernel, padding: str, stride: int, r: int, c: int):
    """The arithmetic behind output pixel ``(r, c)``, and which patch cells are padding.

    Returns the readout dict (see :class:`KernelEditor`) and a (k, k) bool array.
    """
    k = kernel.shape[0]
    top, left = r * stride - _padding_before(padding, k), c * stride - _padding_before(padding, k)
    patch = np.zeros((k, k))  # zeros where the window hangs over the padding
    rows, cols = np.arange(top, top + k), np.arange(left, left + k)
    inside_r = (rows >= 0) & (rows < image.shape[0])
    inside_c = (cols >= 0) & (cols < image.shape[1])
    patch[np.ix_(inside_r, inside_c)] = image[np.ix_(rows[inside_r], cols[inside_c])]
    products = patch * kernel
    total, value = float(products.sum()), float(out[r, c])
    agree = bool(np.isclose(total, value, rtol=1e-9, atol=1e-12))
    readout = dict(row=r, col=c, top=top, left=left, patch=patch, kernel=kernel,
                   products=products, sum=total, output=value, agree=agree)  # fmt: skip
    return readout, ~(inside_r[:, None] & inside_c[None, :])


def _table(values: np.ndarray, fmt: str, muted: np.ndarray | None = None, caption: str = "") -> str:
    """A small HTML table of numbers (muted cells in grey italics)."""
    rows = []
    for r, values_row in enumerate(values):
        cells = []
        for c, v in enumerate(values_row):
            style = "padding:1px 5px;text-align:right;border:1px solid #ccc;"
            if muted is not None and muted[r, c]:
                style += "color:#888;font-style:italic;"
            cells.append(f"<td style='{style}'>{format(v, fmt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = (
        f"<caption style='caption-side:top;font-weight:bold'>{caption}</caption>" if caption else ""
    )
    style = "border-collapse:collapse;font-family:monospace"
    return f"<table style='{style}'>{head}{''.join(rows)}</table>"


class _Output(NamedTuple):
    """The last correlation, kept so that picking another pixel does not recompute it."""

    key: tuple
    array: np.ndarray
    rng: render.DisplayRange
    ms: float


class EditorResult(NamedTuple):
    """What :meth:`KernelEditor.compute` returns."""

    image_key: tuple  # (image choice, upload count): identifies the input picture
    source: str  # the input's name, as shown in its caption
    image: np.ndarray
    output: _Output
    readout: dict
    outside: np.ndarray  # (k, k) bool: patch cells in the zero padding


class KernelEditor(Explorer):
    """Interactive cross-correlation of a real photo with an editable kernel.

    Parameters
    ----------
    image : str
        Starting photo, one of :data:`SAMPLE_IMAGES`.
    preset : str
        Starting kernel, one of :func:`dlcv.kernels.names`.
    padding : {"valid", "same", "full"}
        Starting zero padding.
    stride : int
        Starting stride (1 to 4).
    pixel : (int, int), optional
        Output pixel (row, column) whose arithmetic is shown first (clamped to the output);
        by default the centre of the output.
    display_size : int
        Longer side, in pixels, of the pictures shown (the computation uses the full image).

    Attributes
    ----------
    image_array : ndarray, shape (H, W)
        The grey image being filtered (floats in [0, 1]).
    output_array : ndarray, shape (H', W')
        The output of :func:`dlcv.conv.correlate2d` on display.
    display_range : dlcv.render.DisplayRange
        How the output is coloured: ``RdBu_r`` centred at 0 when at least 20 % of the values
        are negative (edge maps), grey otherwise; 1 % of the values may saturate.
    readout : dict
        The arithmetic at the picked pixel: ``row``, ``col``, ``top``, ``left``, ``patch``,
        ``kernel``, ``products``, ``sum``, ``output`` (the output pixel) and ``agree``.
    input_png, output_png : bytes
        The PNG images on display (the picked window and pixel are outlined).
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; a weight that is not a finite number, a kernel
        larger than the padded image and an upload that is not an image are errors.

    Controls (ipywidgets, set their ``.value`` to drive the editor): ``preset``,
    ``size``, ``cells`` (5x5 list of FloatText; the top-left ``size`` x ``size`` block is
    used), ``padding``, ``stride``, ``image_choice``, ``upload``, ``row``, ``col``.
    """

    def __init__(
        self,
        image: str = "camera",
        preset: str = "sobel_x",
        padding: str = "same",
        stride: int = 1,
        pixel: tuple[int, int] | None = None,
        display_size: int = 256,
    ):
        super().__init__()
        self._images: dict[str, np.ndarray] = {}
        self._uploads = 0  # counts accepted uploads, so a new upload is redrawn
        self._upload_name = ""
        self._size = int(display_size)
        self._output: _Output | None = None  # the last correlation
        self._pictures: dict[tuple, np.ndarray] = {}  # input and output pictures, unmarked
        self._input_mark: tuple | None = None  # (picture key, window) of input_png
        self.output_array = self.display_range = self.readout = None
        self.input_png = self.output_png = b""
        self._build_controls(image, preset, padding, stride)
        self.children = self._layout()
        with self.quiet():
            self._load_preset(preset)
        self.update()
        if self.error is None:  # start at `pixel`, by default the output's centre
            with self.quiet():
                self.row.value, self.col.value = pixel or (n // 2 for n in self.output_array.shape)
            self.update()
        self.watch(self.preset, handler=self._on_preset)
        self.watch(self.size, handler=self._on_size)
        self.watch(*(cell for cells in self.cells for cell in cells), handler=self._on_cell)
        self.watch(self.padding, self.stride, self.image_choice, self.row, self.col)
        self.watch(self.upload, handler=self._on_upload)

    # ------------------------------------------------------------------ building
    def _build_controls(self, image, preset, padding, stride):
        label = {"description_width": "initial"}
        size = f"{self._size}px"
        self.preset = widgets.Dropdown(
            options=[*kernels.names(), CUSTOM],
            value=preset,
            description="Preset",
            style=label,
            layout=widgets.Layout(width="230px"),
        )
        self.size = widgets.ToggleButtons(
            options=[("3x3", 3), ("5x5", 5)],
            value=3,
            description="Size",
            tooltips=["3x3 kernel", "5x5 kernel"],
            style={"button_width": "60px", **label},
        )
        self.padding = widgets.ToggleButtons(
            options=PADDINGS,
            value=padding,
            description="Padding",
            style={"button_width": "64px", **label},
        )
        self.stride = widgets.IntSlider(
            value=stride,
            min=1,
            max=4,
            description="Stride",
            continuous_update=False,
            style=label,
            layout=widgets.Layout(width="200px"),
        )
        self.image_choice = widgets.Dropdown(
            options=[(n, n) for n in SAMPLE_IMAGES],
            value=image,
            description="Image",
            style=label,
            layout=widgets.Layout(width="230px"),
        )
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Your image")
        self.cells = [
            [
                widgets.FloatText(
                    value=0.0,
                    **tip(f"kernel weight, row {r + 1}, column {c + 1}"),
                    layout=widgets.Layout(width=_CELL_WIDTH, margin="0"),
                )
                for c in range(5)
            ]
            for r in range(5)
        ]
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        self.kernel_info = widgets.HTML()
        self.input_view = Picture(format="png")
        self.output_view = Picture(format="png")
        self.input_caption = widgets.HTML(layout=widgets.Layout(width=size))
        self.output_caption = widgets.HTML(layout=widgets.Layout(width=size))
        self.output_colours = widgets.HTML(layout=widgets.Layout(width=size))
        self.row = widgets.IntSlider(description="Output row", continuous_update=False, style=label)
        self.col = widgets.IntSlider(
            description="Output column", continuous_update=False, style=label
        )
        self.arithmetic = widgets.HTML()
        self.status = widgets.HTML()

    def _layout(self):
        symbol = {"layout": widgets.Layout(align_self="center", margin="0 2px")}
        kernel = widgets.VBox(
            [widgets.HTML("<b>Kernel</b> (editable)"), self.grid],
            layout=widgets.Layout(align_items="center"),
        )
        pictures = row(
            panel(self.input_caption, self.input_view),
            widgets.HTML("<span style='font-size:22px'>⋆</span>", **symbol),
            kernel,
            widgets.HTML("<span style='font-size:22px'>=</span>", **symbol),
            widgets.VBox([self.output_caption, self.output_view, self.output_colours]),
            align_items="flex-start",
        )
        return [
            row(self.preset, self.size),
            self.kernel_info,
            row(self.padding, self.stride),
            row(self.image_choice, self.upload),
            pictures,
            row(self.row, self.col),
            self.arithmetic,
            self.status,
            self.message,
        ]

    # ------------------------------------------------------------------ state
    @property
    def kernel(self) -> np.ndarray:
        """The kernel in the grid, shape (size, size), float64."""
        return self.kernel_from_cells(self.size.value)

    def kernel_from_cells(self, k: int) -> np.ndarray:
        """The top-left ``k`` x ``k`` block of the grid's cells, float64."""
        return np.array([[self.cells[r][c].value for c in range(k)] for r in range(k)], dtype=float)

    @property
    def image_array(self) -> np.ndarray:
        """The grey image chosen in the menu (loaded once)."""
        name = self.image_choice.value
        if name not in self._images:
            self._images[name] = sample_image(name, grey=True)
        return self._images[name]

    def _set_kernel(self, kernel: np.ndarray):
        """Show ``kernel`` in the grid (quietly) and resize the grid to it."""
        k = kernel.shape[0]
        with self.quiet():
            self.size.value = k
            for r in range(5):
                for c in range(5):
                    self.cells[r][c].value = float(kernel[r, c]) if r < k and c < k else 0.0
        self.grid.children = [self.cells[r][c] for r in range(k) for c in range(k)]
        self.grid.layout.grid_template_columns = f"repeat({k}, {_CELL_WIDTH})"
        self.grid.layout.width = f"calc({k} * {_CELL_WIDTH} + {2 * (k - 1)}px)"

    def _load_preset(self, name: str):
        self._set_kernel(kernels.get(name))
        self.kernel_info.value = f"<small>{html.escape(kernels.describe(name))}</small>"

    def _mark_custom(self, note: str):
        with self.quiet():
            self.preset.value = CUSTOM
        self.kernel_info.value = f"<small>{html.escape(note)}</small>"

    # ------------------------------------------------------------------ callbacks
    def _on_preset(self, change):
        if change["new"] != CUSTOM:
            self._load_preset(change["new"])
        self.update()

    def _on_size(self, change):
        self._set_kernel(_resize_kernel(self.kernel_from_cells(change["old"]), change["new"]))
        how = (
            "centred in a 5x5 block of zeros" if change["new"] == 5 else "cropped to its centre 3x3"
        )
        self._mark_custom(f"Custom kernel: the previous kernel {how}.")
        self.update()

    def _on_cell(self, change):
        if self.preset.value != CUSTOM:
            self._mark_custom(f"Custom kernel (edited from {self.preset.value}).")
        self.update()

    def _on_upload(self, change):
        files = uploaded_files(change["new"])
        if not files:
            return
        name, content = files[-1]
        with self.quiet():
            clear_upload(self.upload)  # forget the bytes: allows re-uploading, keeps state small
        try:
            image = load_image(content, grey=True, max_size=MAX_SIZE)
        except (ValueError, TypeError, OSError) as exc:
            reason = str(exc).rstrip(".")
            raise ValueError(
                f"Could not use {name!r}: {reason}. The previous image is kept."
            ) from exc
        self._images[UPLOAD], self._upload_name = image, name
        self._uploads += 1
        with self.quiet():
            self.image_choice.options = [
                *((n, n) for n in SAMPLE_IMAGES),
                (f"yours: {name}", UPLOAD),
            ]
            self.image_choice.value = UPLOAD
        self.update()

    # ------------------------------------------------------------------ compute and draw
    def compute(self) -> EditorResult:
        """Correlate the image with the kernel (unless done already) and read the picked pixel."""
        kernel, padding, stride = self.kernel, self.padding.value, self.stride.value
        bad = np.argwhere(~np.isfinite(kernel))
        if bad.size:
            r, c = bad[0]
            raise ValueError(
                f"the kernel weight in row {r + 1}, column {c + 1} is "
                f"{kernel[r, c]}: every weight must be a finite number"
            )
        image = self.image_array
        image_key = (self.image_choice.value, self._uploads)
        key = (image_key, kernel.tobytes(), kernel.shape, padding, stride)
        if self._output is None or self._output.key != key:
            start = time.perf_counter()
            out = correlate2d(image, kernel, padding=padding, stride=stride)
            ms = (time.perf_counter() - start) * 1000
            self._output = _Output(key, out, render.display_range(out, saturate=SATURATE), ms)
        out = self._output.array
        r = min(self.row.value, out.shape[0] - 1)  # the sliders' bounds follow in draw
        c = min(self.col.value, out.shape[1] - 1)
        readout, outside = _readout(image, out, kernel, padding, stride, r, c)
        source = f"yours: {self._upload_name}" if image_key[0] == UPLOAD else image_key[0]
        return EditorResult(image_key, source, image, self._output, readout, outside)

    def _picture(self, key: tuple, values: np.ndarray, rng: render.DisplayRange) -> np.ndarray:
        """The unmarked display picture of ``values`` (kept for the input and the last output)."""
        if key not in self._pictures:
            if key[0] == "output":  # only the last output is kept
                self._pictures = {k: v for k, v in self._pictures.items() if k[0] != "output"}
            self._pictures[key] = render.picture(values, rng, self._size)
        return self._pictures[key]

    def draw(self, result: EditorResult) -> None:
        out, rng, rd = result.output.array, result.output.rng, result.readout
        image, k = result.image, rd["kernel"].shape[0]
        input_mark = (result.image_key, rd["top"], rd["left"], k)
        input_png = self.input_png
        if input_mark != self._input_mark:  # editing a weight does not move the window
            base = self._picture(("input", *result.image_key), image, _GREY01)
            input_png = _mark(base, rd["top"], rd["left"], k, k, base.shape[1] / image.shape[1])
        base = self._picture(("output", result.output.key), out, rng)
        output_png = _mark(base, rd["row"], rd["col"], 1, 1, base.shape[1] / out.shape[1])
        # every picture is encoded: now show them
        self.output_array, self.display_range, self.readout = out, rng, rd
        self.input_png, self._input_mark, self.output_png = input_png, input_mark, output_png
        (h, w), (oh, ow) = image.shape, out.shape
        window = (
            f"the {k} by {k} window under the kernel at rows {rd['top']} to {rd['top'] + k - 1}, "
            f"columns {rd['left']} to {rd['left'] + k - 1}, outlined"
        )
        kernel = "a custom kernel" if self.preset.value == CUSTOM else self.preset.value
        self.input_view.alt = f"input: {result.source}, {h} by {w}, grey; {window}"
        self.output_view.alt = (
            f"output of {kernel} on {result.source}, {oh} by {ow}, "
            f"{describe_values(out)}; pixel row {rd['row']}, column {rd['col']} outlined, "
            f"value {rd['output']:.3g}"
        )
        self.input_view.value, self.output_view.value = input_png, output_png
        with self.quiet():
            self.row.max, self.col.max = out.shape[0] - 1, out.shape[1] - 1
            self.row.value, self.col.value = rd["row"], rd["col"]
        self.input_caption.value = f"<b>Input</b> {html.escape(result.source)}, {h} x {w} (grey)"
        self.output_caption.value = f"<b>Output</b> {oh} x {ow}"
        self.output_colours.value = f"<small>{html.escape(rng.describe())}</small>"
        self.arithmetic.value = _arithmetic_html(rd, result.outside)
        self.status.value = (
            f"<span style='color:#1a7f37'>✅ output {oh} x {ow} computed by correlate2d in "
            f"{result.output.ms:.0f} ms</span>"
        )


def _arithmetic_html(rd: dict, outside: np.ndarray) -> str:
    """The patch ⊙ kernel = products tables and the sum that equals the output pixel."""
    op = "<span style='font-size:20px;margin:0 8px'>{}</span>"
    tables = "".join(
        [
            _table(rd["patch"], ".3f", outside, "input patch"),
            op.format("⊙"),
            _table(rd["kernel"], ".3g", None, "kernel"),
            op.format("="),
            _table(rd["products"], ".3f", outside, "products"),
        ]
    )
    verdict = "✅ equal" if rd["agree"] else "❌ they differ"
    k = rd["kernel"].shape[0]
    note = " Grey italic cells lie in the zero padding." if outside.any() else ""
    return (
        f"<div><b>Output pixel (row {rd['row']}, column {rd['col']})</b> comes from "
        f"input rows {rd['top']}–{rd['top'] + k - 1} and columns "
        f"{rd['left']}–{rd['left'] + k - 1}.{note}</div>"
        f"<div style='display:flex;align-items:center;flex-wrap:wrap'>{tables}</div>"
        f"<div style='font-family:monospace'>sum of products = {rd['sum']:.6f}; "
        f"output[{rd['row']}, {rd['col']}] = {rd['output']:.6f} → {verdict}</div>"
    )


def kernel_editor(**kwargs) -> KernelEditor:
    """Create a :class:`KernelEditor` (same keyword arguments)."""
    return KernelEditor(**kwargs)
