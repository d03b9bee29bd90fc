"""The grid detector: targets, loss (checked numerically), decoding, training, files."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv import grid_detector as gd
from dlcv.gradcheck import numerical_gradient, relative_error
from dlcv.models import load, save
from dlcv.optim import Adam
from dlcv.train import TrainingDivergedError


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def random_case(seed=0, n_classes=3):
    """Two images on a 3x4 grid of 8-pixel cells, several objects, and a random output."""
    rng = np.random.default_rng(seed)
    boxes = [
        [[2, 3, 14, 20], [20, 1, 30, 9], [9, 12, 31, 23]],
        [[0, 0, 6, 6], [17, 9, 29, 24]],
    ]
    classes = [rng.integers(0, n_classes, 3), rng.integers(0, n_classes, 2)]
    targets = gd.encode_targets(boxes, classes, (3, 4), (24, 32), n_classes=n_classes)
    return rng.normal(scale=2.0, size=(2, 5 + n_classes, 3, 4)), targets


def test_the_module_examples_hold():
    assert doctest.testmod(gd).failed == 0


def test_the_default_network_has_stride_8_and_a_few_tens_of_thousands_of_parameters():
    net = gd.grid_detector_net(3)
    assert net.n_params == 23_848
    out = net.forward(np.zeros((2, 3, 96, 128), np.float32))
    assert out.shape == (2, 8, 12, 16) and out.dtype == np.float32
    assert np.allclose(sigmoid(out[:, 0]), 0.01)  # the objectness prior of an empty image


@pytest.mark.parametrize(
    "weights", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1.0, 5.0, 1.0)], ids=["obj", "box", "cls", "sum"]
)
@pytest.mark.parametrize("pos_weight", [1.0, 3.0])
def test_the_gradient_of_the_loss_matches_centred_differences(weights, pos_weight):
    output, targets = random_case()
    assert targets.objectness.sum() == 5
    loss, doutput, _ = gd.detection_loss(output, targets, weights, pos_weight)
    numeric = numerical_gradient(
        lambda: gd.detection_loss(output, targets, weights, pos_weight)[0], output
    )
    assert doutput.shape == output.shape and doutput.dtype == np.float64
    assert np.abs(doutput).max() > 1e-3
    assert relative_error(doutput, numeric) < 1e-6


def test_the_parts_equal_their_direct_formulas():
    for seed in range(5):
        output, t = random_case(seed)
        loss, _, parts = gd.detection_loss(output, t, (0.5, 2.0, 3.0))
        y, p = t.objectness, sigmoid(output[:, 0])
        bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        n, r, c = np.nonzero(y)
        cells = output[n, :, r, c]
        pred = np.column_stack([sigmoid(cells[:, 1:3]), cells[:, 3:5]])
        box = ((pred - t.box[n, :, r, c]) ** 2).sum() / len(n)
        softmax = np.exp(cells[:, 5:]) / np.exp(cells[:, 5:]).sum(axis=1, keepdims=True)
        ce = -np.mean(np.log(softmax[np.arange(len(n)), t.classes[n, r, c]]))
        assert parts["objectness"] == pytest.approx(bce, rel=1e-12)
        assert parts["box"] == pytest.approx(box, rel=1e-12)
        assert parts["class"] == pytest.approx(ce, rel=1e-12)
        assert loss == pytest.approx(0.5 * bce + 2.0 * box + 3.0 * ce, rel=1e-12)


def test_the_loss_stays_finite_for_logits_of_plus_minus_1000():
    output, t = random_case()
    wrong = np.where(t.objectness > 0, -1000.0, 1000.0)  # every cell confidently wrong
    output[:, 0] = wrong
    output[:, 5:] = 1000.0 * np.where(np.arange(3)[None, :, None, None] == 0, 1, -1)
    loss, grad, parts = gd.detection_loss(output, t)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert parts["objectness"] == pytest.approx(1000.0)  # softplus(1000) = 1000 in every cell
    wrong_class = t.classes[t.classes >= 0] != 0
    assert parts["class"] == pytest.approx(2000.0 * wrong_class.mean())
    output[:, 0] = -wrong  # confidently right: zero loss, zero gradient
    _, grad, parts = gd.detection_loss(output, t)
    assert parts["objectness"] == 0.0 and np.abs(grad[:, 0]).max() == 0.0


def test_no_object_gives_zero_box_and_class_loss_and_float32_stays_float32():
    t = gd.encode_targets([[], np.empty((0, 4))], [[], []], (3, 4), (24, 32))
    output = np.zeros((2, 7, 3, 4), np.float32)
    loss, grad, parts = gd.detection_loss(output, t)
    assert parts["box"] == parts["class"] == 0.0
    assert loss == pytest.approx(np.log(2.0))
    assert grad.dtype == np.float32 and np.abs(grad[:, 1:]).max() == 0.0


def test_encoding_a_box_by_hand():
    t = gd.encode_targets([[[4.0, 6.0, 28.0, 14.0]]], [[2]], (3, 4), (24, 32), n_classes=3)
    assert t.objectness[0].tolist() == [[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert t.box[0, :, 1, 2] == pytest.approx([0.0, 0.25, np.log(3.0), 0.0])  # centre (16, 10)
    assert t.classes[0, 1, 2] == 2 and (t.classes == -1).sum() == 11
    assert t.dropped.tolist() == [0] and t.image_shape == (24, 32)
    assert len(t[0]) == 1 and t[0].box.shape == (1, 4, 3, 4)


def test_one_cell_keeps_the_larger_of_two_objects_and_counts_the_dropped():
    boxes = [
        [[1, 1, 5, 5], [0, 0, 8, 8], [2, 2, 6, 6], [20, 0, 28, 8]],  # three centres in cell 0
        [[10, 10, 14, 14]],
    ]
    t = gd.encode_targets(boxes, [[0, 1, 2, 0], [1]], (3, 4), (24, 32))
    assert t.dropped.tolist() == [2, 0] and t.outside.tolist() == [0, 0]
    assert t.classes[0, 0, 0] == 1  # the 8x8 box, not the 4x4 ones
    assert t.box[0, 2:, 0, 0] == pytest.approx([0.0, 0.0])
    assert t.objectness[0].sum() == 2 and t.objectness[1].sum() == 1


def test_centres_outside_the_image_are_dropped_boxes_sticking_out_are_kept():
    boxes = [[[-10, 2, 6, 6], [28, 2, 36, 6], [0, 20, 4, 28], [-2, -2, 2, 2]]]
    t = gd.encode_targets(boxes, [[0, 0, 0, 0]], (3, 4), (24, 32))
    # centres (-2, 4), (32, 4) and (2, 24) are outside (x = W, y = H are), (0, 0) inside
    assert t.outside.tolist() == [3] and t.dropped.tolist() == [3]
    assert t.objectness[0, 0, 0] == 1 and t.objectness.sum() == 1
    t = gd.encode_targets([[[-4, -4, 6, 6], [26, 16, 36, 30]]], [[0, 0]], (3, 4), (24, 32))
    assert t.dropped.tolist() == [0] and t.objectness[0, 0, 0] == t.objectness[0, 2, 3] == 1


def test_decoding_a_perfect_output_by_hand():
    output = np.full((1, 7, 3, 4), -30.0)
    output[0, 0, 1, 2] = 30.0
    output[0, 1:5, 1, 2] = [0.0, 0.0, np.log(2.0), np.log(0.5)]  # centre in the cell's middle
    output[0, 6, 1, 2] = 30.0
    (det,) = gd.decode(output, image_shape=(24, 32))
    assert det.boxes == pytest.approx(np.array([[12.0, 10.0, 28.0, 14.0]]))
    assert det.classes.tolist() == [1] and det.scores == pytest.approx([1.0])
    (det,) = gd.decode(output, stride=8)  # the same cells, given by their size
    assert det.boxes == pytest.approx(np.array([[12.0, 10.0, 28.0, 14.0]]))


@st.composite
def scenes(draw):
    """Images with objects in distinct cells, whole boxes inside the image."""
    gh, gw, stride = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.sampled_from([4, 8]))
    h, w = gh * stride, gw * stride
    boxes_list, classes_list = [], []
    for _ in range(draw(st.integers(1, 3))):
        cells = draw(st.lists(st.integers(0, gh * gw - 1), unique=True, max_size=gh * gw))
        boxes = []
        for cell in cells:
            cy = (cell // gw + draw(st.floats(0.05, 0.95))) * stride
            cx = (cell % gw + draw(st.floats(0.05, 0.95))) * stride
            half_w = draw(st.floats(0.5, 1.0)) * min(cx, w - cx)
            half_h = draw(st.floats(0.5, 1.0)) * min(cy, h - cy)
            boxes.append([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
        boxes_list.append(np.array(boxes).reshape(-1, 4))
        classes_list.append(
            np.array(
                draw(st.lists(st.integers(0, 2), min_size=len(cells), max_size=len(cells))),
                dtype=int,
            )
        )
    return boxes_list, classes_list, (gh, gw), (h, w)


@settings(max_examples=60, deadline=None)
@given(scenes())
def test_encode_then_a_perfect_output_then_decode_gives_the_boxes_back(scene):
    boxes_list, classes_list, grid, shape = scene
    t = gd.encode_targets(boxes_list, classes_list, grid, shape, n_classes=3)
    assert t.dropped.sum() == 0
    output = np.full((len(boxes_list), 8, *grid), -40.0)  # the inverse, written out here
    output[:, 0] = np.where(t.objectness > 0, 40.0, -40.0)
    n, r, c = np.nonzero(t.objectness)
    offset = t.box[n, :2, r, c]
    output[n, 1:3, r, c] = np.log(offset / (1 - offset))
    output[n, 3:5, r, c] = t.box[n, 2:, r, c]
    output[n, 5 + t.classes[n, r, c], r, c] = 40.0
    found = gd.decode(output, 0.5, 1.0, image_shape=shape)  # iou 1: NMS keeps every box
    helper = gd.decode(gd.target_output(t, 3), 0.5, 1.0, image_shape=shape)
    for boxes, classes, det, det2 in zip(boxes_list, classes_list, found, helper, strict=True):
        assert det2.boxes == pytest.approx(det.boxes, abs=1e-9)
        assert det2.classes.tolist() == det.classes.tolist()
        order = np.lexsort(boxes.T[::-1])
        got = np.lexsort(det.boxes.T[::-1])
        assert det.boxes[got] == pytest.approx(boxes[order], abs=1e-6)
        assert det.classes[got].tolist() == classes[order].tolist()
        assert np.all(det.scores > 0.999)


def test_scores_raw_detections_and_nms_per_class():
    output = np.full((1, 7, 1, 2), -20.0)
    output[0, 0] = [2.0, 1.0]  # two cells, boxes 16x8 centred at (4, 4) and (12, 4)
    output[0, 1:3] = 0.0
    output[0, 3:5] = np.array([np.log(2.0), 0.0])[:, None, None]
    output[0, 5:, 0, 0] = [3.0, 1.0]
    output[0, 5:, 0, 1] = [0.0, 2.0]
    raw = gd.decode_raw(output, 0.0, image_shape=(8, 16))[0]
    p = np.exp([3.0, 2.0]) / (np.exp([3.0, 2.0]) + np.exp([1.0, 0.0]))
    assert raw.scores == pytest.approx(sigmoid(np.array([2.0, 1.0])) * p)
    assert raw.classes.tolist() == [0, 1]
    assert raw.boxes == pytest.approx(np.array([[0, 0, 12, 8], [4, 0, 16, 8.0]]))  # clipped
    # IoU after clipping: 64 / (96 + 96 - 64) = 1/2
    both = gd.decode(output, 0.0, 0.3, image_shape=(8, 16))[0]
    assert both.classes.tolist() == [0, 1]  # different classes: NMS keeps both
    one = gd.decode(output, 0.0, 0.3, image_shape=(8, 16), class_agnostic_nms=True)[0]
    assert one.classes.tolist() == [0] and one.scores == pytest.approx(raw.scores[:1])
    assert len(gd.decode(output, 0.9, image_shape=(8, 16))[0].boxes) == 0


def bad(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_input_to_the_loss_names_the_argument():
    output, t = random_case()
    bad(lambda: gd.detection_loss(output[:, :5], t), ValueError, r"output must have shape")
    bad(lambda: gd.detection_loss(output[0], t), ValueError, r"output must have shape")
    bad(lambda: gd.detection_loss(output.astype(int), t), TypeError, "output must be")
    bad(lambda: gd.detection_loss(output[:, :, :2], t), ValueError, r"output .* and targets")
    bad(lambda: gd.detection_loss(output[:1], t), ValueError, r"output .* and targets")
    bad(lambda: gd.detection_loss(output, t.objectness), TypeError, "targets must be")
    bad(lambda: gd.detection_loss(output[:, :6], t), ValueError, "targets hold class")
    bad(lambda: gd.detection_loss(output, t, (1, 2)), ValueError, "weights must be")
    bad(lambda: gd.detection_loss(output, t, (1, -2, 1)), ValueError, "weights must be")
    bad(lambda: gd.detection_loss(output, t, pos_weight=0), ValueError, "pos_weight must be")
    bad(lambda: gd.detection_loss(output, t, pos_weight="2"), TypeError, "pos_weight must be")


def test_bad_input_to_encode_targets_names_the_argument():
    box, grid, shape = [[0, 0, 4, 4]], (3, 4), (24, 32)
    bad(lambda: gd.encode_targets([box], [[0], [1]], grid, shape), ValueError, "classes_list")
    bad(lambda: gd.encode_targets([], [], grid, shape), ValueError, "boxes_list and classes")
    bad(lambda: gd.encode_targets(np.ones((1, 1, 4)), [[0]], grid, shape), TypeError, "boxes_list")
    bad(lambda: gd.encode_targets([box], [[3]], grid, shape, 3), ValueError, r"classes_list\[0\]")
    bad(lambda: gd.encode_targets([box], [[-1]], grid, shape), ValueError, r"classes_list\[0\]")
    bad(lambda: gd.encode_targets([box], [[0, 1]], grid, shape), ValueError, r"classes_list\[0\]")
    bad(lambda: gd.encode_targets([box], [[0.0]], grid, shape), TypeError, r"classes_list\[0\]")
    nan = [box, [[0, 0, 4, 4], [1, np.nan, 3, 3]]]
    bad(
        lambda: gd.encode_targets(nan, [[0], [0, 0]], grid, shape),
        ValueError,
        r"boxes_list\[1\]\[1\]",
    )
    flat = [[[2, 2, 2, 6]]]
    bad(lambda: gd.encode_targets(flat, [[0]], grid, shape), ValueError, r"boxes_list\[0\]\[0\]")
    bad(lambda: gd.encode_targets([box], [[0]], (0, 4), shape), ValueError, "grid_shape")
    bad(lambda: gd.encode_targets([box], [[0]], grid, (24.0, 32)), TypeError, "image_shape")


def test_bad_input_to_decode_names_the_argument():
    output = np.zeros((1, 7, 3, 4))
    bad(lambda: gd.decode(output[:, :5]), ValueError, "output must have shape")
    bad(lambda: gd.decode(output.tolist()), TypeError, "output must be")
    bad(lambda: gd.decode(output, score_threshold=1.5), ValueError, "score_threshold")
    bad(lambda: gd.decode(output, score_threshold=None), TypeError, "score_threshold")
    bad(lambda: gd.decode(output, iou_threshold=0), ValueError, "iou_threshold")
    bad(lambda: gd.decode(output, stride=4, image_shape=(24, 32)), ValueError, "stride")
    bad(lambda: gd.decode(output, stride=0), ValueError, "stride")
    output[0, 2, 1, 1] = np.nan
    bad(lambda: gd.decode_raw(output), ValueError, "output .* NaN")


def squares(n, size=32, seed=0):
    """Dark noisy images with one or two bright squares of 6 to 12 pixels each."""
    rng = np.random.default_rng(seed)
    images = 0.1 * rng.random((n, 3, size, size)).astype(np.float32)
    boxes = []
    for image in images:
        placed = []
        for _ in range(rng.integers(1, 3)):
            s = int(rng.integers(6, 13))
            x, y = rng.integers(0, size - s, 2)
            image[:, y : y + s, x : x + s] = 1.0
            placed.append([x, y, x + s, y + s])
        boxes.append(np.array(placed, float))
    return images, boxes, [np.zeros(len(b), int) for b in boxes]


def test_a_short_training_run_lowers_the_loss_and_records_every_part():
    images, boxes, classes = squares(64)
    model = gd.grid_detector_net(1, width=8, rng=0)
    history = gd.train_grid_detector(
        model,
        images,
        boxes,
        classes,
        epochs=20,
        batch_size=16,
        optimizer=Adam(0.01),
        validation=squares(16, seed=1),
    )
    assert [h["epoch"] for h in history] == list(range(1, 21))
    assert {"loss", "objectness", "box", "class", "seconds", "val_loss", "val_box"} <= set(
        history[0]
    )
    assert history[-1]["loss"] < 0.25 * history[0]["loss"]
    assert history[-1]["box"] < 0.3 * history[0]["box"]
    assert history[-1]["val_loss"] < 0.5 * history[0]["val_loss"]
    assert not model.layers[0].training  # left in evaluation mode


def test_training_checks_its_data_and_reports_divergence():
    images, boxes, classes = squares(8)
    model = gd.grid_detector_net(1, width=2)
    train = gd.train_grid_detector
    bad(lambda: train(model, images[:4], boxes, classes, epochs=1), ValueError, "images has 4")
    bad(lambda: train(model, images, boxes, classes, epochs=0), ValueError, "epochs")
    bad(lambda: train(model, images[:, :1], boxes, classes, epochs=1), ValueError, "images")
    bad(
        lambda: train(model, images, boxes, classes, epochs=1, validation=images),
        TypeError,
        "validation",
    )
    two = [c + 1 for c in classes]
    bad(lambda: train(model, images, boxes, two, epochs=1), ValueError, r"classes_list\[0\]")

    class Poison:
        def step(self, model):
            for _, param, _ in model.parameters():
                param[...] = np.nan

    with pytest.raises(TrainingDivergedError, match="epoch 1, batch 2 of 2") as info:
        train(model, images, boxes, classes, epochs=1, batch_size=4, optimizer=Poison())
    assert info.value.epoch == 1 and info.value.batch == 2 and info.value.history == []


def test_the_network_survives_a_save_and_load_round_trip(tmp_path):
    model = gd.grid_detector_net(3, width=4, rng=1)
    x = np.random.default_rng(0).random((2, 3, 24, 32)).astype(np.float32)
    before = model.forward(x)
    again = load(save(model, tmp_path / "grid.npz"))
    assert np.array_equal(again.forward(x), before)


def test_detect_objects_is_decode_of_the_forward_pass_in_batches():
    from dlcv.scenes import scene_batch

    model = gd.load_road_detector()
    images, frames = scene_batch(range(5), "validation")
    found = gd.detect_objects(model, images, score_threshold=0.2, batch_size=2)
    direct = gd.decode(model.forward(images), 0.2, image_shape=images.shape[2:])
    assert len(found) == 5
    for a, b in zip(found, direct, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes, rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(a.classes, b.classes)
    assert model.metadata["made_by"].startswith("python scripts/road_detector.py")
    # the shipped network finds most objects of these frames at IoU 0.5
    from dlcv.detect import average_precision_by_class
    from dlcv.scenes import CLASSES

    aps = average_precision_by_class(found, [f.boxes for f in frames],
                                     [f.classes for f in frames], CLASSES)  # fmt: skip
    assert aps["car"]["AP50"] > 0.6


def test_detect_objects_checks_its_input():
    model = gd.load_road_detector()
    with pytest.raises(ValueError, match=r"images must be float RGB images of shape \(N, 3"):
        gd.detect_objects(model, np.zeros((2, 96, 128, 3), np.float32))
    with pytest.raises(ValueError, match="N >= 1"):
        gd.detect_objects(model, np.zeros((0, 3, 96, 128), np.float32))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        gd.detect_objects(model, np.zeros((1, 3, 96, 128), np.float32), batch_size=0)
