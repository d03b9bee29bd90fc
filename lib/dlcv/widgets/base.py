"""The base class of every course widget, :class:`Explorer`, and the pieces they all use.

A widget of the course is an :class:`Explorer`: controls, one computation of the library
(:meth:`Explorer.compute`), and pictures of its result (:meth:`Explorer.draw`), joined by
:meth:`Explorer.update`, which never raises. The rest of this module is what every
widget repeats: a row of controls, a captioned picture (:class:`Picture`, with its text
alternative), the files of an upload.

Accessibility is given here, once, for every widget (see :class:`Explorer`, "Notes"):
each control is named from its ``description`` (its visible label) or, when it has
none, its ``tooltip``; each picture is a :class:`Picture` whose ``alt`` its widget's
``draw`` sets. What ipywidgets renders does not carry all of it: a ``description``
names a text box, a number box, a drop-down or a check box (a ``<label for>``), but not
a slider (its handle, ``role="slider"``, gets no name), a row of toggle buttons or a
picture (an ``Image`` has no ``alt``; its ``tooltip`` breaks its view in ipywidgets 8).
So every explorer also holds a small hidden :class:`ipywidgets.HTML` whose script gives
those elements their names in the page (``aria-label``, ``alt``, ``role="group"``,
``aria-pressed``), in JupyterLab and Voila (ipywidgets 8), in Colab (7.7) and in the
static book (its stored widget state), and again whenever a view is redrawn.

Works with ipywidgets 8 and 7.7 (what Colab ships).
"""

from __future__ import annotations

import functools
import html
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import traitlets

__all__ = [
    "Explorer",
    "Picture",
    "accessible_name",
    "clear_upload",
    "controls",
    "describe_values",
    "panel",
    "row",
    "set_range",
    "tip",
    "uploaded_files",
]

ERROR_STYLE = "color:#b35806"
"""CSS of the error line (an orange that reads on white and for colour-blind readers)."""

ROOT_CLASS = "dlcv-explorer"
"""CSS class of every explorer's box: the page script of :class:`Explorer` works inside it."""

_NOT_CONTROLS = tuple(
    getattr(widgets, name)
    for name in ("HTML", "HTMLMath", "Label", "Image", "Valid", "IntProgress", "FloatProgress",
                 "Audio", "Video", "Output")
    if hasattr(widgets, name)
)  # fmt: skip
_SLIDERS = tuple(
    getattr(widgets, name)
    for name in ("IntSlider", "FloatSlider", "FloatLogSlider", "IntRangeSlider",
                 "FloatRangeSlider", "SelectionSlider", "SelectionRangeSlider")
    if hasattr(widgets, name)
)  # fmt: skip
_GROUPS = (widgets.ToggleButtons, widgets.RadioButtons)
"""Controls drawn as several elements: named as a group (``role="group"``) in the page."""

