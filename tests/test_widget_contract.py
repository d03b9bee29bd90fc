"""The contract every widget keeps (dlcv.widgets.Explorer), checked on every widget.

Each widget is built with its defaults on real sample data. A good update leaves no
error; each bad setting, made the way a learner makes it (``control.value = ...``), and
each bad upload shows an escaped message, sets ``error``, raises nothing and keeps the
pictures; the next good setting works again. ``compute()`` changes no widget value.
Every control has an accessible name (its visible label), every picture is a
:class:`~dlcv.widgets.base.Picture` with a text alternative, and a setting that changes a
picture changes its text alternative too (``tests/test_widget_a11y.py`` checks the same in
the browser).
"""

from __future__ import annotations

import datetime
import html
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

from dlcv.data import asset_path, load_mnist
from dlcv.fairness import load_ethics_results
from dlcv.future import embed, fewshot_pool
from dlcv.milestones import load_milestones
from dlcv.models import load_lenet_mnist
from dlcv.train import predict
from dlcv.transfer import load_target_digits, load_transfer_results
from dlcv.widgets import Explorer
from dlcv.widgets.augment_explorer import AugmentExplorer
from dlcv.widgets.base import (
    ERROR_STYLE,
    ROOT_CLASS,
    Picture,
    accessible_name,
    clear_upload,
    controls,
    describe_values,
    panel,
    row,
    tip,
    uploaded_files,
)
from dlcv.widgets.driving import DrivingExplorer
from dlcv.widgets.faces import FaceExplorer
from dlcv.widgets.fairness import FairnessExplorer
from dlcv.widgets.features import FeatureExplorer
from dlcv.widgets.fewshot import FewShotExplorer
from dlcv.widgets.finetune import FineTuneExplorer
from dlcv.widgets.kernel_editor import KernelEditor
from dlcv.widgets.pooling_explorer import PoolingExplorer
from dlcv.widgets.robot import CommandExplorer
from dlcv.widgets.robustness import RobustnessExplorer
from dlcv.widgets.shape_calculator import ShapeCalculator
from dlcv.widgets.shift_explorer import ShiftExplorer
from dlcv.widgets.timeline import TimelineExplorer
from dlcv.widgets.training import DigitInspector
from uploads import pick_file


# ---------------------------------------------------------------------- the widgets
def _digit_inspector() -> DigitInspector:
    """The shipped LeNet on 30 real MNIST test digits it classifies correctly."""
    model, data = load_lenet_mnist(), load_mnist()
    x, y = data.x_test[:60], data.y_test[:60]
    right = predict(model, x) == y
    return DigitInspector(model, x[right][:30], y[right][:30])


def _face_explorer() -> FaceExplorer:
    """The Haar cascade on the shipped photo of Obama (shrunk to 320 px)."""
    return FaceExplorer(source="obama", detector="Haar cascade")


def _fewshot_explorer() -> FewShotExplorer:
    """Pixels and HOG on a small pool of test digits 5-9."""
    pool = fewshot_pool(n_candidates=6, n_queries=8)
    return FewShotExplorer(pool, {m: embed(m, pool.x) for m in ("pixels", "HOG")})


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(w, content: bytes, name: str) -> None:
    """What the browser does when a learner picks a file (ipywidgets 7 or 8)."""
    pick_file(w.upload, content, name)


def _tiny_upload_valid(w) -> None:
    _upload(w, _png(np.full((3, 3), 200, np.uint8)), "tiny.png")
    w.padding.value = "valid"


def _only(*keys):
    """Prepare the timeline explorer: only the categories ``keys`` checked."""

    def prepare(w):
        for key, box in w.boxes.items():
            box.value = key in keys

    return prepare


def _set(**values):
    """Prepare a widget: set these controls, in this order."""

    def prepare(w):
        for name, value in values.items():
            getattr(w, name).value = value

    return prepare


