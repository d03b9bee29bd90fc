"""dlcv.lanes: the classical pipeline, the bird's-eye warp, the CNN's loss and scoring."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv import lanes
from dlcv.gradcheck import numerical_gradient, relative_error
from dlcv.layers import Dense, Sequential
from dlcv.optim import SGD, Adam
from dlcv.scenes import CAMERA, LANE_DISTANCES, Road, random_scene, render
from dlcv.train import TrainingDivergedError, minimise


@pytest.fixture(scope="module")
def clean_frames():
    return [random_scene(s, "validation", condition="clean", objects=False) for s in range(12)]


def test_hough_finds_straight_lanes_on_clean_roads(clean_frames):
    est = np.stack([lanes.hough_lanes(f.image) for f in clean_frames])
    pixels, metres = lanes.lane_errors(est, clean_frames)
    # at 5-15 m the fitted straight lines are within a pixel or two on most clean frames
    near = pixels[:, :, :3]
    assert np.nanmedian(near) < 2.0
    assert np.mean(np.nan_to_num(near, nan=99) < 4) > 0.7


def test_hough_straight_lines_miss_far_points_on_curves():
    frames = [random_scene(s, "validation", condition="curves", objects=False) for s in range(12)]
    pixels, _ = lanes.lane_errors(np.stack([lanes.hough_lanes(f.image) for f in frames]), frames)
    # a straight line through the near part of a curve is off at 30 m more than at 5 m
    assert np.nanmedian(pixels[:, :, -1]) > 2 * np.nanmedian(pixels[:, :, 0])


def test_hough_says_so_when_there_is_nothing():
    frame = render(Road(left_marking="none", right_marking="none"), seed=0)
    blank = np.full_like(frame.image, 0.4)
    assert np.isnan(lanes.hough_lanes(blank)).all()


def test_hough_segments_steps_have_the_frame_shape(clean_frames):
    grey, edges, region, segments = lanes.hough_segments(clean_frames[0].image)
    assert grey.shape == edges.shape == region.shape == CAMERA.size
    assert not edges[: int(CAMERA.horizon)].any()  # nothing above the horizon
    assert segments.ndim == 2 and segments.shape[1] == 4


def test_birds_eye_makes_lane_lines_parallel_and_metric():
    frame = render(Road(offset=0.3), seed=1, noise=0.0)
    top = lanes.birds_eye(frame.image, lateral=(-6, 6), ahead=(4, 40), resolution=0.1)
    assert top.shape == (360, 120, 3)
    grey = top.mean(axis=2)
    # the right boundary lies at X = -0.3 + 1.8 = 1.5 m -> column (1.5 + 6) / 0.1 = 75
    cols = [np.argmax(grey[r, 68:85]) + 68 for r in range(20, 340, 40)]
    assert max(cols) - min(cols) <= 2, cols
    assert abs(np.median(cols) + 0.5 - 75) <= 1.5


def test_lane_loss_gradient_matches_centred_differences():
    rng = np.random.default_rng(0)
    output = rng.normal(size=(4, 10))
    targets = rng.normal(size=(4, 10))
    targets[rng.random((4, 10)) < 0.3] = np.nan
    loss, grad = lanes.lane_loss(output, targets)
    numeric = numerical_gradient(lambda: lanes.lane_loss(output, targets)[0], output)
    assert relative_error(grad, numeric) < 1e-7
    defined = np.isfinite(targets)
    assert loss == pytest.approx(np.mean((output[defined] - targets[defined]) ** 2))
    assert np.all(grad[~defined] == 0)


def test_lane_targets_and_cnn_output_round_trip(clean_frames):
    y = lanes.lane_targets(clean_frames[:3])
    assert y.shape == (3, 2 * len(LANE_DISTANCES))
    # a "model" that outputs the targets gives back the labelled columns
    u = y.reshape(3, 2, -1) * CAMERA.size[1] + CAMERA.centre[0]
    np.testing.assert_allclose(u[0], clean_frames[0].lane_points())


def test_lane_cnn_shapes_and_cnn_input():
    model = lanes.lane_cnn(rng=0)
    x = np.zeros((2, 3, *CAMERA.size), dtype=np.float32)
    assert lanes.cnn_input(x).shape == (2, 3, 48, 64)
    assert lanes.cnn_lanes(model, x).shape == (2, 2, len(LANE_DISTANCES))
    assert lanes.cnn_lanes(model, x[0].transpose(1, 2, 0)).shape == (2, len(LANE_DISTANCES))


def test_lane_errors_in_metres_use_the_camera(clean_frames):
    truth = np.stack([f.lane_points() for f in clean_frames[:2]])
    pixels, metres = lanes.lane_errors(truth + 2.0, clean_frames[:2])
    np.testing.assert_allclose(pixels[np.isfinite(pixels)], 2.0)
    z = np.asarray(LANE_DISTANCES)
    per_pixel = CAMERA.metres_per_pixel(CAMERA.row(z))
    np.testing.assert_allclose(metres[0, 0], 2.0 * per_pixel)


def test_minimise_fits_a_regression_and_reports_divergence():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]))[:, None].astype(np.float32)
    model = Sequential([Dense(3, 1, rng=0)])
    losses = minimise(model, x, y, lanes.lane_loss, epochs=30, batch_size=32, optimizer=Adam(0.05))
    assert losses[-1] < 0.01 * losses[0]
    seen = []
    minimise(model, x, y, lanes.lane_loss, epochs=2, on_epoch=lambda e, v: seen.append((e, v)))
    assert [e for e, _ in seen] == [1, 2] and all(np.isfinite(v) for _, v in seen)
    with pytest.raises(TrainingDivergedError, match=r"at epoch \d+, batch \d+ of 4") as info:
        minimise(model, x, y, lanes.lane_loss, epochs=3, optimizer=SGD(1e12))
    assert info.value.epoch >= 1 and len(info.value.history) == info.value.epoch - 1
    with pytest.raises(ValueError, match=r"targets\[0\] has 10 rows for 256"):
        minimise(model, x, y[:10], lanes.lane_loss)
    with pytest.raises(TypeError, match="loss must be a function"):
        minimise(model, x, y, "mse")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="image must be RGB"):
        lanes.hough_lanes(np.zeros((96, 128, 4)))
    with pytest.raises(ValueError, match="image must have shape"):
        lanes.hough_lanes(np.zeros((96, 128)))
    with pytest.raises(ValueError, match="camera's frames"):
        lanes.hough_lanes(np.zeros((50, 60, 3)))
    with pytest.raises(ValueError, match="resolution"):
        lanes.birds_eye(np.zeros((96, 128, 3)), resolution=0)
    with pytest.raises(ValueError, match="same shape"):
        lanes.lane_loss(np.zeros((2, 10)), np.zeros((2, 9)))
    with pytest.raises(ValueError, match="predicted must have shape"):
        lanes.lane_errors(np.zeros((1, 2, 3)), [random_scene(0)])
    with pytest.raises(ValueError, match="images must have shape"):
        lanes.cnn_lanes(lanes.lane_cnn(), np.zeros((1, 3, 10, 10)))


def test_shipped_lane_cnn_is_the_recorded_one_and_finds_lanes():
    model = lanes.load_lane_cnn()
    assert model.metadata["epochs"] >= 1 and model.metadata["train_frames"] == 5000
    frames = [random_scene(1000 + s, "validation") for s in range(20)]  # unseen seeds
    x = np.stack([f.image.transpose(2, 0, 1) for f in frames])
    _, metres = lanes.lane_errors(lanes.cnn_lanes(model, x), frames)
    # at 5-15 m: all 120 points of these frames within 0.5 m; untrained weights: 5 %
    assert np.nanmean(metres[:, :, :3] <= 0.5) > 0.7


def test_the_chosen_hough_settings_are_the_ones_the_script_recorded():
    from importlib.resources import files

    from dlcv.lanes import load_hough_settings

    settings = load_hough_settings()
    header = (files("dlcv") / "assets" / "lane_results.csv").read_text().splitlines()
    recorded = next(line for line in header if line.startswith("# Hough settings chosen"))
    assert recorded.endswith(repr(settings))
