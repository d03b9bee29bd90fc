"""dlcv.driving (one frame's perception: scene overrides, lanes, detections, lights, metrics)
and dlcv.road_plot (its pictures), each checked against the library functions it joins."""

from __future__ import annotations

import doctest

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from dlcv import driving, road_plot
from dlcv.detect import box_iou, match_detections
from dlcv.driving import THRESHOLDS, candidates, frame_metrics, perceive, scene, suppress
from dlcv.grid_detector import decode_raw, detect_objects, load_road_detector
from dlcv.hog_detector import HogSvmDetector
from dlcv.lanes import cnn_lanes, hough_lanes, lane_errors, load_hough_settings, load_lane_cnn
from dlcv.layers import evaluation_mode
from dlcv.lights import hsv_rule, load_light_cnn, predict_states
from dlcv.plot import OKABE_ITO
from dlcv.render import zoom
from dlcv.scenes import CLASSES, LANE_DISTANCES, light_crops, random_scene

SEEDS = (2, 6, 12, 14)  # clean test scenes with cars, pedestrians and traffic lights


@pytest.fixture(scope="module")
def hog() -> HogSvmDetector:
    """A small HOG + SVM detector (40 training frames): the shipped one may not exist yet."""
    frames = [random_scene(s, "train") for s in range(40)]
    return HogSvmDetector().fit(frames, mining_frames=frames[:5])


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.classes, b.classes)


def _by_score(found):
    order = np.lexsort((found.classes, -np.asarray(found.scores)))
    return driving.Boxes(found.boxes[order], found.scores[order], found.classes[order])


# --- scene ------------------------------------------------------------------------------------


def test_a_scene_without_overrides_is_the_drawn_scene():
    for condition in (None, "clean", "fog"):
        drawn = random_scene(5, "test", condition)
        f = scene(5, condition=condition)
        np.testing.assert_array_equal(f.image, drawn.image)
        np.testing.assert_array_equal(f.boxes, drawn.boxes)
    np.testing.assert_array_equal(scene(5, "train").image, random_scene(5, "train").image)
    # the drawn values given again: the same frame, bit for bit (the same random stream)
    drawn = random_scene(5, "test", "clean")
    again = scene(5, lighting="day", weather="clear", curvature=0.0, shadows=0, wear=0.0,
                  condition="clean")  # fmt: skip
    np.testing.assert_array_equal(again.image, drawn.image)


@pytest.mark.parametrize(
    "change",
    [{"lighting": "dusk"}, {"lighting": "glare"}, {"weather": "fog"}, {"weather": "rain"},
     {"shadows": 5}, {"wear": 0.7}, {"lighting": "dusk", "weather": "rain", "shadows": 3}],
    ids=str,
)  # fmt: skip
def test_conditions_change_the_pixels_and_nothing_else(change):
    for seed in SEEDS:
        clean = scene(seed, condition="clean")
        other = scene(seed, condition="clean", **change)
        assert not np.array_equal(other.image, clean.image)
        for name in ("boxes", "classes", "states", "distances", "lanes", "mask"):
            np.testing.assert_array_equal(getattr(other, name), getattr(clean, name), name)
        assert other.objects == clean.objects and other.camera == clean.camera
        road_changes = {"wear": change["wear"]} if "wear" in change else {}
        assert other.road == type(clean.road)(**{**vars(clean.road), **road_changes})
        for key in ("lighting", "weather", "shadows"):
            assert other.conditions[key] == change.get(key, clean.conditions[key])