# The page script (see the module docstring). It runs when its one-pixel image has loaded
# (a script inserted as HTML would not run; an image's load event does), finds its
# explorer's box, and sets the names and text alternatives listed in the image's
# data-dlcv-a11y attribute: {"names": {class: name}, "alts": {class: alt}, "ranges":
# {class: [min, max]} (of sliders, for ipywidgets 7, whose handles have no ARIA)}. A
# MutationObserver sets them again when ipywidgets redraws a view (a slider whose range
# changes gets a new handle; a toggle button changes its class when pressed). An
# ipywidgets 7 handle's value is read from the slider's readout: a range slider's readout
# is "from – to" (an en dash), one part for each handle, and a readout formatted as a
# percentage (".0%": "15%") is the value 0.15 (tests/test_colab.py renders them in 7.7.1).
_PAGE_SCRIPT = """(function (img) {
  function set(el, key, value) { if (el.getAttribute(key) !== value) el.setAttribute(key, value); }
  function start(tries) {
    var root = img.closest('.dlcv-explorer');
    if (!root) { if (tries < 200) setTimeout(function () { start(tries + 1); }, 50); return; }
    root.dlcvA11y = JSON.parse(img.getAttribute('data-dlcv-a11y'));
    root.dlcvApply = function () {
      var d = root.dlcvA11y;
      Object.keys(d.names).forEach(function (c) {
        var name = d.names[c];
        root.querySelectorAll('.' + c).forEach(function (el) {
          // ipywidgets 7 (jQuery UI) draws a slider's handle without a role: give it one
          var range = d.ranges[c], readout = el.querySelector('.widget-readout');
          el.querySelectorAll('.ui-slider-handle:not([role])').forEach(function (h) {
            set(h, 'role', 'slider');
          });
          var knobs = el.querySelectorAll('.ui-slider-handle');
          if (range && knobs.length) {
            var text = readout ? readout.textContent.trim() : '';
            var parts = knobs.length > 1 ? text.split(/\\s*\\u2013\\s*/) : [text];
            knobs.forEach(function (h, i) {
              set(h, 'aria-valuemin', String(range[0])); set(h, 'aria-valuemax', String(range[1]));
              var now = parts.length === knobs.length ? parts[i] : '';
              var value = parseFloat(now);
              if (/%$/.test(now)) value = +(value / 100).toPrecision(12);
              if (now) set(h, 'aria-valuetext', now);
              if (isFinite(value)) set(h, 'aria-valuenow', String(value));
            });
          }
          var handles = el.querySelectorAll('[role=slider]');
          handles.forEach(function (h, i) {
            set(h, 'aria-label', handles.length > 1 ? name + (i ? ', to' : ', from') : name);
          });
          el.querySelectorAll('input:not([type=file]), select, textarea').forEach(function (e) {
            set(e, 'aria-label', name);
          });
          if (el.matches('button')) set(el, 'aria-label', name);
          if (el.matches('.widget-toggle-buttons, .widget-radio')) {
            set(el, 'role', 'group'); set(el, 'aria-label', name);
          }
        });
      });
      Object.keys(d.alts).forEach(function (c) {
        root.querySelectorAll('img.' + c).forEach(function (e) { set(e, 'alt', d.alts[c]); });
      });
      root.querySelectorAll('button i.fa').forEach(function (i) { set(i, 'aria-hidden', 'true'); });
      root.querySelectorAll('.widget-toggle-button').forEach(function (b) {
        set(b, 'aria-pressed', b.classList.contains('mod-active') ? 'true' : 'false');
      });
    };
    root.dlcvApply();
    if (!root.dlcvObserver) {
      root.dlcvObserver = new MutationObserver(function () { root.dlcvApply(); });
      root.dlcvObserver.observe(root, {childList: true, subtree: true, characterData: true,
                                       attributes: true, attributeFilter: ['class']});
    }
  }
  start(0);
})(this)"""
_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
"""A transparent one-pixel GIF: the image whose load event runs the page script."""


class Picture(widgets.Image):
    """A picture of a widget (an ``ipywidgets.Image``) with its text alternative, :attr:`alt`.

    ``alt`` says what the picture shows and, where it matters, the numbers behind it
    (e.g. "output of Sobel x on camera, 512 by 512, values from -1.8 to 1.8"); a widget's
    ``draw`` sets it with the picture's ``value``, every time (see :class:`Explorer`).
    It reaches the page as the ``<img>``'s ``alt`` through the explorer's page script.
    """

    alt = traitlets.Unicode("", help="The text alternative of the picture.")

    def __init__(self, **kwargs):
        # never wider than the page (a phone is 390 px wide): shrink, keeping the aspect
        kwargs.setdefault("layout", widgets.Layout(max_width="100%", height="auto"))
        super().__init__(**kwargs)


def _description(control: widgets.Widget) -> str:
    description = getattr(control, "description", "")
    return " ".join(description.split()) if isinstance(description, str) else ""


