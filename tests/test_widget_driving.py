"""The driving explorer of chapter 11 (dlcv.widgets.driving.DrivingExplorer)."""

from __future__ import annotations

import html
import io

import numpy as np
import pytest
from PIL import Image

from dlcv import driving
from dlcv.driving import THRESHOLDS
from dlcv.hog_detector import HogSvmDetector
from dlcv.road_plot import frame_picture
from dlcv.scenes import random_scene
from dlcv.widgets.driving import BOX_CHOICES, DrivingExplorer, driving_explorer


def _decode(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


@pytest.fixture(scope="module")
def hog() -> HogSvmDetector:
    """A small HOG + SVM detector (40 training frames): the shipped one may not exist yet."""
    frames = [random_scene(s, "train") for s in range(40)]
    return HogSvmDetector().fit(frames, mining_frames=frames[:5])


@pytest.fixture()
def explorer() -> DrivingExplorer:
    return DrivingExplorer()


@pytest.fixture()
def runs(monkeypatch) -> dict:
    """Every detector run and every frame rendered by the widget."""
    calls = {"candidates": [], "scene": []}
    real_candidates, real_scene = driving.candidates, driving.scene

    def counted_candidates(frame, detector="grid CNN", model=None):
        calls["candidates"].append(detector)
        return real_candidates(frame, detector, model)

    def counted_scene(*args, **kwargs):
        calls["scene"].append(args)
        return real_scene(*args, **kwargs)

    monkeypatch.setattr(driving, "candidates", counted_candidates)
    monkeypatch.setattr(driving, "scene", counted_scene)
    return calls


def _state(w: DrivingExplorer) -> tuple:
    return bytes(w.view.value), w.metrics.value


def test_the_default_widget_shows_scene_6_and_its_scores(explorer):
    assert explorer.error is None and explorer.message.value == ""
    assert explorer.update_ms > 0
    result = explorer.compute()
    frame = driving.scene(6, condition="clean")
    np.testing.assert_array_equal(result.frame.image, frame.image)
    assert _decode(explorer.view.value).shape == (288, 384, 3)  # 3 times 96 x 128
    p = driving.perceive(frame)
    np.testing.assert_array_equal(result.perception.after.boxes, p.after.boxes)
    np.testing.assert_array_equal(result.picture, frame_picture(frame, p))
    m = p.metrics
    text = explorer.metrics.value
    assert f"{m.objects} in the frame, <b>{m.found} found</b>, {m.missed} missed" in text
    for method in ("hough", "cnn"):
        for d in (5.0, 30.0):
            for e in m.lane_error(method, d):
                assert f"{e:.2f} m" in text
    assert "5 m ahead" in text and "30 m ahead" in text
    assert "true green: HSV green ✓, CNN green ✓" in text
    assert "Test scene 6</b>: day, clear, straight road" in explorer.title.value
    assert "ms" not in text  # no update time on display
    assert explorer.radius.value == "<small>straight road</small>"


CHANGES = [
    ("seed", 12), ("lighting", "glare"), ("weather", "fog"), ("curvature", 0.006),
    ("shadows", 6), ("wear", 0.8),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_condition_changes_the_frame_picture_and_scores(explorer, name, value):
    before, frame = _state(explorer), explorer.compute().frame
    getattr(explorer, name).value = value
    assert explorer.error is None, explorer.error
    result = explorer.compute()
    assert not np.array_equal(result.frame.image, frame.image)
    assert bytes(explorer.view.value) != before[0]
    kwargs = {"lighting": "day", "weather": "clear", "curvature": 0.0, "shadows": 0,
              "wear": 0.0, name: value}  # fmt: skip
    seed = kwargs.pop("seed", 6)
    np.testing.assert_array_equal(
        result.frame.image, driving.scene(seed, "test", condition="clean", **kwargs).image
    )


def test_the_curvature_shows_its_radius(explorer):
    explorer.curvature.value = 0.005
    assert explorer.radius.value == "<small>bends right, radius 200 m</small>"
    explorer.curvature.value = -0.0025
    assert "bends left, radius 400 m" in explorer.radius.value
    assert "bends left, radius 400 m" in explorer.title.value


def test_the_display_toggles_change_the_picture_not_the_scores(explorer, runs):
    pictures, metrics = {bytes(explorer.view.value)}, explorer.metrics.value
    for method, box in explorer.lanes.items():
        box.value = False
        assert explorer.error is None
        pictures.add(bytes(explorer.view.value))
        assert method not in explorer.compute().picture_lanes
    explorer.lights.value = False
    pictures.add(bytes(explorer.view.value))
    for choice in BOX_CHOICES[1:]:
        explorer.boxes.value = choice
        pictures.add(bytes(explorer.view.value))
    assert len(pictures) == 1 + 3 + 1 + 3  # every toggle changed the picture
    assert explorer.metrics.value == metrics
    plain = explorer.compute()  # no lanes, no boxes, no lights: the frame enlarged
    np.testing.assert_array_equal(
        plain.picture, np.repeat(np.repeat(np.round(plain.frame.image * 255), 3, 0), 3, 1)
    )
    assert runs["candidates"] == [] and runs["scene"] == []  # nothing computed again


def test_the_threshold_and_nms_select_among_the_cached_candidates(explorer, runs):
    explorer.seed.value = 2  # two pedestrians, a car and a light
    assert runs["candidates"] == ["grid CNN"]
    explorer.boxes.value = "before NMS"
    counts = []
    for t in (0.05, 0.3, 0.6, 0.95):
        explorer.threshold.value = t
        assert explorer.error is None
        result = explorer.compute()
        assert np.all(result.perception.before.scores >= t)
        counts.append(len(result.perception.before.scores))
        assert f"{counts[-1]} at the threshold before NMS" in explorer.metrics.value
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    explorer.threshold.value = 0.05
    explorer.iou.value = 1.0  # NMS keeps every box
    p = explorer.compute().perception
    assert len(p.after.scores) == len(p.before.scores)
    explorer.iou.value = 0.1
    assert len(explorer.compute().perception.after.scores) < len(p.after.scores)
    assert runs["candidates"] == ["grid CNN"]  # the detector ran once for the scene
    explorer.seed.value = 6  # the first scene, and back: both kept
    explorer.seed.value = 2
    assert runs["candidates"] == ["grid CNN"] and len(runs["scene"]) == 1


def test_hog_and_svm_run_once_per_frame_and_keep_their_threshold(hog, runs, monkeypatch):
    w = DrivingExplorer(hog=hog)
    w.threshold.value = 0.7
    updates = []
    compute = w.compute
    monkeypatch.setattr(w, "compute", lambda: updates.append(1) or compute())
    w.detector.value = "HOG + SVM"
    assert w.error is None, w.error
    scale, slider = THRESHOLDS["HOG + SVM"], w.threshold
    assert (slider.min, slider.max, slider.step, slider.value) == (-1.0, 2.0, 0.05, 0.0)
    assert len(updates) == 1  # one update for the change of detector (the slider is quiet)
    result = compute()
    assert result.perception.detector == "HOG + SVM"
    assert "HOG + SVM, score ≥ 0.00" in w.metrics.value and "margin" in w.caption.value
    after = driving.perceive(result.frame, "HOG + SVM", model=hog).after
    np.testing.assert_array_equal(result.perception.after.boxes, after.boxes)
    slow = w.update_ms
    w.threshold.value = 0.5  # cached: no new HOG run
    assert w.update_ms < slow / 4, (w.update_ms, slow)
    w.detector.value = "grid CNN"
    assert w.threshold.value == 0.7  # each detector keeps its last threshold
    w.detector.value = "HOG + SVM"
    assert w.threshold.value == 0.5 and scale.default == 0.0
    assert runs["candidates"] == ["grid CNN", "HOG + SVM"]


def test_bad_values_show_an_error_and_the_widget_keeps_working(explorer, monkeypatch):
    before = _state(explorer)
    explorer.seed.value = -3  # as a learner types it
    assert explorer.error == "seed must be at least 0, got -3"
    assert html.escape(explorer.error) in explorer.message.value
    assert _state(explorer) == before
    explorer.seed.value = 4
    assert explorer.error is None and explorer.message.value == ""
    shown = _state(explorer)
    assert shown != before

    def missing(detector):
        raise FileNotFoundError("lib/dlcv/assets/hog_detector.npz is missing: run <script>")

    monkeypatch.setattr(driving, "load_detector", missing)
    explorer.detector.value = "HOG + SVM"  # no file yet: explained, nothing raised
    assert explorer.error.startswith("FileNotFoundError: ")
    assert "&lt;script&gt;" in explorer.message.value and "<script>" not in explorer.message.value
    assert _state(explorer) == shown
    explorer.detector.value = "grid CNN"
    assert explorer.error is None and _state(explorer) == shown


def test_compute_changes_no_widget_value(hog):
    w = DrivingExplorer(seed=2, detector="HOG + SVM", hog=hog, threshold=0.2)
    w.boxes.value, w.lighting.value, w.curvature.value = "before NMS", "dusk", -0.004
    controls = [w.seed, w.lighting, w.weather, w.curvature, w.shadows, w.wear, w.boxes,
                w.detector, w.threshold, w.iou, w.lights, *w.lanes.values()]  # fmt: skip
    shown = [w.view, w.title, w.radius, w.metrics, w.caption, w.message]
    states = [c.get_state() for c in [*controls, *shown]]
    assert w.compute().perception.score_threshold == 0.2
    assert [c.get_state() for c in [*controls, *shown]] == states


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed must be at least 0"):
        DrivingExplorer(seed=-1)
    with pytest.raises(ValueError, match="detector must be one of"):
        DrivingExplorer(detector="YOLO")
    with pytest.raises(TypeError, match="hog must be a dlcv.hog_detector.HogSvmDetector"):
        DrivingExplorer(hog="detector")
    with pytest.raises(TypeError, match="threshold must be a number"):
        DrivingExplorer(threshold="high")
    w = driving_explorer(seed=3)
    assert isinstance(w, DrivingExplorer) and w.seed.value == 3 and repr(w) == "DrivingExplorer()"