def test_each_condition_does_what_it_says():
    seed = 6
    clean = scene(seed, condition="clean")
    ground = clean.mask < 0
    ground[: int(clean.camera.horizon) + 2] = False  # the road and verge, not the sky
    dusk = scene(seed, condition="clean", lighting="dusk")
    assert dusk.image.mean() < 0.8 * clean.image.mean()
    shaded = scene(seed, condition="clean", shadows=8)
    assert shaded.image[ground].mean() < clean.image[ground].mean() - 0.02
    worn = scene(seed, condition="clean", wear=1.0)
    paint = np.zeros(clean.mask.shape, bool)  # pixels at the lane boundaries
    rows = np.flatnonzero(np.isfinite(clean.lanes).all(axis=0))
    for side in clean.lanes:
        paint[rows, np.clip(side[rows].astype(int), 0, clean.image.shape[1] - 1)] = True
    assert worn.image[paint & ground].mean() < clean.image[paint & ground].mean() - 0.05
    # the drawn scene of the test mix keeps what it drew but the one change
    mix = random_scene(seed, "test")
    fog = scene(seed, weather="fog")
    assert fog.conditions["lighting"] == mix.conditions["lighting"]
    assert fog.conditions["weather"] == "fog" and fog.road == mix.road


def test_a_curve_bends_the_lanes_and_carries_the_objects_along():
    for seed in SEEDS:
        clean = scene(seed, condition="clean")
        bent = scene(seed, condition="clean", curvature=0.008)
        assert bent.road.curvature == 0.008
        assert bent.road.offset == clean.road.offset and bent.road.heading == clean.road.heading
        truth, curved = clean.lane_points(), bent.lane_points()
        z = np.array(LANE_DISTANCES)  # the bend adds c z^2 / 2 metres sideways at distance z
        shift = 0.5 * 0.008 * z**2 / bent.camera.metres_per_pixel(bent.camera.row(z))
        both = np.isfinite(truth) & np.isfinite(curved)
        assert both[:, :3].all()
        np.testing.assert_allclose((curved - truth)[both], np.broadcast_to(shift, both.shape)[both])
        assert shift[0] < 3 < 10 < shift[-1]  # pixels: little near the car, much far ahead
        assert set(bent.objects) <= set(clean.objects)  # some may leave the frame, none come
        kept = [clean.objects.index(o) for o in bent.objects]
        np.testing.assert_array_equal(bent.states, clean.states[kept])
        far = [i for i, o in enumerate(bent.objects) if o.z > 15]
        moved = bent.boxes[far, 0] - clean.boxes[[kept[i] for i in far], 0]
        assert np.all(moved > 0), (seed, moved)  # every far object moved right with the road
    left = scene(6, condition="clean", curvature=-0.008)
    assert (
        np.nanmax(left.lane_points()[:, -1] - scene(6, condition="clean").lane_points()[:, -1]) < -5
    )


BAD_SCENES = {
    "seed -1": ({"seed": -1}, ValueError, "seed must be at least 0"),
    "seed 1.5": ({"seed": 1.5}, TypeError, "seed must be an integer"),
    "split": ({"seed": 0, "split": "dev"}, ValueError, "split must be one of"),
    "condition": ({"seed": 0, "condition": "snow"}, ValueError, "condition must be one of"),
    "lighting": ({"seed": 0, "lighting": "night"}, ValueError, "lighting must be one of"),
    "weather": ({"seed": 0, "weather": "snow"}, ValueError, "weather must be one of"),
    "curvature 0.05": ({"seed": 0, "curvature": 0.05}, ValueError, "curvature must be within"),
    "curvature text": ({"seed": 0, "curvature": "0.01"}, TypeError, "curvature must be a number"),
    "curvature True": ({"seed": 0, "curvature": True}, TypeError, "curvature must be a number"),
    "curvature nan": ({"seed": 0, "curvature": np.nan}, ValueError, "curvature must be a finite"),
    "shadows 1.5": ({"seed": 0, "shadows": 1.5}, TypeError, "shadows must be an integer"),
    "shadows 13": ({"seed": 0, "shadows": 13}, ValueError, "shadows must be at most 12"),
    "shadows -1": ({"seed": 0, "shadows": -1}, ValueError, "shadows must be at least 0"),
    "wear 2": ({"seed": 0, "wear": 2}, ValueError, "wear must be between 0 and 1"),
    "wear text": ({"seed": 0, "wear": "all"}, TypeError, "wear must be a number"),
}


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_SCENES.values(), ids=BAD_SCENES)
def test_scene_rejects_bad_arguments_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        scene(**kwargs)


