"""The timeline explorer of chapter 01: the controls redraw, drawn states are kept."""

import pytest

from dlcv.data import asset_path
from dlcv.milestones import load_milestones
from dlcv.widgets.timeline import TimelineExplorer


@pytest.fixture(scope="module")
def milestones():
    return load_milestones(asset_path("milestones.csv"))


def test_widget_redraws_when_controls_change(milestones):
    w = TimelineExplorer(milestones)
    first = w.image.value
    assert (
        first[:8] == b"\x89PNG\r\n\x1a\n"
        and repr(w) == f"TimelineExplorer({len(milestones)} milestones)"
    )
    n = len(milestones)
    assert w.status.value == f"Showing {n} of {n} milestones, 1956–2024."
    w.years.value = (2000, 2024)
    n = sum(2000 <= m["year"] <= 2024 for m in milestones)
    assert w.image.value != first and w.status.value.startswith(f"Showing {n} of")
    after_years = w.image.value
    w.boxes["deep"].value = False
    n = sum(2000 <= m["year"] <= 2024 and m["category"] != "deep" for m in milestones)
    assert w.image.value != after_years and w.status.value.startswith(f"Showing {n} of")


def test_a_state_seen_before_is_not_drawn_again(milestones, monkeypatch):
    w = TimelineExplorer(milestones)
    first = w.image.value
    w.years.value = (2000, 2024)

    def no_drawing(*args, **kwargs):
        raise AssertionError("the timeline was drawn again")

    monkeypatch.setattr("dlcv.widgets.timeline.plot_timeline", no_drawing)
    w.years.value = (1956, 2024)  # the first state: from the cache
    assert w.error is None and w.image.value == first


def test_which_selections_are_empty(milestones):
    w = TimelineExplorer(milestones)
    w.boxes["data"].value = False
    w.boxes["neural"].value = False
    w.boxes["deep"].value = False
    w.years.value = (2015, 2024)  # no classical milestone after 2015
    assert w.error == "No milestone of the chosen categories between 2015 and 2024."
    with pytest.raises(ValueError, match="the list is empty"):
        TimelineExplorer([])
