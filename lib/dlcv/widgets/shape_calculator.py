"""Output-shape and receptive-field calculator: stack layers, read the table.

The learner sets the input size (C, H, W), adds and removes conv or pooling layers
and edits each one's kernel, stride, padding, dilation and number of filters. An
HTML table shows, for every layer, the output shape, parameters, multiply-adds and
receptive field, computed by :func:`dlcv.shapes.analyze`. Settings that do not quite
fit (a ``(W - F + 2P)/S + 1`` that is not an integer, pooling padding over half the
window) are explained in words in the layer's row. A layer left with no output (a
kernel larger than the padded input) is an error: the message names the layer and why,
and the table keeps the last stack that fits (see :class:`dlcv.widgets.Explorer`).

>>> from dlcv.widgets.shape_calculator import ShapeCalculator
>>> calc = ShapeCalculator(preset="LeNet-5 (C1-C5)")   # doctest: +SKIP
>>> calc                                                # doctest: +SKIP
"""

from __future__ import annotations

import ipywidgets as widgets

from dlcv.shapes import PRESETS, Conv, Pool, StackReport, analyze
from dlcv.widgets.base import Explorer, row, tip

__all__ = ["LayerRow", "ShapeCalculator", "render_table"]

_KINDS = ("conv", "max pool", "avg pool")
_NUMBER = widgets.Layout(width="72px")
_COLUMNS = ("type", "kernel", "stride", "padding", "dilation", "filters", "")
_WIDTHS = ("110px", "72px", "72px", "72px", "72px", "72px", "40px")


_NARROW_TABLE = (
    "<style>@media (max-width: 600px) {.dlcv-shapes td, .dlcv-shapes th "
    "{padding: 1px 3px !important; font-size: 11px !important; overflow-wrap: anywhere}}</style>"
)
"""On a phone the report table's cells are smaller and may break (the table fits the page)."""


class LayerRow(widgets.HBox):
    """One editable layer: type, kernel, stride, padding, dilation, filters, remove button.

    Parameters
    ----------
    layer : dlcv.shapes.Conv or Pool, optional
        Initial settings (square values are used: the height entry of a pair).
    """

    def __init__(self, layer: Conv | Pool | None = None):
        layer = Conv(8, 3) if layer is None else layer
        kind = "conv" if layer.kind == "conv" else f"{layer.mode} pool"
        self.kind = widgets.Dropdown(
            options=_KINDS, value=kind, layout=widgets.Layout(width="110px")
        )
        self.kernel = widgets.BoundedIntText(
            value=layer.kernel_size[0], min=1, max=99, layout=_NUMBER
        )
        self.stride = widgets.BoundedIntText(value=layer.stride[0], min=1, max=99, layout=_NUMBER)
        self.padding = widgets.BoundedIntText(value=layer.padding[0], min=0, max=99, layout=_NUMBER)
        self.dilation = widgets.BoundedIntText(
            value=layer.dilation[0], min=1, max=99, layout=_NUMBER
        )
        filters = layer.out_channels if layer.kind == "conv" else 8
        self.filters = widgets.BoundedIntText(value=filters, min=1, max=100_000, layout=_NUMBER)
        self.remove = widgets.Button(
            description="✕", tooltip="remove this layer", layout=widgets.Layout(width="40px")
        )
        super().__init__(
            layout=widgets.Layout(flex_flow="row wrap"),  # wraps like the header on a phone
            children=[
                self.kind,
                self.kernel,
                self.stride,
                self.padding,
                self.dilation,
                self.filters,
                self.remove,
            ],
        )
        self.kind.observe(self._sync_enabled, names="value")
        self._sync_enabled()

    def number(self, index: int) -> None:
        """Name the row's controls after its column and its layer number (1-based)."""
        for name, control in zip(_COLUMNS, (*self.controls, self.remove), strict=True):
            what = f"remove layer {index}" if control is self.remove else f"layer {index}: {name}"
            for trait, value in tip(what).items():
                setattr(control, trait, value)

    @property
    def controls(self) -> tuple[widgets.Widget, ...]:
        """The value-holding controls (what a change should trigger an update on)."""
        return (self.kind, self.kernel, self.stride, self.padding, self.dilation, self.filters)

    def _sync_enabled(self, change=None) -> None:
        pool = self.kind.value != "conv"
        self.dilation.disabled = pool  # dlcv.pool has no dilation
        self.filters.disabled = pool  # pooling keeps the number of channels
        if pool:
            self.dilation.value = 1

    def layer(self) -> Conv | Pool:
        """The :class:`~dlcv.shapes.Conv` or :class:`~dlcv.shapes.Pool` these controls describe."""
        if self.kind.value == "conv":
            return Conv(
                self.filters.value,
                self.kernel.value,
                stride=self.stride.value,
                padding=self.padding.value,
                dilation=self.dilation.value,
            )
        return Pool(
            self.kernel.value,
            stride=self.stride.value,
            padding=self.padding.value,
            mode=self.kind.value.split()[0],
        )


def render_table(report: StackReport) -> str:
    """The report as an HTML table (:meth:`dlcv.shapes.StackReport.to_html`).

    Problems appear in a shaded row under their layer (⚠ light orange: rows or columns
    dropped; ⛔ light grey: no output), and the last row compares with a dense layer.
    """
    return report.to_html(dense=True)