# --- perceive: each part is what the library function it calls gives -------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_perceive_runs_the_chapters_methods(seed):
    frame = scene(seed, condition="clean")
    p = perceive(frame)
    assert (p.detector, p.score_threshold, p.iou_threshold) == ("grid CNN", 0.5, 0.5)
    assert p.distances == LANE_DISTANCES
    # lanes
    np.testing.assert_array_equal(p.lanes["truth"], frame.lane_points())
    settings = load_hough_settings()  # chosen on validation, not the defaults
    np.testing.assert_array_equal(
        p.lanes["hough"], hough_lanes(frame.image, frame.camera, settings)
    )
    np.testing.assert_array_equal(p.lanes["cnn"], cnn_lanes(load_lane_cnn(), frame.image))
    for method in ("hough", "cnn"):
        pixels, metres = lane_errors(p.lanes[method][None], [frame])
        np.testing.assert_array_equal(p.lane_pixels[method], pixels[0])
        np.testing.assert_array_equal(p.lane_metres[method], metres[0])
        np.testing.assert_array_equal(p.metrics.lane_metres[method], metres[0])
        np.testing.assert_array_equal(p.metrics.lane_error(method, 30.0), metres[0, :, -1])
    # detections: after NMS as detect_objects gives them, before NMS as decode_raw
    model, x = load_road_detector(), frame.image.transpose(2, 0, 1)[None]
    _same(p.after, detect_objects(model, x, 0.5, 0.5)[0])
    with evaluation_mode(model):
        raw = decode_raw(model.forward(x), 0.5, image_shape=x.shape[2:])[0]
    _same(p.before, raw)
    assert len(p.candidates.scores) >= len(p.before.scores) >= len(p.after.scores)
    assert np.all(p.candidates.scores >= THRESHOLDS["grid CNN"].low)
    # lights: from the true boxes, by the fitted rule and the shipped CNN
    crops, states, _ = light_crops([frame])
    np.testing.assert_array_equal(p.lights.truth, states)
    np.testing.assert_array_equal(p.lights.boxes, frame.boxes[frame.classes == 2])
    if len(crops):
        np.testing.assert_array_equal(p.lights.hsv, hsv_rule(crops, **driving.light_rule()))
        np.testing.assert_array_equal(p.lights.cnn, predict_states(load_light_cnn(), crops))
    rule = load_light_cnn().metadata["hsv_rule"]
    assert driving.light_rule()["saturation"] == rule["saturation"] == 0.25


def test_the_light_readers_score_every_light_of_the_frames():
    right, total = {"HSV rule": 0, "CNN": 0}, 0
    for seed in range(40):
        frame = scene(seed, condition="clean")
        if not (frame.classes == 2).any():
            continue
        m = perceive(frame, candidates=driving.Boxes(np.zeros((0, 4)), np.zeros(0),
                                                     np.zeros(0, np.int64))).metrics  # fmt: skip
        assert m.lights == int((frame.classes == 2).sum())
        total += m.lights
        for key in right:
            right[key] += m.lights_right[key]
    assert total >= 10
    assert right["CNN"] >= total - 1 and right["HSV rule"] >= total - 2  # clean daylight


def _direct_counts(after, frame):
    """Found / missed / false by match_detections, class by class, written out again."""
    found = missed = false = 0
    for kind in range(len(CLASSES)):
        d, t = after.classes == kind, frame.classes == kind
        hits = match_detections(after.boxes[d], after.scores[d], frame.boxes[t], 0.5)
        found += int((hits >= 0).sum())
        false += int((hits < 0).sum())
        missed += int(t.sum()) - int((hits >= 0).sum())
    return found, missed, false


