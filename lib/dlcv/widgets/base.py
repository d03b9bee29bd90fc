"""The base class of every course widget, :class:`Explorer`, and the pieces they all use.

A widget of the course is an :class:`Explorer`: controls, one computation of the library
(:meth:`Explorer.compute`), and pictures of its result (:meth:`Explorer.draw`), joined by
:meth:`Explorer.update`, which never raises. The rest of this module is what every
widget repeats: a row of controls, a captioned picture, the files of an upload.

Works with ipywidgets 8 and 7.7 (what Colab ships).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from contextlib import contextmanager

import ipywidgets as widgets

__all__ = ["Explorer", "clear_upload", "panel", "row", "set_range", "uploaded_files"]

ERROR_STYLE = "color:#b35806"
"""CSS of the error line (an orange that reads on white and for colour-blind readers)."""


class Explorer(widgets.VBox):
    """An interactive explorer of one idea of the course (an ``ipywidgets.VBox``).

    A subclass builds its controls and pictures in ``__init__`` (after calling
    ``super().__init__()``), lays them out in ``self.children`` with :attr:`message`
    among them, connects its controls with :meth:`watch` and calls :meth:`update` once.
    It implements two methods:

    ``compute()``
        Reads the controls and calls the library; returns a result object. It is pure:
        it sets no widget value (it may cache what it loads or computes), so it can be
        tested without a browser. Impossible settings raise ``ValueError`` or
        ``TypeError`` with a message a learner understands.
    ``draw(result)``
        Only sets the values of child widgets (pictures, texts) from ``result``.

    Attributes
    ----------
    message : ipywidgets.HTML
        Empty after an update that worked; otherwise the error, HTML-escaped, in the
        one style of every widget (:data:`ERROR_STYLE`), followed by :attr:`kept`.
    error : str or None
        The message of the last update's failure; None when it worked.
    update_ms : float
        Duration of the last update (compute and draw), in milliseconds; NaN before it.
    kept : str
        The sentence that follows an error (what the widget still shows).

    Notes
    -----
    :meth:`update` never raises. When ``compute`` or ``draw`` raises, ``draw`` has set
    nothing yet (``draw`` must not fail halfway: it encodes every picture before it sets
    one), so the last good pictures stay. A ``ValueError`` or ``TypeError`` is shown as
    its message; any other exception is a bug, shown with its type name.
    """

    kept = "The pictures still show the last valid setting."

    def __init__(self, **kwargs):
        self.message = widgets.HTML()
        self.error: str | None = None
        self.update_ms = float("nan")
        self._quiet = 0
        super().__init__(**kwargs)

    def __repr__(self) -> str:  # short and stable in a notebook's text output
        return f"{type(self).__name__}()"

    def compute(self):
        """Read the controls and call the library; return the result (see the class)."""
        raise NotImplementedError(f"{type(self).__name__} must define compute()")

    def draw(self, result) -> None:
        """Set the pictures and texts from ``result`` (see the class)."""
        raise NotImplementedError(f"{type(self).__name__} must define draw(result)")

    def update(self, change=None) -> None:
        """Compute and draw for the current controls; time it; show a failure, never raise."""
        start = time.perf_counter()
        try:
            self.draw(self.compute())
        except Exception as exc:  # noqa: BLE001 - a widget update must never raise
            self.show_error(exc)
        else:
            self.error = None
            self.message.value = ""
        self.update_ms = (time.perf_counter() - start) * 1000

    def show_error(self, exc: Exception) -> None:
        """Set :attr:`error` and :attr:`message` for ``exc``; nothing drawn is cleared."""
        text = str(exc).strip()
        if not isinstance(exc, (ValueError, TypeError)) or not text:
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        self.error = text
        end = "" if text.endswith((".", "!", "?")) else "."
        self.message.value = (
            f"<div style='{ERROR_STYLE}'>⚠ {html.escape(text)}{end} "
            f"<i>{html.escape(self.kept)}</i></div>"
        )

    def watch(self, *controls: widgets.Widget, handler: Callable | None = None) -> None:
        """Call ``handler(change)`` (by default :meth:`update`) when a control's value changes.

        The call is skipped while :meth:`quiet` is active, and an exception in
        ``handler`` is shown like a failed update instead of being raised.
        """
        handler = self.update if handler is None else handler

        def on_change(change):
            if self._quiet:
                return
            try:
                handler(change)
            except Exception as exc:  # noqa: BLE001 - a widget callback must never raise
                self.show_error(exc)

        for control in controls:
            control.observe(on_change, names="value")

    @contextmanager
    def quiet(self):
        """Set controls from code inside this block without their :meth:`watch` handlers."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1


def set_range(slider, low: float, high: float, step: float, value: float, fmt=None) -> None:
    """Give ``slider`` the range ``[low, high]``, ``step``, ``value`` (and ``readout_format``
    ``fmt``) without passing through an invalid state: the range is widened first, then
    narrowed, so ``min`` never exceeds ``max`` on the way (ipywidgets would clip the value).
    Call it inside :meth:`Explorer.quiet` so the changes trigger no update."""
    slider.max, slider.min = max(slider.max, high), min(slider.min, low)
    slider.step = step
    if fmt is not None:
        slider.readout_format = fmt
    slider.value = value
    slider.min, slider.max = low, high
    slider.value = value


def row(*children: widgets.Widget, **layout) -> widgets.HBox:
    """Widgets side by side, wrapping onto the next line on a narrow page.

    ``layout`` adds ``ipywidgets.Layout`` settings (e.g. ``align_items="flex-start"``).
    """
    settings = {"flex_flow": "row wrap", "align_items": "center", **layout}
    return widgets.HBox(list(children), layout=widgets.Layout(**settings))


def panel(caption: str | widgets.Widget, picture: widgets.Widget, width: int | None = None):
    """A picture with its caption above it (a ``str`` caption is shown in bold).

    ``width`` (pixels) fixes the panel's width, so that panels line up.
    """
    if isinstance(caption, str):
        caption = widgets.HTML(f"<b>{html.escape(caption)}</b>")
    layout = widgets.Layout(width=f"{width}px") if width else widgets.Layout()
    return widgets.VBox([caption, picture], layout=layout)


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """``(name, content)`` of each file in an ``ipywidgets.FileUpload`` value.

    ipywidgets 8 gives a tuple of dicts with ``"name"`` and ``"content"`` (a memoryview);
    ipywidgets 7 a dict ``{name: {"metadata": ..., "content": bytes}}``.
    """
    if isinstance(value, dict):
        return [(str(name), bytes(file["content"])) for name, file in value.items()]
    return [(str(file.get("name", "upload")), bytes(file["content"])) for file in value]


def clear_upload(upload: widgets.FileUpload) -> None:
    """Forget an upload's bytes: the same file can be chosen again, the state stays small."""
    if isinstance(upload.value, dict):  # ipywidgets 7: value is read-only, rebuilt from data
        upload.set_trait("value", {})
        upload.metadata, upload.data = [], []
    else:
        upload.value = ()
