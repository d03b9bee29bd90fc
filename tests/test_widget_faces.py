"""The face explorer of chapter 10 (dlcv.widgets.faces.FaceExplorer)."""

from __future__ import annotations

import html
import io

import numpy as np
import pytest
from PIL import Image

from dlcv.data import asset_path
from dlcv.face_scenes import Scene, face_scene, render
from dlcv.faces import DETECTORS, detect
from dlcv.widgets import faces as fw
from dlcv.widgets.faces import MAX_SIDE, THRESHOLDS, FaceExplorer
from uploads import pick_file

FAST = ("Haar cascade", "LBP cascade", "dlib HOG", "BlazeFace")  # the course CNN is tested once


def _decode(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGB"))


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def explorer() -> FaceExplorer:
    return FaceExplorer()


@pytest.fixture()
def runs(monkeypatch) -> list:
    """Every detector run of the widget, as (detector, fold)."""
    calls, real = [], fw.faces.detect_both

    def counted(picture, detector, *, fold=0):
        calls.append((detector, fold))
        return real(picture, detector, fold=fold)

    monkeypatch.setattr(fw.faces, "detect_both", counted)
    return calls


def test_the_default_widget_shows_a_face(explorer):
    assert explorer.error is None and explorer.message.value == ""
    assert explorer.update_ms > 0
    result = explorer.compute()
    assert (result.source, result.detector, result.threshold) == ("obama", "Haar cascade", 8)
    assert len(result.boxes) >= 1 and np.all(result.scores >= 8)
    assert result.picture.shape == (320, 256, 3) and result.original == (800, 640)  # shrunk
    assert _decode(explorer.view.value).shape == (320, 256, 3)
    assert f"{len(result.boxes)} box" in explorer.counts.value
    assert f"({result.candidates} candidates before NMS" in explorer.counts.value
    assert "800 → 256×320" in explorer.caption.value and "votes" in explorer.caption.value
    assert "ms" not in explorer.counts.value  # no update time on display


def test_the_boxes_are_drawn_in_the_one_colour(explorer):
    result = explorer.compute()
    x1, y1, x2, y2 = np.round(result.boxes[np.argmax(result.scores)]).astype(int)
    shown = _decode(explorer.view.value)
    edge = shown[y1, x1 + 5 : x2 - 5]  # the top side of the box
    assert np.all(edge == fw._hex(fw.COLOUR))


def test_the_detector_sets_the_threshold_range_quietly(explorer, runs, monkeypatch):
    updates = []
    compute = explorer.compute
    monkeypatch.setattr(explorer, "compute", lambda: updates.append(1) or compute())
    for detector in ("BlazeFace", "dlib HOG", "LBP cascade", "Haar cascade"):
        explorer.detector.value = detector
        scale, slider = THRESHOLDS[detector], explorer.threshold
        assert explorer.error is None, explorer.error
        assert (slider.min, slider.max, slider.step) == (scale.low, scale.high, scale.step)
        assert slider.value == scale.default and explorer.compute().threshold == scale.default
        assert detector in explorer.title.value
    assert len(updates) == 4 + 4  # one update per change (and the compute() calls above)
    assert runs == [(d, 0) for d in ("BlazeFace", "dlib HOG", "LBP cascade")]  # Haar: cached
    explorer.threshold.value = 20
    explorer.detector.value = "BlazeFace"
    explorer.detector.value = "Haar cascade"
    assert explorer.threshold.value == 20  # each detector keeps its last threshold


def test_the_highest_threshold_shows_fewer_boxes(explorer, runs):
    for detector in FAST:
        explorer.detector.value = detector
        n = len(explorer.compute().boxes)
        assert n >= 1, detector
        explorer.threshold.value = explorer.threshold.max
        assert explorer.error is None
        high = explorer.compute()
        assert len(high.boxes) < n and np.all(high.scores >= explorer.threshold.max), detector
    assert len(runs) == 3  # moving the threshold detects nothing again


def test_before_nms_shows_at_least_as_many_boxes(runs):
    w = FaceExplorer(source="scene 7")
    for detector in FAST:
        w.detector.value, w.boxes.value = detector, "after NMS"
        after = w.compute()
        w.boxes.value = "before NMS"
        before = w.compute()
        assert before.before_nms and len(before.boxes) >= len(after.boxes) >= 1, detector
        assert len(before.boxes) == before.candidates == after.candidates
        assert np.all(before.scores >= before.threshold)
        assert "all shown" in w.counts.value
        if detector != "dlib HOG":  # dlib keeps no candidates of its own
            w.threshold.value = w.threshold.min
            assert len(w.compute().boxes) > len(after.boxes)
    assert len(runs) == len(FAST)


def test_anonymise_pixelates_the_faces_found_and_nothing_else(explorer):
    explorer.source.value = "scene 61"
    plain = explorer.compute()
    assert len(plain.found.boxes) >= 1
    explorer.anonymise.value = True
    assert explorer.error is None
    result = explorer.compute()
    np.testing.assert_array_equal(result.picture, plain.picture)  # detection is unchanged
    inside = np.zeros(result.image.shape[:2], bool)
    for x1, y1, x2, y2 in result.found.boxes:
        inside[max(int(np.floor(y1)), 0) : int(np.ceil(y2)), max(int(np.floor(x1)), 0) :
               int(np.ceil(x2))] = True  # fmt: skip
    changed = result.image != result.picture
    assert changed[inside].any() and not changed[~inside].any()
    x1, y1, x2, y2 = result.found.boxes[0]
    cy, cx = int((y1 + y2) / 2), int((x1 + x2) / 2)
    shown = _decode(explorer.view.value)  # the scene at twice its size, pixelated
    assert shown.shape[:2] == (320, 320)
    np.testing.assert_array_equal(shown[2 * cy, 2 * cx], np.round(result.image[cy, cx] * 255))
    explorer.threshold.value = explorer.threshold.max  # no face found: nothing to hide
    result = explorer.compute()
    assert len(result.found.boxes) == 0
    np.testing.assert_array_equal(result.image, result.picture)


def test_rotation_and_brightness_are_the_chapters_conditions(explorer):
    explorer.source.value = "scene 7"
    upright = explorer.compute().picture
    np.testing.assert_array_equal(upright, render(face_scene(7), seed=7).image)
    explorer.angle.value = 45
    explorer.brightness.value = 0.25
    assert explorer.error is None
    turned = explorer.compute().picture
    assert not np.array_equal(turned, upright)
    np.testing.assert_array_equal(  # about the face's centre, as in the chapter's experiment
        turned, render(face_scene(7), angle=45, brightness=0.25, seed=7).image
    )
    assert np.allclose(turned * 255, np.round(turned * 255))  # 8 bits
    assert turned.mean() < 0.4 * upright.mean()
    # a photo turns about its centre: the centre pixel stays where it is
    explorer.source.value, explorer.brightness.value = "biden", 1.0
    photo = explorer.compute().picture
    h, w = photo.shape[:2]
    assert max(h, w) == MAX_SIDE
    explorer.angle.value = 0
    still = explorer.compute().picture
    assert not np.array_equal(photo, still)
    assert np.abs(photo[h // 2, w // 2] - still[h // 2, w // 2]).max() < 0.06
    full = Scene(fw._shrink(fw.load_photo("biden")), np.array([[0.0, 0.0, w, h]]))
    np.testing.assert_array_equal(still, render(full, seed=0).image)


def test_the_widget_runs_what_detect_runs(explorer):
    result = explorer.compute()
    after = detect(result.picture, "Haar cascade")
    np.testing.assert_array_equal(result.found.boxes, after.above(8).boxes)
    before = detect(result.picture, "Haar cascade", before_nms=True)
    assert result.all_candidates == len(before.scores)


def test_the_course_cnn_searches_a_scene_with_the_fold_that_never_saw_it():
    w = FaceExplorer(source="scene 23", detector="course CNN")  # face 23: fold 0 learned it
    assert w.error is None, w.error
    scale = THRESHOLDS["course CNN"]
    assert (w.threshold.min, w.threshold.max, w.threshold.value) == (-2, 15, scale.default)
    result = w.compute()
    assert result.fold == 1 and "fold 1" in w.title.value and "never saw" in w.caption.value
    after = detect(result.picture, "course CNN", fold=1)
    before = detect(result.picture, "course CNN", fold=1, before_nms=True)
    np.testing.assert_array_equal(result.found.scores, after.above(scale.default).scores)
    assert result.all_candidates == len(before.scores)
    w.threshold.value = -2
    assert len(w.compute().boxes) == len(after.scores)  # every candidate scores at least -2


DAMAGED = [
    (b"not an image", "notes.png"),
    (_png(np.zeros((32, 32), np.uint8))[:40], "cut.png"),
    (b"<html>x</html>", "<script>alert(1)</script>.png"),
    (_png(np.full((10, 300), 128, np.uint8)), "strip.png"),  # 10 pixels high
]


def test_a_damaged_upload_is_explained_and_the_widget_keeps_working(explorer):
    before, source = bytes(explorer.view.value), explorer.compute().picture
    for content, name in DAMAGED:
        pick_file(explorer.upload, content, name)  # must not raise
        assert explorer.error and name in explorer.error, name
        assert "previous image is kept" in explorer.error
        assert html.escape(name) in explorer.message.value and "<script>" not in (
            explorer.message.value
        )
        assert bytes(explorer.view.value) == before and explorer.source.value == "obama"
        assert not explorer.upload.value
        np.testing.assert_array_equal(explorer.compute().picture, source)
    assert "at least 24" in explorer.error  # the strip: too small to search
    explorer.detector.value = "BlazeFace"  # still works
    assert explorer.error is None
    good = asset_path("photo_obama3.jpg").read_bytes()  # 630 x 1024
    pick_file(explorer.upload, good, "me.jpg", "image/jpeg")
    assert explorer.error is None and explorer.source.value == fw.UPLOAD
    result = explorer.compute()
    assert result.source == "yours: me.jpg" and "yours: me.jpg" in explorer.title.value
    assert result.picture.shape[:2] == (320, 197) and result.original == (1024, 630)
    assert len(result.boxes) >= 1 and result.fold == 0
    picture = result.picture
    pick_file(explorer.upload, b"not an image", "again.png")  # the upload stays
    assert "again.png" in explorer.error
    np.testing.assert_array_equal(explorer.compute().picture, picture)
    explorer.source.value = "obama"
    explorer.source.value = fw.UPLOAD
    assert explorer.error is None
    np.testing.assert_array_equal(explorer.compute().picture, picture)


def test_a_new_upload_replaces_the_last(explorer):
    rng = np.random.default_rng(0)
    for shade in (60, 200):
        pixels = np.clip(rng.normal(shade, 20, (64, 96)), 0, 255).astype(np.uint8)
        pick_file(explorer.upload, _png(pixels), "same.png")
        assert explorer.error is None
        assert abs(explorer.compute().picture.mean() * 255 - shade) < 5
        assert explorer.compute().original == (64, 96)


def test_compute_changes_no_widget_value():
    w = FaceExplorer(source="scene 0", detector="LBP cascade")
    w.boxes.value, w.anonymise.value, w.angle.value = "before NMS", True, -30
    controls = [w.source, w.detector, w.angle, w.brightness, w.threshold, w.boxes, w.anonymise]
    states = [c.get_state() for c in [*controls, w.view, w.counts, w.caption, w.message]]
    w._pictures.clear(), w._found.clear()
    w.compute()
    assert [c.get_state() for c in [*controls, w.view, w.counts, w.caption, w.message]] == states


def test_bad_arguments():
    with pytest.raises(ValueError, match="source must be one of"):
        FaceExplorer(source="lena")
    with pytest.raises(ValueError, match="detector must be one of"):
        FaceExplorer(detector="YOLO")
    assert set(THRESHOLDS) == set(DETECTORS)
    for scale in THRESHOLDS.values():
        assert scale.low <= scale.default <= scale.high