@pytest.mark.parametrize("condition", ["clean", "glare", "fog", None])
def test_the_metrics_are_the_matches_of_the_detections(condition):
    totals = np.zeros(3, int)
    for seed in range(12):
        frame = scene(seed, condition=condition)
        found = candidates(frame)
        for threshold in (0.2, 0.5, 0.9):
            p = perceive(frame, score_threshold=threshold, candidates=found)
            m = frame_metrics(p, frame)
            assert (m.found, m.missed, m.false) == _direct_counts(p.after, frame)
            assert (m.found, m.missed, m.false) == (p.metrics.found, p.metrics.missed,
                                                    p.metrics.false)  # fmt: skip
            assert m.objects == len(frame.boxes) == m.found + m.missed
            assert len(p.after.scores) == m.found + m.false
            assert sum(r["found"] for r in m.by_class.values()) == m.found
            # each match is a true box of the detection's class, at IoU >= 0.5, found once
            hit = m.matched >= 0
            assert len(set(m.matched[hit].tolist())) == hit.sum()
            np.testing.assert_array_equal(frame.classes[m.matched[hit]], p.after.classes[hit])
            iou = box_iou(p.after.boxes[hit], frame.boxes[m.matched[hit]])
            assert np.all(np.diag(iou) >= 0.5)
            totals += (m.found, m.missed, m.false)
    assert totals[0] > totals[1]  # the shipped detector finds most objects


def test_the_threshold_and_nms_only_select_among_the_candidates():
    frame = scene(2, condition="clean")
    found = candidates(frame)
    everything = perceive(frame, score_threshold=THRESHOLDS["grid CNN"].low, iou_threshold=1.0)
    _same(everything.before, found)
    _same(everything.after, found)  # IoU threshold 1: NMS keeps every box
    counts = [len(perceive(frame, score_threshold=t).before.scores) for t in (0.05, 0.3, 0.6, 1)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    low = perceive(frame, iou_threshold=0.1)
    high = perceive(frame, iou_threshold=0.9)
    assert len(low.after.scores) <= len(high.after.scores) <= len(high.before.scores)
    again = perceive(frame, score_threshold=0.3, iou_threshold=0.3, candidates=found)
    _same(again.after, perceive(frame, score_threshold=0.3, iou_threshold=0.3).after)
    before, after = suppress(found, 0.3, 0.3)
    _same(after, again.after)
    _same(before, again.before)


def test_hog_and_svm_run_as_the_detector_runs_itself(hog):
    frame = scene(6, condition="clean")
    p = perceive(frame, "HOG + SVM", model=hog)
    assert p.score_threshold == 0.0 and THRESHOLDS["HOG + SVM"].default == 0.0
    _same(p.after, _by_score(hog.detect(frame.image, score_threshold=0.0, iou_threshold=0.5)))
    _same(p.before, _by_score(hog.detect(frame.image, score_threshold=0.0, raw=True)))
    found = candidates(frame, "HOG + SVM", model=hog)
    assert np.all(found.scores >= -1.0) and len(found.scores) >= len(p.before.scores)
    tight = perceive(frame, "HOG + SVM", 0.5, 0.3, model=hog, candidates=found)
    _same(tight.after, _by_score(hog.detect(frame.image, score_threshold=0.5, iou_threshold=0.3)))
    m = tight.metrics
    assert (m.found, m.missed, m.false) == _direct_counts(tight.after, frame)
    np.testing.assert_array_equal(tight.lanes["cnn"], p.lanes["cnn"])  # lanes: no detector


def test_the_hog_detector_file_missing_is_explained(monkeypatch, tmp_path):
    import dlcv.data

    monkeypatch.setattr(dlcv.data, "asset_path", lambda name: tmp_path / name)
    with pytest.raises(FileNotFoundError, match="scripts/hog_detector.py"):
        driving.load_detector("HOG + SVM")
    with pytest.raises(FileNotFoundError, match="hog_detector.npz is missing"):
        perceive(scene(0), "HOG + SVM")


def _boxes():
    return driving.Boxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))