@dataclass(frozen=True)
class Bad:
    """A setting that cannot work: ``control(w).value = value`` (after ``prepare(w)``)."""

    what: str
    control: Callable[[Explorer], widgets.Widget]
    value: object
    prepare: Callable[[Explorer], None] | None = None


WIDGETS: dict[str, tuple[Callable[[], Explorer], tuple[Bad, ...]]] = {
    "kernel editor": (KernelEditor, (
        Bad("a weight that is not a number", lambda w: w.cells[0][0], float("nan")),
        Bad("an infinite weight", lambda w: w.cells[2][1], float("inf")),
        Bad("a 5x5 kernel on a 3x3 image, no padding", lambda w: w.preset, "gaussian_5x5",
            _tiny_upload_valid),
    )),
    "pooling explorer": (PoolingExplorer, (
        Bad("padding over half the window", lambda w: w.padding, 2),
        Bad("a window too small for its padding", lambda w: w.kernel_size, 1, _set(padding=1)),
    )),
    "shape calculator": (ShapeCalculator, (
        Bad("a kernel larger than the input", lambda w: w.rows[0].kernel, 40),
        Bad("an input smaller than the kernel", lambda w: w.in_h, 3),
        Bad("an impossible pool", lambda w: w.rows[1].padding, 2),
    )),
    "shift explorer": (ShiftExplorer, (
        Bad("a digit shifted past its pooling windows", lambda w: w.dx, 16,
            _set(image="digit", pool_size=8, stride=8)),
    )),
    "timeline explorer": (lambda: TimelineExplorer(load_milestones(asset_path("milestones.csv"))), (
        Bad("an empty selection", lambda w: w.boxes["deep"], False, _only("deep")),
        Bad("years without a milestone", lambda w: w.years, (1956, 1990), _only("data")),
    )),
    # every control of the augmentation explorer is bounded: no setting is impossible
    "augment explorer": (AugmentExplorer, ()),
    # the feature explorer's controls are a bounded slider and two menus
    "feature explorer": (lambda: FeatureExplorer(load_lenet_mnist(), load_target_digits(),
                                                 load_transfer_results()), ()),
    "fine-tune explorer": (lambda: FineTuneExplorer(load_transfer_results()), (
        Bad("random weights with the convolutions frozen", lambda w: w.frozen,
            "the convolution blocks", _set(start="random weights")),
    )),
    "digit inspector": (_digit_inspector, (
        Bad("mistakes only, when there is none", lambda w: w.show, "mistakes only"),
    )),
    # the face explorer's controls are bounded sliders, menus and toggles
    "face explorer": (_face_explorer, ()),
    # the scene number is typed; every other control of the driving explorer is bounded
    "driving explorer": (DrivingExplorer, (
        Bad("a negative scene number", lambda w: w.seed, -1),
    )),
    # every control of the robustness explorer is bounded; its strength follows the change
    "robustness explorer": (lambda: RobustnessExplorer(
        {"LeNet": load_lenet_mnist()}, load_mnist().x_test[:8], load_mnist().y_test[:8]), ()),
    # every control of the few-shot explorer is bounded; the support sliders follow the shots
    "few-shot explorer": (_fewshot_explorer, ()),
    # the fairness explorer's controls are menus and toggles over the runs that exist
    "fairness explorer": (lambda: FairnessExplorer(load_ethics_results()), ()),
    # the command is typed; a command of unknown words is answered "nothing matches"
    "command explorer": (CommandExplorer, (
        Bad("an empty command", lambda w: w.command, ""),
        Bad("a command of spaces only", lambda w: w.command, "   "),
    )),
}  # fmt: skip