def _tooltip(control: widgets.Widget) -> str:
    # ipywidgets 8 has tooltip (description_tooltip only as a deprecated alias), 7.7 the latter
    trait = "tooltip" if control.has_trait("tooltip") else "description_tooltip"
    text = getattr(control, trait, None) if control.has_trait(trait) else None
    return " ".join(text.split()) if isinstance(text, str) else ""


def accessible_name(control: widgets.Widget) -> str:
    """The name a control is given: its ``description`` (its visible label), else its tooltip.

    A tooltip names a control whose description is only a symbol ("✕"); one that
    contains the description refines it (eight sliders labelled
    "probability" are named "rotation probability", "scaling probability", ...: the
    name still holds the visible label, WCAG 2.5.3). The tooltip is ``tooltip`` in
    ipywidgets 8 and ``description_tooltip`` in 7.7 (see :func:`tip`). An empty string
    means the control has no name (see :meth:`Explorer.accessibility_problems`).
    """
    description, tooltip = _description(control), _tooltip(control)
    if description and description.lower() in tooltip.lower():
        return tooltip
    if tooltip and not any(c.isalnum() for c in description):  # a symbol: "✕"
        return tooltip
    return description or tooltip


def tip(text: str) -> dict:
    """Keyword arguments giving a control the tooltip ``text``, in ipywidgets 8 or 7.7.

    ``widgets.FloatText(**tip("kernel weight, row 1, column 1"))``: ``tooltip`` in 8,
    ``description_tooltip`` in 7.7. A control without a visible label is named by it.
    """
    return {"tooltip" if "tooltip" in widgets.DOMWidget.class_trait_names() else
            "description_tooltip": text}  # fmt: skip