class ShapeCalculator(Explorer):
    """Interactive calculator of output shapes, costs and receptive fields of a layer stack.

    Parameters
    ----------
    input_shape : (int, int, int)
        Initial input (C, H, W).
    layers : sequence of dlcv.shapes.Conv and Pool, optional
        Initial stack; ignored when ``preset`` is given.
    preset : str, optional
        Name of a stack in :data:`dlcv.shapes.PRESETS` to start from (sets the input too).

    Attributes
    ----------
    report : dlcv.shapes.StackReport
        The report in the table (the last stack in which every layer has an output).
    table : ipywidgets.HTML
        The rendered table.
    status : ipywidgets.HTML
        Empty, or which layers' settings do not quite fit (their rows are shaded).
    rows : list of LayerRow
        The layer editors, first layer first.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; a layer without output is an error.
    """

    kept = "The table still shows the last stack that fits."

    def __init__(self, input_shape=(1, 28, 28), layers=None, preset: str | None = None):
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
            input_shape, layers = PRESETS[preset]
        layers = [Conv(8, 5), Pool(2)] if layers is None else list(layers)
        super().__init__()
        c, h, w = input_shape
        box = dict(min=1, max=100_000, layout=_NUMBER)
        self.in_c = widgets.BoundedIntText(value=c, **box, **tip("input channels (C)"))
        self.in_h = widgets.BoundedIntText(value=h, **box, **tip("input height (H)"))
        self.in_w = widgets.BoundedIntText(value=w, **box, **tip("input width (W)"))
        self.preset = widgets.Dropdown(
            options=["(choose a network)", *PRESETS],
            value="(choose a network)" if preset is None else preset,
            description="or load:",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="300px", max_width="100%"),
        )
        self.add_conv = widgets.Button(
            description="+ conv layer", layout=widgets.Layout(width="120px")
        )
        self.add_pool = widgets.Button(
            description="+ pool layer", layout=widgets.Layout(width="120px")
        )
        self.table = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        self.report: StackReport | None = None
        self.rows: list[LayerRow] = []
        self._rows_box = widgets.VBox()
        header = row(  # the same widths as a layer row: on a phone both wrap alike
            *(
                widgets.HTML(f"<b>{name}</b>", layout=widgets.Layout(width=width))
                for name, width in zip(_COLUMNS, _WIDTHS, strict=True)
            )
        )
        inputs = row(
            widgets.HTML("<b>input</b> C, H, W:", layout=widgets.Layout(width="110px")),
            self.in_c,
            self.in_h,
            self.in_w,
            self.preset,
        )
        self.children = [
            inputs,
            header,
            self._rows_box,
            row(self.add_conv, self.add_pool),
            self.status,
            self.message,
            self.table,
        ]
        self.watch(self.in_c, self.in_h, self.in_w)
        self.watch(self.preset, handler=self._load_preset)
        self.add_conv.on_click(lambda _: self.add_layer(Conv(8, 3, padding=1)))
        self.add_pool.on_click(lambda _: self.add_layer(Pool(2)))
        self.set_stack((c, h, w), layers)

    # -- editing the stack -------------------------------------------------
    def add_layer(self, layer: Conv | Pool | None = None) -> LayerRow:
        """Append a layer row (default a 3×3 conv with 8 filters) and update."""
        layer_row = self._make_row(layer)
        self.rows.append(layer_row)
        self._show_rows()
        self.update()
        return layer_row

    def remove_layer(self, index: int) -> None:
        """Remove the row at ``index`` (0-based) and update."""
        self._close(self.rows.pop(index))
        self._show_rows()
        self.update()

    def set_stack(self, input_shape, layers) -> None:
        """Replace the input shape and every layer row, then update once."""
        with self.quiet():
            self.in_c.value, self.in_h.value, self.in_w.value = input_shape
            for layer_row in self.rows:
                self._close(layer_row)
            self.rows = [self._make_row(layer) for layer in layers]
            self._show_rows()
        self.update()

    def _show_rows(self) -> None:
        """Show the rows, each named after its (1-based) layer number."""
        for i, layer_row in enumerate(self.rows):
            layer_row.number(i + 1)
        self._rows_box.children = tuple(self.rows)

    @staticmethod
    def _close(layer_row: LayerRow) -> None:
        for child in layer_row.children:
            child.close()
        layer_row.close()

    def _make_row(self, layer) -> LayerRow:
        layer_row = LayerRow(layer)
        self.watch(*layer_row.controls)
        layer_row.remove.on_click(lambda _, r=layer_row: self.remove_layer(self.rows.index(r)))
        return layer_row

    def _load_preset(self, change) -> None:
        if change["new"] in PRESETS:
            self.set_stack(*PRESETS[change["new"]])

    # -- computing -----------------------------------------------------------
    def layers(self) -> list[Conv | Pool]:
        """The stack the rows currently describe."""
        return [layer_row.layer() for layer_row in self.rows]

    def compute(self) -> StackReport:
        """:func:`dlcv.shapes.analyze` of the stack; a layer without output is an error."""
        report = analyze((self.in_c.value, self.in_h.value, self.in_w.value), self.layers())
        fatal = next((r for r in report.layers if not r.ok), None)
        if fatal is not None:
            later = (
                ", so the layers after it have no input" if fatal.index < len(report.layers) else ""
            )
            raise ValueError(
                f"Layer {fatal.index} ({fatal.layer.describe()}): {fatal.problem}{later}. "
                "Change its settings or the input size."
            )
        return report

    def draw(self, result: StackReport) -> None:
        self.report = result
        self.table.value = f"{_NARROW_TABLE}<div class='dlcv-shapes'>{render_table(result)}</div>"
        causes = [r.index for r in result.layers if r.problem]
        self.status.value = (
            ""
            if not causes
            else "⚠ the settings of layer(s) "
            + ", ".join(map(str, causes))
            + " do not fit their input exactly: see the shaded rows."
        )