BAD_SETTINGS = [
    pytest.param(name, bad, id=f"{name}: {bad.what}")
    for name, (_, bads) in WIDGETS.items()
    for bad in bads
]
_PNG = _png(np.zeros((32, 32), np.uint8))
BAD_UPLOADS = [
    pytest.param(bytes(np.random.default_rng(0).integers(0, 256, 500, np.uint8)), "noise.png",
                 id="random bytes"),
    pytest.param(_PNG[: len(_PNG) // 2], "cut.png", id="a truncated PNG"),
    pytest.param(b"<html>not a picture</html>", "<script>alert(1)</script>.png",
                 id="markup in the name"),
]  # fmt: skip
GOOD: dict[str, tuple[str, object]] = {
    "kernel editor": ("preset", "box_blur_3x3"),
    "pooling explorer": ("kernel_size", 3),
    "shift explorer": ("dx", 3),
    "timeline explorer": ("years", (1990, 2024)),
    "augment explorer": ("seed", 5),
    "feature explorer": ("index", 3),
    "fine-tune explorer": ("budget", "all"),
    "digit inspector": ("index", 2),
    "face explorer": ("angle", 10),
    "driving explorer": ("seed", 7),
    "robustness explorer": ("index", 2),
    "few-shot explorer": ("query", 3),
    "fairness explorer": ("mix", "augmented"),
    "command explorer": ("grounder", "keywords"),
}
"""Widgets with pictures -> a good setting (control attribute, value) that changes one."""
UPLOADERS: dict[str, tuple[Callable[[Explorer], object], Callable[[Explorer], None]]] = {
    "kernel editor": (lambda w: w.image_array, _set(stride=2)),
    "face explorer": (lambda w: w.compute().picture, _set(threshold=20)),
}
"""Widgets with an upload -> (the picture it works on, a good setting made afterwards)."""


@pytest.fixture(params=list(WIDGETS), name="widget")
def _widget(request) -> Explorer:
    return WIDGETS[request.param][0]()


def _descendants(w: widgets.Widget) -> list[widgets.Widget]:
    found = [w]
    for child in getattr(w, "children", ()):
        found += _descendants(child)
    return found


def _pictures(w: Explorer) -> list:
    """Every picture on display; for a widget without any, every text but the message."""
    images = [bytes(d.value) for d in _descendants(w) if isinstance(d, widgets.Image)]
    if images:
        return images
    return [
        d.value
        for d in _descendants(w)
        if isinstance(d, widgets.HTML) and d not in (w.message, w._a11y)
    ]


def _shows(w: Explorer, error: str) -> None:
    """``error`` is set and shown escaped, in the one style of every widget."""
    assert isinstance(w.error, str) and w.error == error
    assert w.message.value.startswith(f"<div style='{ERROR_STYLE}'>⚠ {html.escape(error)}")


def w_ok(w: Explorer) -> bool:
    """The last update worked: no error, an empty message."""
    return w.error is None and w.message.value == ""


# ---------------------------------------------------------------------- the contract
def test_a_good_update_shows_no_error(widget):
    assert w_ok(widget), widget.error
    widget.update_ms = float("nan")
    widget.update()
    assert w_ok(widget) and widget.update_ms > 0
    assert widget.message in _descendants(widget)  # the message is on display
    assert any(_pictures(widget))  # something is drawn


@pytest.mark.parametrize(("name", "bad"), BAD_SETTINGS)
def test_a_bad_setting_is_shown_and_the_widget_keeps_working(name, bad):
    w = WIDGETS[name][0]()
    if bad.prepare is not None:
        bad.prepare(w)
    assert w_ok(w), w.error
    before, control = _pictures(w), bad.control(w)
    good = control.value
    control.value = bad.value  # as a learner does: must not raise
    assert w.error, f"{bad.what}: no error"
    _shows(w, w.error)
    assert _pictures(w) == before, "a failed update changed the pictures"
    control.value = good
    assert w_ok(w), w.error


@pytest.mark.parametrize("uploader", list(UPLOADERS))
@pytest.mark.parametrize(("content", "name"), BAD_UPLOADS)
def test_a_bad_upload_is_shown_and_the_widget_keeps_working(uploader, content, name):
    w, (kept, good_setting) = WIDGETS[uploader][0](), UPLOADERS[uploader]
    before, image = _pictures(w), kept(w)
    _upload(w, content, name)  # must not raise
    assert name in w.error and "previous image is kept" in w.error
    _shows(w, w.error)
    assert "<script>" not in w.message.value
    assert _pictures(w) == before and kept(w) is image and not w.upload.value
    good_setting(w)
    assert w_ok(w) and kept(w) is image


def test_library_errors_are_escaped_and_bugs_named(widget, monkeypatch):
    before = _pictures(widget)

    def impossible():
        raise ValueError("<b>no</b> & <script>x</script>")

    monkeypatch.setattr(widget, "compute", impossible)
    widget.update()  # must not raise
    _shows(widget, "<b>no</b> & <script>x</script>")
    assert "<b>no</b>" not in widget.message.value and "&lt;b&gt;no&lt;/b&gt; &amp;" in (
        widget.message.value
    )
    monkeypatch.undo()

    def broken(result):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(widget, "draw", broken)
    widget.update()
    _shows(widget, "ZeroDivisionError: a bug")  # not a ValueError: its type is named
    assert _pictures(widget) == before
    monkeypatch.undo()
    widget.update()
    assert w_ok(widget)


def test_every_control_is_named_and_every_picture_has_alt_text(widget):
    assert widget.accessibility_problems() == []
    assert controls(widget) and all(accessible_name(c) for c in controls(widget))
    for picture in widget.pictures():
        assert isinstance(picture, Picture) and picture.alt.strip()
    assert ROOT_CLASS in widget._dom_classes and widget._a11y in widget.children
    page = html.unescape(widget._a11y.value)  # what the page script applies
    for picture in widget.pictures():
        assert json.dumps(" ".join(picture.alt.split())) in page


def test_the_alt_text_changes_with_the_picture():
    assert set(GOOD) == {n for n, (make, _) in WIDGETS.items()} - {"shape calculator"}
    for name, (attribute, value) in GOOD.items():
        w = WIDGETS[name][0]()
        before = [(bytes(p.value), p.alt) for p in w.pictures()]
        getattr(w, attribute).value = value
        assert w_ok(w), f"{name}: {w.error}"
        after = [(bytes(p.value), p.alt) for p in w.pictures()]
        changed = [(b, a) for b, a in zip(before, after, strict=True) if b[0] != a[0]]
        assert changed, f"{name}: setting {attribute} to {value!r} changed no picture"
        assert all(b[1] != a[1] for b, a in changed), f"{name}: a picture changed, its alt not"
        assert w.accessibility_problems() == [], name


def test_compute_changes_no_widget_value(widget):
    states = [d.get_state() for d in _descendants(widget)]
    result = widget.compute()
    assert result is not None
    assert [d.get_state() for d in _descendants(widget)] == states


# ---------------------------------------------------------------------- the base itself
class Doubler(Explorer):
    """The smallest explorer: a number in, its double out."""

    def __init__(self):
        super().__init__()
        self.number = widgets.FloatText(value=1.0)
        self.result = widgets.HTML()
        self.children = [row(self.number), self.message, panel("double", self.result)]
        self.watch(self.number)
        self.update()

    def compute(self):
        if self.number.value < 0:
            raise ValueError("the number must be >= 0 <here>")
        if self.number.value == 13:
            raise KeyError("unlucky")
        return 2 * self.number.value

    def draw(self, result):
        self.result.value = f"{result:g}"


def test_base_update_times_and_reports_errors_escaped():
    w = Doubler()
    assert (w.error, w.message.value, w.result.value) == (None, "", "2")
    assert w.update_ms > 0 and repr(w) == "Doubler()"
    w.number.value = -1
    assert w.error == "the number must be >= 0 <here>" and w.result.value == "2"
    assert "&lt;here&gt;." in w.message.value and "<here>" not in w.message.value
    w.number.value = 13
    assert w.error == "KeyError: 'unlucky'"  # not a ValueError: a bug, named
    w.number.value = 4
    assert (w.error, w.message.value, w.result.value) == (None, "", "8")


def test_base_watch_is_quiet_on_request_and_never_raises():
    w = Doubler()
    with w.quiet():
        w.number.value = 5
    assert w.result.value == "2"

    def broken(change):
        raise RuntimeError("handler failed")

    w.watch(w.number, handler=broken)
    w.number.value = 6  # update runs, then the broken handler: shown, not raised
    assert w.error == "RuntimeError: handler failed"


def test_uploads_of_ipywidgets_7_and_8():
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    v8 = ({"name": "a.png", "type": "image/png", "size": 2, "content": memoryview(b"12"),
           "last_modified": when},)  # fmt: skip
    v7 = {"a.png": {"metadata": {"name": "a.png"}, "content": b"12"}}
    assert uploaded_files(v8) == uploaded_files(v7) == [("a.png", b"12")]
    upload = widgets.FileUpload()
    pick_file(upload, b"12", "a.png")
    assert uploaded_files(upload.value) == [("a.png", b"12")]
    clear_upload(upload)
    assert not upload.value and uploaded_files(upload.value) == []


# ---------------------------------------------------------------------- accessibility
class Careless(Explorer):
    """An explorer that forgets what the base asks for: a name, a Picture, its alt."""

    def __init__(self, picture=Picture):
        super().__init__()
        self.number = widgets.IntSlider(value=1, max=9)  # no description, no tooltip
        self.view = picture(format="png")
        self.children = [self.number, self.view, self.message]
        self.watch(self.number)
        self.update()

    def compute(self):
        return _png(np.full((4, 4), 20 * self.number.value, np.uint8))

    def draw(self, result):
        if self.number.value == 1:
            self.view.alt = "a grey square"
        self.view.value = result


def test_base_refuses_an_unnamed_control_and_a_picture_without_alt():
    w = Careless()
    assert w.accessibility_problems() == [
        "an IntSlider without a description or tooltip (value 1): nothing names it"
    ]
    w.number.value = 2  # the picture changes, its alt does not
    assert "changed a picture but not its alt ('a grey square')" in w.accessibility_problems()[1]
    assert "an ipywidgets.Image that is not a Picture" in " ".join(
        Careless(widgets.Image).accessibility_problems()
    )


def test_base_names_controls_from_their_labels_for_the_page():
    slider = widgets.FloatSlider(description="probability", **tip("rotation probability"))
    assert accessible_name(slider) == "rotation probability"  # holds the visible label
    assert accessible_name(widgets.IntText(description="seed", **tip("draw again"))) == "seed"
    assert accessible_name(widgets.Button(description="✕", **tip("remove layer 2"))) == (
        "remove layer 2"
    )
    assert accessible_name(widgets.FloatText(**tip("kernel weight"))) == "kernel weight"
    assert accessible_name(widgets.FloatText()) == ""
    w = Doubler()  # a FloatText without a label: named by the page script, with a class
    assert w.accessibility_problems() == [
        "a FloatText without a description or tooltip (value 1.0): nothing names it"
    ]
    w.number.description = "number"
    w.update()
    assert w.accessibility_problems() == []
    s = widgets.IntSlider(description="size")
    w.children = (*w.children, s)
    w.update()  # a new control is named on the next update
    data = json.loads(html.unescape(w._a11y.value.split('data-dlcv-a11y="')[1].split('"')[0]))
    assert list(data["names"].values()) == ["size"] and data["alts"] == {}
    assert any(c.startswith("dlcv-n") for c in s._dom_classes)
    assert 'alt=""' in w._a11y.value and "onload=" in w._a11y.value


def test_describe_values():
    assert describe_values(np.array([-1.83, 0.0, 1.8])) == "values from -1.83 to 1.8"
    assert describe_values(np.ones(3), "m") == "every value 1 m"
    assert describe_values(np.array([np.nan])) == "no finite values"