def _descendants(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


def controls(widget: widgets.Widget) -> list[widgets.Widget]:
    """Every control a learner can change inside ``widget`` (not texts, pictures or boxes)."""
    return [
        d
        for d in _descendants(widget)
        if isinstance(d, (widgets.ValueWidget, widgets.Button))
        and isinstance(d, widgets.DOMWidget)
        and not isinstance(d, _NOT_CONTROLS)
    ]


def describe_values(values, unit: str = "") -> str:
    """``"values from -1.8 to 1.8"`` for an array (3 significant digits), for an ``alt``."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "no finite values"
    low, high = float(finite.min()), float(finite.max())
    unit = f" {unit}" if unit else ""
    if low == high:
        return f"every value {low:.3g}{unit}"
    return f"values from {low:.3g} to {high:.3g}{unit}"


def _named_by_page(control: widgets.Widget) -> bool:
    """Whether ipywidgets leaves the control unnamed in the page (the page script names it)."""
    if isinstance(control, (*_SLIDERS, *_GROUPS)):
        return True
    return accessible_name(control) != _description(control)  # no label, or a refined one


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

    Accessibility, given by this base to every explorer (WCAG 2.1: 1.1.1, 1.3.1, 2.5.3,
    4.1.2): after the subclass's ``__init__`` and after every :meth:`update`, the base
    walks the widget tree. Each control (:func:`controls`) is named by
    :func:`accessible_name`, from its ``description``, so the name is the visible label
    (or from its tooltip when it has no visible label); each picture must be a
    :class:`Picture`, and ``draw`` sets its ``alt`` whenever it sets its ``value``. The
    names and text alternatives go to the page by a hidden HTML child (see the module
    docstring). :meth:`accessibility_problems` lists what is missing: a control without a
    name, an ``Image`` that is not a :class:`Picture`, a picture without ``alt``, and a
    picture whose value changed in an update while its ``alt`` did not.
    """

    kept = "The pictures still show the last valid setting."

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            self._building = getattr(self, "_building", 0) + 1
            try:
                init(self, *args, **kw)
            finally:
                self._building -= 1
            if self._building == 0:
                self._refresh_accessibility()

        cls.__init__ = __init__

    def __init__(self, **kwargs):
        self.message = widgets.HTML()
        self.error: str | None = None
        self.update_ms = float("nan")
        self._quiet = 0
        self._stale_alts: list[str] = []
        self._a11y_classes: dict[int, str] = {}
        self._a11y = widgets.HTML(layout=widgets.Layout(height="0px", margin="0px"))
        super().__init__(**kwargs)
        self.add_class(ROOT_CLASS)

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
        shown = [(p, p.value, getattr(p, "alt", "")) for p in self.pictures()]
        try:
            self.draw(self.compute())
        except Exception as exc:  # noqa: BLE001 - a widget update must never raise
            self.show_error(exc)
        else:
            self.error = None
            self.message.value = ""
            for picture, value, alt in shown:
                if picture.value != value and getattr(picture, "alt", "") == alt and value:
                    self._stale_alts.append(
                        f"{type(self).__name__}.draw changed a picture but not its alt ({alt!r})"
                    )
        self.update_ms = (time.perf_counter() - start) * 1000
        if not getattr(self, "_building", 0):
            self._refresh_accessibility()

    # ------------------------------------------------------------------ accessibility
    def pictures(self) -> list[widgets.Image]:
        """Every picture (``ipywidgets.Image``) on display, in the order of the layout."""
        return [d for d in _descendants(self) if isinstance(d, widgets.Image)]

    def accessibility_problems(self) -> list[str]:
        """What keeps the widget from being usable without sight; empty when nothing does."""
        problems = []
        for control in controls(self):
            if not accessible_name(control):
                kind = type(control).__name__
                article = "an" if kind[0] in "AEIOU" else "a"
                problems.append(
                    f"{article} {kind} without a description or tooltip "
                    f"(value {getattr(control, 'value', None)!r}): nothing names it"
                )
        for picture in self.pictures():
            if not isinstance(picture, Picture):
                problems.append("an ipywidgets.Image that is not a Picture: it has no alt text")
            elif picture.value and not picture.alt.strip():
                problems.append("a Picture without alt text")
        return problems + self._stale_alts

    def _refresh_accessibility(self) -> None:
        """Give the page the names and text alternatives of the current tree (see Notes)."""
        if self._a11y not in self.children:
            self.children = (*self.children, self._a11y)
        names, alts, ranges = {}, {}, {}
        for control in controls(self):
            name = accessible_name(control)
            if name and _named_by_page(control):
                names[self._a11y_class(control, "n")] = name
                if isinstance(control, _SLIDERS) and control.has_trait("min"):
                    ranges[self._a11y_class(control, "n")] = [control.min, control.max]
        for picture in self.pictures():
            if isinstance(picture, Picture) and picture.alt:
                alts[self._a11y_class(picture, "p")] = " ".join(picture.alt.split())
        data = html.escape(json.dumps({"names": names, "alts": alts, "ranges": ranges}), quote=True)
        value = (
            f'<img src="{_PIXEL}" alt="" width="1" height="1" data-dlcv-a11y="{data}" '
            f'onload="{html.escape(_PAGE_SCRIPT, quote=True)}">'
        )
        if self._a11y.value != value:
            self._a11y.value = value

    def _a11y_class(self, widget: widgets.DOMWidget, kind: str) -> str:
        """The CSS class by which the page script finds ``widget`` (given once)."""
        if id(widget) not in self._a11y_classes:
            name = f"dlcv-{kind}{len(self._a11y_classes)}"
            self._a11y_classes[id(widget)] = name
            widget.add_class(name)
        return self._a11y_classes[id(widget)]

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

    def set_scale(self, slider, scale, value) -> None:
        """Give ``slider`` the range, step and readout of ``scale`` (anything with ``low``,
        ``high``, ``step`` and ``fmt``, e.g. a detector's score scale) and ``value`` clipped
        into it, without triggering an update (:func:`set_range` inside :meth:`quiet`)."""
        value = float(np.clip(value, scale.low, scale.high))
        with self.quiet():
            set_range(slider, scale.low, scale.high, scale.step, value, scale.fmt)


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
    layout = widgets.Layout(width=f"{width}px", max_width="100%") if width else widgets.Layout()
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
