"""The contract every widget keeps (dlcv.widgets.Explorer), checked on every widget."""

from __future__ import annotations

import datetime

import ipywidgets as widgets

from dlcv.widgets import Explorer
from dlcv.widgets.base import clear_upload, panel, row, uploaded_files


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
    upload.value = v8
    clear_upload(upload)
    assert upload.value == ()
