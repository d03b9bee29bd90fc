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
only the pictures are shrunk for display. Every callback catches its errors and shows
them in the widget's message line, so the widget keeps working after bad input.
"""

from __future__ import annotations

import html
import time
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw

from dlcv import kernels, plot
from dlcv.conv import correlate2d
from dlcv.data import load_image, sample_image

__all__ = ["SAMPLE_IMAGES", "KernelEditor", "kernel_editor"]

SAMPLE_IMAGES = ("camera", "astronaut", "coins")
"""Photos offered by the image menu (scikit-image samples, grey)."""

CUSTOM = "custom"
UPLOAD = "upload"
MAX_SIZE = 512
SIZES = (3, 5)
PADDINGS = ("valid", "same", "full")
_CELL_WIDTH = "54px"
SATURATE = 0.01
"""Fraction of output values allowed beyond the colour limits (see dlcv.plot.display_range)."""


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


def _fit(values: np.ndarray, size: int) -> np.ndarray:
    """Scale a 2-D array so its longer side is ``size`` (area average down, nearest up).

    Shrinking the values before colouring them keeps a widget update fast: only
    ``size`` x ``size`` pixels are coloured and encoded, whatever the image size.
    """
    img = Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")
    scale = size / max(img.size)
    if scale != 1:
        new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        method = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
        img = img.resize(new, method)
    return np.asarray(img)


def _picture(values: np.ndarray, rng: plot.DisplayRange, size: int) -> Image.Image:
    """The display image of ``values``: grey ("L") or colour ("RGB") Pillow image."""
    rgb = plot.colorize(_fit(values, size), rng)
    return Image.fromarray(rgb if rng.signed else np.ascontiguousarray(rgb[..., 0]))


def _mark(
    img: Image.Image, top: float, left: float, height: float, width: float, scale: float
) -> bytes:
    """Draw a black-and-white box (visible on any colour map) and return PNG bytes."""
    img = img.copy()
    draw = ImageDraw.Draw(img)
    black, white = (0, 255) if img.mode == "L" else ((0, 0, 0), (255, 255, 255))
    cy, cx = (top + height / 2) * scale, (left + width / 2) * scale
    half_h, half_w = max(height * scale / 2, 4), max(width * scale / 2, 4)
    box = [cx - half_w, cy - half_h, cx + half_w, cy + half_h]
    draw.rectangle([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], outline=black, width=1)
    draw.rectangle(box, outline=white, width=1)
    return plot.to_png(np.asarray(img))


def _placeholder(size: int) -> bytes:
    """A light grey square shown where there is no output."""
    return plot.to_png(np.full((size, size, 3), 235, dtype=np.uint8))


def _table(values: np.ndarray, fmt: str, muted: np.ndarray | None = None, caption: str = "") -> str:
    """A small HTML table of numbers (muted cells in grey italics)."""
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
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


class KernelEditor(widgets.VBox):
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
    output_array : ndarray, shape (H', W'), or None
        The last output of :func:`dlcv.conv.correlate2d`; None when the last update failed.
    display_range : dlcv.plot.DisplayRange or None
        How the output is coloured: ``RdBu_r`` centred at 0 when at least 20 % of the values
        are negative (edge maps), grey otherwise; 1 % of the values may saturate.
    readout : dict or None
        The arithmetic at the picked pixel: ``row``, ``col``, ``patch``, ``kernel``,
        ``products``, ``sum``, ``output`` (the output pixel) and ``agree``.
    message : str
        The last error shown in the widget ('' when the last action worked).
    input_png, output_png : bytes
        The PNG images on display (the picked window and pixel are outlined).
    update_ms : float
        Duration of the last full update (computation and drawing), in milliseconds.

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
        self._syncing = 0
        self._images: dict[str, np.ndarray] = {}
        self._pictures: dict[str, Image.Image] = {}
        self._input_key = None
        self._uploads = 0  # counts accepted uploads, so a new upload is redrawn
        self._upload_name = ""
        self._display_size = int(display_size)
        self.output_array = None
        self.display_range = None
        self.readout = None
        self.message = ""
        self.input_png = b""
        self.output_png = b""
        self.update_ms = float("nan")

        self._build_controls(image, preset, padding, stride)
        super().__init__(children=self._layout())
        with self._quiet():
            self._load_preset(preset)
        self._select_image(image)
        self.update()
        if self.output_array is not None:  # start at `pixel`, by default the output's centre
            with self._quiet():
                self.row.value, self.col.value = pixel or (n // 2 for n in self.output_array.shape)
            self._render_pick()
        self._connect()

    # ------------------------------------------------------------------ building
    def _build_controls(self, image, preset, padding, stride):
        label = {"description_width": "initial"}
        size = f"{self._display_size}px"
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
            tooltips=["3x3 kernel", "5x5 kernel"],
            style={"button_width": "60px"},
        )
        self.padding = widgets.ToggleButtons(
            options=PADDINGS, value=padding, style={"button_width": "64px"}
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
                widgets.FloatText(value=0.0, layout=widgets.Layout(width=_CELL_WIDTH, margin="0"))
                for _ in range(5)
            ]
            for _ in range(5)
        ]
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="2px"))
        self.kernel_info = widgets.HTML()
        self.input_view = widgets.Image(format="png")
        self.output_view = widgets.Image(format="png")
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
        wrap = widgets.Layout(flex_flow="row wrap", align_items="center")
        symbol = {"layout": widgets.Layout(align_self="center", margin="0 2px")}
        pictures = widgets.HBox(
            [
                widgets.VBox([self.input_caption, self.input_view]),
                widgets.HTML("<span style='font-size:22px'>⋆</span>", **symbol),
                widgets.VBox(
                    [widgets.HTML("<b>Kernel</b> (editable)"), self.grid],
                    layout=widgets.Layout(align_items="center"),
                ),
                widgets.HTML("<span style='font-size:22px'>=</span>", **symbol),
                widgets.VBox([self.output_caption, self.output_view, self.output_colours]),
            ],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
        )
        return [
            widgets.HBox([self.preset, widgets.Label("Size"), self.size], layout=wrap),
            self.kernel_info,
            widgets.HBox([widgets.Label("Padding"), self.padding, self.stride], layout=wrap),
            widgets.HBox([self.image_choice, self.upload], layout=wrap),
            pictures,
            widgets.HBox([self.row, self.col], layout=wrap),
            self.arithmetic,
            self.status,
        ]

    def _connect(self):
        self.preset.observe(self._on_preset, names="value")
        self.size.observe(self._on_size, names="value")
        for row in self.cells:
            for cell in row:
                cell.observe(self._on_cell, names="value")
        for control in (self.padding, self.stride, self.image_choice):
            control.observe(self._on_setting, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.row.observe(self._on_pick, names="value")
        self.col.observe(self._on_pick, names="value")

    @contextmanager
    def _quiet(self):
        """Change controls without their observers reacting."""
        self._syncing += 1
        try:
            yield
        finally:
            self._syncing -= 1

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
        return self._images[self.image_choice.value]

    def _set_kernel(self, kernel: np.ndarray):
        """Show ``kernel`` in the grid (quietly) and resize the grid to it."""
        k = kernel.shape[0]
        with self._quiet():
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
        with self._quiet():
            self.preset.value = CUSTOM
        self.kernel_info.value = f"<small>{html.escape(note)}</small>"

    def _input_picture(self) -> Image.Image:
        """The grey display image of the current input (made once per image)."""
        key = self.image_choice.value
        if key not in self._pictures:
            grey = plot.DisplayRange(plot.GREY_CMAP, 0.0, 1.0, False)
            self._pictures[key] = _picture(self.image_array, grey, self._display_size)
        return self._pictures[key]

    def _select_image(self, name: str):
        if name not in self._images:
            self._images[name] = sample_image(name, grey=True)
        with self._quiet():
            self.image_choice.value = name

    # ------------------------------------------------------------------ callbacks
    def _safely(self, action, *args):
        """Run a callback; any error becomes the widget's message instead of a traceback."""
        if self._syncing:
            return
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - a callback must never raise
            self._show_error(f"{type(exc).__name__}: {exc}")

    def _on_preset(self, change):
        def act():
            if change["new"] != CUSTOM:
                self._load_preset(change["new"])
            self.update()

        self._safely(act)

    def _on_size(self, change):
        def act():
            self._set_kernel(_resize_kernel(self.kernel_from_cells(change["old"]), change["new"]))
            how = (
                "centred in a 5x5 block of zeros"
                if change["new"] == 5
                else "cropped to its centre 3x3"
            )
            self._mark_custom(f"Custom kernel: the previous kernel {how}.")
            self.update()

        self._safely(act)

    def _on_cell(self, change):
        def act():
            if self.preset.value != CUSTOM:
                self._mark_custom(f"Custom kernel (edited from {self.preset.value}).")
            self.update()

        self._safely(act)

    def _on_setting(self, change):
        def act():
            if change["owner"] is self.image_choice and change["new"] != UPLOAD:
                self._select_image(change["new"])
            self.update()

        self._safely(act)

    def _on_upload(self, change):
        if not change["new"]:
            return
        self._safely(self._read_upload, change["new"][-1])

    def _on_pick(self, change):
        self._safely(self._render_pick)

    def _read_upload(self, file: dict):
        name = str(file.get("name", "upload"))
        with self._quiet():
            self.upload.value = ()  # forget the bytes: allows re-uploading, keeps state small
        try:
            image = load_image(bytes(file["content"]), grey=True, max_size=MAX_SIZE)
        except (ValueError, TypeError, OSError) as exc:
            self._show_error(
                f"Could not use {name!r}: {exc}. The previous image is kept.", keep_output=True
            )
            return
        self._images[UPLOAD] = image
        self._pictures.pop(UPLOAD, None)
        self._uploads += 1
        self._upload_name = name
        with self._quiet():
            self.image_choice.options = [
                *((n, n) for n in SAMPLE_IMAGES),
                (f"yours: {name}", UPLOAD),
            ]
            self.image_choice.value = UPLOAD
        self.update()

    # ------------------------------------------------------------------ drawing
    def update(self):
        """Recompute the output and redraw everything; errors go to the message line."""
        start = time.perf_counter()
        try:
            self._compute_and_draw()
        except Exception as exc:  # noqa: BLE001 - keep the widget alive
            self._show_error(f"{type(exc).__name__}: {exc}")
            return
        self.update_ms = (time.perf_counter() - start) * 1000
        self.message = ""
        h, w = self.output_array.shape
        self.status.value = (
            f"<span style='color:#1a7f37'>✅ output {h} x {w} computed and drawn "
            f"in {self.update_ms:.0f} ms</span>"
        )

    def _compute_and_draw(self):
        image, kernel = self.image_array, self.kernel
        out = correlate2d(image, kernel, padding=self.padding.value, stride=self.stride.value)
        self.output_array = out
        rng = plot.display_range(out, saturate=SATURATE)
        self.display_range = rng
        self._input_base = self._input_picture()
        self._output_base = _picture(out, rng, self._display_size)
        source = (
            f"yours: {self._upload_name}"
            if self.image_choice.value == UPLOAD
            else self.image_choice.value
        )
        self.input_caption.value = (
            f"<b>Input</b> {html.escape(source)}, {image.shape[0]} x {image.shape[1]} (grey)"
        )
        self.output_caption.value = f"<b>Output</b> {out.shape[0]} x {out.shape[1]}"
        self.output_colours.value = f"<small>{html.escape(rng.describe())}</small>"
        with self._quiet():
            self.row.max, self.col.max = out.shape[0] - 1, out.shape[1] - 1
        self._render_pick()

    def _render_pick(self):
        """Outline the picked output pixel and its input window; write out the arithmetic."""
        if self.output_array is None:
            return
        out, kernel, image = self.output_array, self.kernel, self.image_array
        r, c, k, s = self.row.value, self.col.value, kernel.shape[0], self.stride.value
        pad = _padding_before(self.padding.value, k)
        top, left = r * s - pad, c * s - pad  # window position in image coordinates
        patch = np.zeros((k, k))  # zeros where the window hangs over the padding
        rows, cols = np.arange(top, top + k), np.arange(left, left + k)
        inside_r = (rows >= 0) & (rows < image.shape[0])
        inside_c = (cols >= 0) & (cols < image.shape[1])
        patch[np.ix_(inside_r, inside_c)] = image[np.ix_(rows[inside_r], cols[inside_c])]
        outside = ~(inside_r[:, None] & inside_c[None, :])
        products = patch * kernel
        total, value = float(products.sum()), float(out[r, c])
        agree = bool(np.isclose(total, value, rtol=1e-9, atol=1e-12))
        self.readout = {
            "row": r,
            "col": c,
            "top": top,
            "left": left,
            "patch": patch,
            "kernel": kernel,
            "products": products,
            "sum": total,
            "output": value,
            "agree": agree,
        }
        input_key = (self.image_choice.value, self._uploads, top, left, k)
        if input_key != self._input_key:  # editing a weight does not move the window
            scale_in = self._input_base.width / image.shape[1]
            self.input_png = _mark(self._input_base, top, left, k, k, scale_in)
            self.input_view.value, self._input_key = self.input_png, input_key
        scale_out = self._output_base.width / out.shape[1]
        self.output_png = _mark(self._output_base, r, c, 1, 1, scale_out)
        self.output_view.value = self.output_png
        self.arithmetic.value = self._arithmetic_html(outside)

    def _arithmetic_html(self, outside: np.ndarray) -> str:
        rd = self.readout
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

    def _show_error(self, text: str, keep_output: bool = False):
        """Show ``text`` in the message line; unless ``keep_output``, blank the output."""
        self.message = text
        self.status.value = f"<span style='color:#b35806'>❌ {html.escape(text)}</span>"
        if not keep_output:
            self.output_array = self.display_range = self.readout = None
            self.output_png = _placeholder(self._display_size)
            self.output_view.value = self.output_png
            self.output_caption.value = "<b>Output</b> none: see the message below"
            self.output_colours.value = ""
            self.arithmetic.value = ""


def kernel_editor(**kwargs) -> KernelEditor:
    """Create a :class:`KernelEditor` (same keyword arguments)."""
    return KernelEditor(**kwargs)