BAD_PERCEIVE = {
    "frame": (lambda f: perceive(f.image), TypeError, "frame must be a dlcv.scenes.Frame"),
    "detector": (lambda f: perceive(f, "YOLO"), ValueError, "detector must be one of"),
    "score text": (lambda f: perceive(f, score_threshold="high"), TypeError, "score_threshold"),
    "score below": (lambda f: perceive(f, score_threshold=0.001), ValueError,
                    "score_threshold must be at least 0.01 and at most 1"),
    "score above": (lambda f: perceive(f, score_threshold=1.5), ValueError, "at most 1"),
    "hog score below": (lambda f: perceive(f, "HOG + SVM", -2.0), ValueError,
                        "score_threshold must be at least -1 for the HOG"),
    "iou 0": (lambda f: perceive(f, iou_threshold=0), ValueError, "iou_threshold"),
    "iou 1.5": (lambda f: perceive(f, iou_threshold=1.5), ValueError, "iou_threshold"),
    "model": (lambda f: perceive(f, model=HogSvmDetector()), TypeError,
              "model must be a grid detector"),
    "hog model": (lambda f: perceive(f, "HOG + SVM", model=load_road_detector()), TypeError,
                  "model must be a dlcv.hog_detector.HogSvmDetector"),
    "candidates": (lambda f: perceive(f, candidates=[1, 2]), TypeError, "candidates must have"),
    "candidates shapes": (lambda f: perceive(f, candidates=driving.Boxes(np.zeros((2, 4)),
                          np.zeros(3), np.zeros(2))), ValueError, "candidates must hold"),
    "metrics perception": (lambda f: frame_metrics(f, f), TypeError, "perception must be"),
    "metrics frame": (lambda f: frame_metrics(perceive(f, candidates=_boxes()), None),
                      TypeError, "frame must be"),
    "lane distance": (lambda f: perceive(f, candidates=_boxes()).metrics.lane_error("cnn", 7),
                      ValueError, "distance must be one of"),
    "lane method": (lambda f: perceive(f, candidates=_boxes()).metrics.lane_error("sobel", 5),
                    ValueError, "method must be one of"),
    "suppress found": (lambda f: suppress(None, 0.5), TypeError, "found must have"),
    "suppress iou": (lambda f: suppress(_boxes(), 0.5, 0), ValueError, "iou_threshold"),
    "candidates frame": (lambda f: candidates("frame"), TypeError, "frame must be"),
    "load detector": (lambda f: driving.load_detector("SSD"), ValueError, "detector must be"),
}  # fmt: skip


@pytest.mark.parametrize(("call", "error", "match"), BAD_PERCEIVE.values(), ids=BAD_PERCEIVE)
def test_perceive_rejects_bad_arguments_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call(scene(0, condition="clean"))


def test_the_docstring_examples():
    assert doctest.testmod(driving, optionflags=doctest.ELLIPSIS).failed == 0


# --- road_plot ------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def test_frame_picture_enlarges_and_draws_each_method_in_its_colour():
    frame = scene(6, condition="clean")
    p = perceive(frame)
    plain = road_plot.frame_picture(frame, p, lanes=(), boxes=None, lights=False)
    np.testing.assert_array_equal(plain, zoom(np.round(frame.image * 255).astype(np.uint8), 3))
    assert plain.shape == (288, 384, 3) and plain.dtype == np.uint8
    for method in ("truth", "hough", "cnn"):
        picture = road_plot.frame_picture(frame, p, lanes=(method,), boxes=None, lights=False)
        colour = _rgb(road_plot.LANE_STYLES[method].colour)
        u, v = p.lanes[method], frame.camera.row(np.array(LANE_DISTANCES))
        for side in range(2):
            for d in range(len(LANE_DISTANCES)):
                if np.isfinite(u[side, d]) and 0 <= u[side, d] * 3 < 383:
                    pixel = picture[int(v[d] * 3), int(u[side, d] * 3)]
                    assert tuple(pixel) == colour, (method, side, d)
    boxed = road_plot.frame_picture(frame, p, lanes=(), boxes="truth", lights=False)
    for (x1, y1, x2, _), kind in zip(frame.boxes * 3, frame.classes, strict=True):
        top = boxed[round(y1), round(x1) + 2 : round(x2) - 3]
        assert np.all(top == _rgb(road_plot.CLASS_COLOURS[CLASSES[kind]]))
    assert len(set(road_plot.CLASS_COLOURS.values()) | {s.colour for s in
               road_plot.LANE_STYLES.values()}) == 6 <= len(OKABE_ITO)  # fmt: skip
    assert len({s.marker for s in road_plot.LANE_STYLES.values()}) == 3
    lit = road_plot.frame_picture(frame, p, lanes=(), boxes=None, lights=True)
    assert not np.array_equal(lit, plain)  # the states are written
    before = road_plot.frame_picture(frame, p, lanes=(), boxes="before NMS", lights=False)
    after = road_plot.frame_picture(frame, p, lanes=(), boxes="after NMS", lights=False)
    assert not np.array_equal(before, after)


