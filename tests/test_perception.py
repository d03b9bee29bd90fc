"""Tests of dlcv.perception: proposals from RGB and depth, grasp points, the two kind namers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import perception as pc
from dlcv.grounding import CROP_SIZE, Candidates, crop_box, crop_colour, scene_candidates
from dlcv.tabletop import KINDS, TABLE_TOP, Camera, make_scene, render

SEEDS = range(9000, 9008)  # fresh scenes, in no part of SCENE_SEEDS


@pytest.fixture(scope="module")
def rendered():
    """(frame, bodies, positions, kinds, mask candidates) of a few fresh scenes."""
    camera, out = Camera(), []
    for seed in SEEDS:
        with make_scene(seed) as scene:
            frame = render(scene, camera)
            cands = scene_candidates(scene, camera)
            out.append((frame, [o.body for o in scene.objects],
                        np.array([o.position for o in scene.objects]),
                        [o.kind for o in scene.objects], cands))  # fmt: skip
    return out


# --- crops --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(4, 24))
def test_crop_box_is_opencv_bilinear_resize(seed, size):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    i0, j0 = int(rng.integers(0, 39)), int(rng.integers(0, 49))
    i1, j1 = int(rng.integers(i0 + 1, 41)), int(rng.integers(j0 + 1, 51))
    ours = crop_box(image, (i0, j0, i1, j1), size).astype(int)
    part = np.ascontiguousarray(image[i0:i1, j0:j1], dtype=np.float32)
    ref = cv2.resize(part, (size, size), interpolation=cv2.INTER_LINEAR)
    ref = np.round(ref.reshape(size, size, 3)).astype(int)
    assert np.abs(ours - ref).max() <= 1  # float32 against float64 rounding at .5


@pytest.mark.parametrize(
    "box, message",
    [((0, 0, 0, 5), "inside the image"), ((5, 0, 3, 5), "inside the image"),
     ((0, 0, 41, 5), "inside the image"), ((0, 0, 5), "four integers"),
     (("a", 0, 1, 1), "four integers")],
)  # fmt: skip
def test_crop_box_refuses_bad_boxes(box, message):
    with pytest.raises(ValueError, match=message):
        crop_box(np.zeros((40, 50, 3), np.uint8), box)
    with pytest.raises(ValueError, match="rgb"):
        crop_box(np.zeros((40, 50), np.uint8), (0, 0, 1, 1))


def test_mask_crops_are_crop_box_of_the_mask_box(rendered):
    frame, *_, cands = rendered[0]
    for body, crop in zip(cands.bodies, cands.crops, strict=True):
        rows, cols = np.nonzero(frame.segmentation == body)
        h, w = frame.segmentation.shape
        box = (max(rows.min() - 2, 0), max(cols.min() - 2, 0),
               min(rows.max() + 3, h), min(cols.max() + 3, w))  # fmt: skip
        np.testing.assert_array_equal(crop, crop_box(frame.rgb, box))


# --- the object mask and the proposals ----------------------------------------------------


def test_object_mask_keeps_object_pixels_only(rendered):
    for frame, bodies, *_ in rendered:
        mask, points = pc.object_mask(frame.depth)
        on_object = np.isin(frame.segmentation, bodies)
        assert mask.sum() > 0
        assert (on_object[mask]).mean() == 1.0  # nothing but objects
        assert mask[on_object].mean() > 0.85  # most of each object (not its bottom 5 mm)
        table = ~on_object & np.isfinite(frame.depth) & (points[..., 0] > 0.3)
        assert np.abs(points[table][:, 2] - TABLE_TOP).max() < 1e-3  # the table is flat


def test_without_the_region_the_arm_becomes_a_proposal(rendered):
    frame = rendered[0][0]
    everywhere = ((-5.0, 5.0), (-5.0, 5.0))
    inside = pc.propose(frame.rgb, frame.depth)
    outside = pc.propose(frame.rgb, frame.depth, region=everywhere)
    assert len(outside.crops) > len(inside.crops)


def test_propose_finds_every_object_once(rendered):
    for frame, bodies, positions, _, _ in rendered:
        for grasp in pc.GRASP_METHODS:
            found = pc.propose(frame.rgb, frame.depth, grasp=grasp)
            match = pc.match_proposals(found, frame.segmentation, bodies, positions)
            assert match.found.all() and not match.merged.any() and match.spurious == 0
            assert len(found.crops) == len(bodies)
            assert np.max(match.errors) < 0.03  # cm-level, within the gripper's slack


def test_proposals_are_consistent(rendered):
    frame = rendered[1][0]
    found = pc.propose(frame.rgb, frame.depth)
    n = len(found.crops)
    assert found.crops.shape == (n, CROP_SIZE, CROP_SIZE, 3) and found.crops.dtype == np.uint8
    assert found.points.shape == (n, 3) and found.boxes.shape == (n, 4)
    assert ((found.columns >= 0) & (found.columns <= 1)).all()
    np.testing.assert_array_equal(np.bincount(found.labels.ravel(), minlength=n + 1)[1:],
                                  found.sizes)  # fmt: skip
    for crop, box in zip(found.crops, found.boxes, strict=True):
        np.testing.assert_array_equal(crop, crop_box(frame.rgb, box))
    again = pc.propose(frame.rgb.copy(), frame.depth.copy())
    for a, b in zip(found, again, strict=True):
        np.testing.assert_array_equal(a, b)
    none = pc.propose(frame.rgb, frame.depth, min_pixels=10**6)
    assert none.crops.shape == (0, CROP_SIZE, CROP_SIZE, 3) and none.points.shape == (0, 3)
    assert (none.labels == 0).all()


def test_propose_and_object_mask_refuse_bad_input(rendered):
    frame = rendered[0][0]
    bad_depth = frame.depth.copy()
    bad_depth[3, 3] = np.nan
    with pytest.raises(ValueError, match="depth"):
        pc.object_mask(bad_depth)
    with pytest.raises(ValueError, match="depth"):
        pc.object_mask(frame.depth[:-1])
    with pytest.raises(ValueError, match="depth"):
        pc.object_mask(-frame.depth)
    with pytest.raises(TypeError, match="min_height"):
        pc.object_mask(frame.depth, min_height="5 mm")
    with pytest.raises(ValueError, match="min_height"):
        pc.object_mask(frame.depth, min_height=0)
    with pytest.raises(ValueError, match="region"):
        pc.object_mask(frame.depth, region=((0.7, 0.3), (-1, 1)))
    with pytest.raises(ValueError, match="region"):
        pc.object_mask(frame.depth, region=(0, 1))
    with pytest.raises(TypeError, match="camera"):
        pc.object_mask(frame.depth, camera="default")
    with pytest.raises(TypeError, match="rgb"):
        pc.propose(frame.rgb.astype(float), frame.depth)
    with pytest.raises(ValueError, match="rgb"):
        pc.propose(frame.rgb[:, :-1], frame.depth)
    with pytest.raises(ValueError, match="grasp"):
        pc.propose(frame.rgb, frame.depth, grasp="side")
    with pytest.raises(ValueError, match="min_pixels"):
        pc.propose(frame.rgb, frame.depth, min_pixels=0)


# --- grasp points -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_grasp_point_of_a_box_seen_from_above(seed):
    rng = np.random.default_rng(seed)
    centre, half = rng.uniform(0.3, 0.6, 2), rng.uniform(0.01, 0.04, 2)
    height = rng.uniform(0.02, 0.1)
    top = np.column_stack([rng.uniform(centre - half, centre + half, (200, 2)),
                           np.full(200, TABLE_TOP + height)])  # fmt: skip
    side = np.column_stack([centre[0] - half[0] + np.zeros(100),
                            rng.uniform(centre[1] - half[1], centre[1] + half[1], 100),
                            rng.uniform(TABLE_TOP, TABLE_TOP + height, 100)])  # fmt: skip
    points = np.vstack([top, side])
    grasp = pc.grasp_point(points, "top")
    band = points[points[:, 2] >= TABLE_TOP + height - pc.TOP_BAND]  # the top and the side's top
    np.testing.assert_allclose(grasp, [*band[:, :2].mean(axis=0), TABLE_TOP + height / 2])
    np.testing.assert_allclose(pc.grasp_point(points, "centroid"), points.mean(axis=0))
    # the near side drags the centroid towards the camera; the top rule does not lean
    assert abs(grasp[0] - centre[0]) < abs(points[:, 0].mean() - centre[0]) + 1e-3


def test_grasp_point_refuses_bad_input():
    with pytest.raises(ValueError, match="points"):
        pc.grasp_point(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="points"):
        pc.grasp_point(np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="method"):
        pc.grasp_point(np.zeros((4, 3)), "middle")


# --- matching -----------------------------------------------------------------------------


def _proposals(labels):
    n = int(labels.max())
    return pc.Proposals(np.zeros((n, CROP_SIZE, CROP_SIZE, 3), np.uint8), np.full(n, 0.5),
                        np.array([[k, 0.0, 0.0] for k in range(n)], float),
                        np.zeros((n, 4), np.int64), np.bincount(labels.ravel())[1:],
                        labels)  # fmt: skip


def test_match_counts_split_merged_missed_and_spurious():
    seg = np.full((10, 12), -1)
    seg[0:4, 0:4], seg[0:4, 6:10], seg[6:9, 0:3], seg[6:9, 6:9] = 5, 6, 7, 8
    labels = np.zeros((10, 12), int)
    labels[0:4, 0:2], labels[0:4, 2:4] = 1, 2  # body 5 split in two
    labels[6:9, 0:9] = 3  # bodies 7 and 8 merged (with the table between)
    labels[4:6, 10:12] = 4  # the table: spurious
    positions = np.zeros((4, 3))
    m = pc.match_proposals(_proposals(labels), seg, [5, 6, 7, 8], positions)
    assert m.assigned.tolist() == [5, 5, -1, -1]
    assert m.split.tolist() == [True, False, False, False]
    assert m.missed.tolist() == [False, True, True, True]
    assert m.merged.tolist() == [False, False, True, False]
    assert m.found.tolist() == [False] * 4 and m.spurious == 2 and len(m.errors) == 0
    one = np.zeros((10, 12), int)
    one[0:4, 6:10] = 1
    positions[1] = [0.0, 0.3, 0.0]
    m = pc.match_proposals(_proposals(one), seg, [5, 6, 7, 8], positions)
    assert m.found.tolist() == [False, True, False, False]
    np.testing.assert_allclose(m.errors, [0.3])
    with pytest.raises(ValueError, match="segmentation"):
        pc.match_proposals(_proposals(one), seg[:-1], [5, 6, 7, 8], positions)
    with pytest.raises(ValueError, match="positions"):
        pc.match_proposals(_proposals(one), seg, [5, 6, 7, 8], positions[:3])
    with pytest.raises(TypeError, match="proposals"):
        pc.match_proposals(one, seg, [5, 6, 7, 8], positions)


def test_as_candidates(rendered):
    frame, bodies, positions, kinds, _ = rendered[2]
    found = pc.propose(frame.rgb, frame.depth)
    match = pc.match_proposals(found, frame.segmentation, bodies, positions)
    guess = ["mug"] * len(found.crops)
    cands = pc.as_candidates(found, guess, match.assigned)
    assert isinstance(cands, Candidates) and cands.kinds == tuple(guess)
    assert cands.colours == tuple(crop_colour(c) for c in found.crops)
    assert cands.bodies == tuple(match.assigned.tolist())
    assert pc.as_candidates(found, guess).bodies == (-1,) * len(guess)
    with pytest.raises(ValueError, match="kinds"):
        pc.as_candidates(found, guess[:-1])
    with pytest.raises(ValueError, match="kinds"):
        pc.as_candidates(found, ["cup"] * len(guess))
    with pytest.raises(ValueError, match="bodies"):
        pc.as_candidates(found, guess, [1])


# --- the namers ---------------------------------------------------------------------------


def test_kind_cnn_and_crop_inputs():
    crops = np.random.default_rng(0).integers(0, 256, (3, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    x = pc.crop_inputs(crops)
    assert x.shape == (3, 3, CROP_SIZE, CROP_SIZE) and x.dtype == np.float32
    np.testing.assert_allclose(x[1, 2], crops[1, :, :, 2] / 255, rtol=1e-6)
    names, proba = pc.name_kinds(pc.kind_cnn(4, rng=0), crops)
    assert len(names) == 3 and set(names) <= set(KINDS)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert [list(KINDS)[i] for i in proba.argmax(axis=1)] == list(names)
    with pytest.raises(TypeError, match="crops"):
        pc.crop_inputs(crops.astype(float))
    with pytest.raises(ValueError, match="crops"):
        pc.crop_inputs(crops[:, :8])
    with pytest.raises(TypeError, match="model"):
        pc.name_kinds("cnn", crops)


def test_colour_histogram_against_numpy():
    rng = np.random.default_rng(1)
    crops = np.full((5, CROP_SIZE, CROP_SIZE, 3), 200, np.uint8)
    crops[:, 4:12, 4:12] = rng.integers(0, 120, (5, 8, 8, 3))
    crops[4] = 200  # no object pixel at all
    feats = pc.colour_histogram(crops, bins=4)
    assert feats.shape == (5, 65)
    for n in range(4):
        pixels = crops[n, 4:12, 4:12].reshape(-1, 3)
        ref, _ = np.histogramdd(pixels, bins=(4, 4, 4), range=[(0, 256)] * 3)
        np.testing.assert_allclose(feats[n, :64], ref.ravel() / len(pixels))
        assert feats[n, 64] == pytest.approx(64 / 256)
    assert (feats[4] == 0).all()
    with pytest.raises(ValueError, match="crops"):
        pc.colour_histogram(crops[0])


def test_histogram_namer_is_the_logistic_regression(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    crops = rng.integers(0, 256, (60, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    crops[:, :2], crops[:, -2:], crops[:, :, :2], crops[:, :, -2:] = 200, 200, 200, 200
    y = np.arange(60) % len(KINDS)
    x = pc.colour_histogram(crops)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1.0
    clf = LogisticRegression(max_iter=500).fit((x - mean) / scale, y)
    namer = pc.HistogramNamer(clf.coef_, clf.intercept_, mean, scale)
    np.testing.assert_allclose(namer.scores(crops), clf.decision_function((x - mean) / scale))
    assert namer.predict(crops) == tuple(list(KINDS)[i] for i in clf.predict((x - mean) / scale))
    back = pc.load_histogram_namer(namer.save(tmp_path / "h.npz"))
    np.testing.assert_array_equal(back.scores(crops), namer.scores(crops))
    with pytest.raises(ValueError, match="shapes"):
        pc.HistogramNamer(clf.coef_[:, :-1], clf.intercept_, mean, scale)
    with pytest.raises(ValueError, match="scale"):
        pc.HistogramNamer(clf.coef_, clf.intercept_, mean, 0 * scale)


def test_damaged_namer_files_are_refused(tmp_path):
    for loader in (pc.load_kind_cnn, pc.load_histogram_namer):
        with pytest.raises(FileNotFoundError, match="train_perception"):
            loader(tmp_path / "missing.npz")
        bad = tmp_path / "bad.npz"
        bad.write_bytes(b"not a zip file")
        with pytest.raises(ValueError, match="damaged"):
            loader(bad)
        shipped = pc.load_kind_cnn if loader is pc.load_kind_cnn else pc.load_histogram_namer
        assert shipped() is not None
    from dlcv.models import save

    wrong = tmp_path / "kinds.npz"
    save(pc.kind_cnn(4), wrong, {"kinds": ["cup"]})
    with pytest.raises(ValueError, match="kinds"):
        pc.load_kind_cnn(wrong)
    nan = pc.kind_cnn(4)
    next(iter(nan.layers[0].params.values()))[...] = np.nan
    save(nan, tmp_path / "nan.npz", {"kinds": list(KINDS)})
    with pytest.raises(ValueError, match="not finite"):
        pc.load_kind_cnn(tmp_path / "nan.npz")
    raw = dict(np.load(pc.load_histogram_namer().save(tmp_path / "h.npz")))
    raw["config"] = np.array('{"format": "other", "bins": 4}')
    np.savez(tmp_path / "h2.npz", **raw)
    with pytest.raises(ValueError, match="format"):
        pc.load_histogram_namer(tmp_path / "h2.npz")


def test_shipped_cnn_names_fresh_scenes(rendered):
    model = pc.load_kind_cnn()
    truth = [k for *_, cands in rendered for k in cands.kinds]
    crops = np.concatenate([cands.crops for *_, cands in rendered])
    names, _ = pc.name_kinds(model, crops)
    accuracy = np.mean([a == b for a, b in zip(names, truth, strict=True)])
    assert accuracy > 0.8, accuracy  # five kinds: chance is 0.2
    assert model.metadata["validation_accuracy"] > 0.8


# --- the shipped results ------------------------------------------------------------------


def test_shipped_results_load_and_add_up():
    rows, header = pc.load_naming_results()
    assert header and {r["namer"] for r in rows} == {"cnn", "histogram", "colour"}
    assert {r["part"] for r in rows} == {"validation", "test"}
    for row in rows:
        assert sum(row[f"as_{k}"] for k in KINDS) == row["n"]
        if row["kind"] != "all":
            assert row["accuracy"] == pytest.approx(row[f"as_{row['kind']}"] / row["n"], abs=1e-4)
    props, _ = pc.load_proposal_results()
    assert {(r["part"], r["grasp"]) for r in props} == {
        (p, g) for p in ("validation", "test") for g in pc.GRASP_METHODS
    }


def _copy_with(tmp_path, name, old, new):
    import importlib.resources

    text = (importlib.resources.files("dlcv") / "assets" / name).read_text()
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new, 1))


def test_damaged_results_are_refused(tmp_path):
    rows, _ = pc.load_naming_results()
    first = rows[0]
    counts = ",".join(str(first[f"as_{k}"]) for k in KINDS)
    _copy_with(tmp_path, pc.NAMING_FILE, counts, counts.replace(counts.split(",")[0],
               str(int(counts.split(",")[0]) + 1), 1))  # fmt: skip
    with pytest.raises(ValueError, match="damaged"):
        pc.load_naming_results(tmp_path)
    text = (tmp_path / pc.NAMING_FILE).read_text().splitlines()
    (tmp_path / pc.NAMING_FILE).write_text("\n".join(text[:-1] + [text[-1] + ",7"]) + "\n")
    with pytest.raises(ValueError):
        pc.load_naming_results(tmp_path)
    (tmp_path / pc.NAMING_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="train_perception"):
        pc.load_naming_results(tmp_path)


def test_damaged_proposal_results_are_refused(tmp_path):
    rows, _ = pc.load_proposal_results()
    row = rows[0]
    old = f"{row['objects']},{row['found']},{row['missed']}"
    _copy_with(tmp_path, pc.PROPOSALS_FILE, old, f"{row['objects']},{row['objects']},1")
    with pytest.raises(ValueError, match="out of order"):
        pc.load_proposal_results(tmp_path)
    _copy_with(tmp_path, pc.PROPOSALS_FILE, old, f"{row['objects']},many,{row['missed']}")
    with pytest.raises(ValueError, match="found"):
        pc.load_proposal_results(tmp_path)