def test_draw_frame_and_the_conditions_figure():
    matplotlib.use("Agg")
    frame = scene(6, condition="clean")
    p = perceive(frame)
    fig = Figure()
    ax = fig.add_subplot()
    assert road_plot.draw_frame(ax, frame, p, title="scene 6") is ax
    labels = [line.get_label() for line in ax.lines]
    assert {"truth", "Hough", "CNN"} <= set(labels) and ax.get_title() == "scene 6"
    assert len(ax.patches) == len(p.after.scores)
    assert any("HSV" in t.get_text() and "CNN" in t.get_text() for t in ax.texts)
    ax2 = fig.add_subplot(2, 1, 2)
    road_plot.draw_frame(ax2, frame, lanes=("truth",), boxes="truth", lights=False)
    assert len(ax2.patches) == len(frame.boxes)
    fig = road_plot.conditions_figure(6, ("clean", "fog"))
    axes = fig.get_axes()
    assert isinstance(fig, Figure) and len(axes) == 6
    titles = [a.get_title() for a in axes]
    assert titles[0].startswith("Hough lanes") and "at 30 m" in titles[1]
    assert titles[2].startswith("grid CNN") and "found" in titles[5]
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["clean", "fog"]
    assert fig.legends and "scene 6 of the test split" in fig.get_suptitle()
    m = perceive(scene(6, condition="fog")).metrics
    assert f"found {m.found} of {m.objects}, {m.false} false" in titles[5]
    fig = road_plot.conditions_figure([6, 2], ("clean", "worn"))
    assert fig.get_axes()[3].get_ylabel() == "worn (scene 2)"


BAD_PLOTS = {
    "frame": (lambda f, p: road_plot.frame_picture(f.image), TypeError, "frame must be"),
    "perception": (lambda f, p: road_plot.frame_picture(f, "p"), TypeError, "perception must"),
    "lanes": (lambda f, p: road_plot.frame_picture(f, p, lanes=("sobel",)), ValueError,
              "lanes must be one of"),
    "lanes type": (lambda f, p: road_plot.frame_picture(f, p, lanes=3), TypeError, "lanes must"),
    "boxes": (lambda f, p: road_plot.frame_picture(f, p, boxes="all"), ValueError,
              "boxes must be one of"),
    "lights": (lambda f, p: road_plot.frame_picture(f, p, lights="yes"), TypeError, "lights"),
    "factor": (lambda f, p: road_plot.frame_picture(f, p, factor=0), ValueError, "factor"),
    "factor float": (lambda f, p: road_plot.frame_picture(f, p, factor=2.0), TypeError,
                     "factor"),
    "condition": (lambda f, p: road_plot.conditions_figure(0, ("snow",)), ValueError,
                  "conditions must be one of"),
    "no condition": (lambda f, p: road_plot.conditions_figure(0, ()), ValueError,
                     "at least one condition"),
    "seeds": (lambda f, p: road_plot.conditions_figure([1, 2, 3], ("clean", "fog")), ValueError,
              "3 seeds for 2 conditions"),
    "seed": (lambda f, p: road_plot.conditions_figure(-1, ("clean",)), ValueError, "seeds"),
    "detector": (lambda f, p: road_plot.conditions_figure(0, ("clean",), "SSD"), ValueError,
                 "detector must be one of"),
    "summary": (lambda f, p: road_plot.lane_summary(p, "truth"), ValueError, "method"),
}  # fmt: skip


@pytest.mark.parametrize(("call", "error", "match"), BAD_PLOTS.values(), ids=BAD_PLOTS)
def test_the_plots_reject_bad_arguments_by_name(call, error, match):
    frame = scene(0, condition="clean")
    with pytest.raises(error, match=match):
        call(frame, perceive(frame, candidates=_boxes()))
