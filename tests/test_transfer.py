"""dlcv.transfer: target data, labelled budgets, features, freezing and fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from dlcv.data import ThreeWaySplit
from dlcv.models import load_lenet_mnist
from dlcv.optim import SGD, Adam
from dlcv.train import activations, fit
from dlcv.transfer import (
    DEPTHS,
    WAYS,
    budget_indices,
    digits_as_mnist,
    features,
    fine_tune,
    hog_features,
    keep_best_lr,
    linear_probe,
    load_target_digits,
    load_target_faces,
    prepare,
)


@pytest.fixture(scope="module")
def digits():
    return load_target_digits()


def test_digits_as_mnist_scales_pads_and_centres_the_ink():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 17, size=(20, 8, 8))
    images[:, :, :3] = 0  # ink off centre, so that centring has to move it
    out = digits_as_mnist(images)
    assert out.shape == (20, 1, 28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    for image in out[:, 0]:
        cy, cx = ndimage.center_of_mass(image)
        assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    # total ink scales with the 20/8 enlargement (bilinear keeps the mean roughly)
    ratio = out.sum(axis=(1, 2, 3)) / (images.sum(axis=(1, 2)) / 16.0)
    assert np.all((ratio > 4.0) & (ratio < 8.0))
    assert digits_as_mnist(np.zeros((1, 8, 8))).sum() == 0  # a blank image stays blank


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((3, 28, 28)), r"shape \(N, 8, 8\), got \(3, 28, 28\)"),
        (np.full((2, 8, 8), 255.0), "counts from 0 to 16"),
    ],
)
def test_digits_as_mnist_rejects_other_images(images, match):
    with pytest.raises(ValueError, match=match):
        digits_as_mnist(images)


def test_target_parts_are_fixed_stratified_and_disjoint(digits):
    assert [len(y) for y in digits[1::2]] == [997, 300, 500]
    assert all(np.bincount(y).min() >= 29 for y in digits[1::2])
    again = load_target_digits()
    np.testing.assert_array_equal(again.x_val, digits.x_val)
    flat = [set(map(bytes, x.reshape(len(x), -1))) for x in digits[0::2]]
    assert not (flat[0] & flat[2]) and not (flat[1] & flat[2])
    faces = load_target_faces()
    assert [len(y) for y in faces[1::2]] == [100, 40, 60]
    assert faces.x_train.shape[1:] == (1, 28, 28) and set(faces.y_train) == {0, 1}


def test_budget_indices():
    y = np.repeat(np.arange(3), 20)
    idx = budget_indices(y, 5, seed=1)
    assert np.bincount(y[idx]).tolist() == [5, 5, 5] and len(set(idx)) == 15
    np.testing.assert_array_equal(idx, budget_indices(y, 5, seed=1))
    assert not np.array_equal(idx, budget_indices(y, 5, seed=2))
    np.testing.assert_array_equal(budget_indices(y, None), np.arange(60))
    with pytest.raises(ValueError, match="class 0 has only 20 images"):
        budget_indices(y, 21)
    with pytest.raises(ValueError, match="per_class must be at least 1"):
        budget_indices(y, 0)
    with pytest.raises(TypeError, match="per_class must be an integer"):
        budget_indices(y, 2.0)


def test_features_are_the_flattened_activations_at_each_depth(digits):
    model = load_lenet_mnist()
    x = digits.x_val[:7]
    acts = activations(model, x)
    sizes = {"pixels": 784, "block 1": 16 * 14 * 14, "block 2": 32 * 7 * 7, "dense": 64}
    for depth, index in DEPTHS.items():
        f = features(model, x, depth, batch_size=3)  # several batches
        assert f.shape == (7, sizes[depth])
        # batches of 3 round differently in the last bits from one batch of 7
        np.testing.assert_allclose(f, acts[index].reshape(7, -1), rtol=1e-5, atol=1e-5)
    assert (features(model, x, "dense") >= 0).all()  # after the ReLU
    with pytest.raises(ValueError, match="depth must be one of"):
        features(model, x, "logits")
    assert hog_features(x).shape == (7, 324)


def test_linear_probe_chooses_C_on_validation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] > 0).astype(int)
    clf, C, acc = linear_probe(x[:100], y[:100], x[100:], y[100:], c_grid=(1e-6, 1.0))
    assert C == 1.0 and acc > 0.9 and clf.score(x[100:], y[100:]) == acc


def test_prepare_freezes_what_each_way_says_and_leaves_the_source_alone():
    source = load_lenet_mnist()
    before = [p.copy() for _, p, _ in source.parameters()]
    trainable = {way: [layer.trainable for layer in prepare(way).layers] for way in WAYS}
    assert all(trainable["scratch"]) and all(trainable["fine-tune all"])
    assert trainable["frozen"] == [False] * 9 + [True]
    assert trainable["fine-tune dense"] == [False] * 6 + [True] * 4
    model = prepare("frozen", n_classes=2, seed=3, source=source)
    assert model.forward(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 2)
    assert model.layers[0].params["weight"] is not source.layers[0].params["weight"]
    for b, (_, p, _) in zip(before, source.parameters(), strict=True):
        np.testing.assert_array_equal(b, p)
    with pytest.raises(ValueError, match="way must be one of"):
        prepare("linear")


@pytest.mark.parametrize(
    "optimizer",
    [lambda: SGD(0.05, momentum=0.9), lambda: Adam(1e-2, weight_decay=1e-2)],
    ids=["sgd-momentum", "adam-weight-decay"],
)
def test_frozen_layers_stay_bit_for_bit_and_the_rest_trains(digits, optimizer):
    model = prepare("fine-tune dense", seed=0)
    frozen = [p.copy() for layer in model.layers[:6] for p in layer.params.values()]
    dense = model.layers[7].params["weight"].copy()
    fit(model, digits.x_train[:64], digits.y_train[:64], epochs=2, batch_size=16,
        optimizer=optimizer(), verbose=False, progress=False)  # fmt: skip
    after = [p for layer in model.layers[:6] for p in layer.params.values()]
    for a, b in zip(frozen, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(dense, model.layers[7].params["weight"])
    for layer in model.layers:
        layer.trainable = True  # unfreezing trains them again
    fit(model, digits.x_train[:64], digits.y_train[:64], epochs=1, batch_size=16,
        optimizer=optimizer(), verbose=False, progress=False)  # fmt: skip
    assert not np.array_equal(frozen[0], model.layers[0].params["weight"])


def test_fine_tune_runs_about_the_asked_steps_and_scores_validation(digits):
    small = ThreeWaySplit(*digits[:2], digits.x_val[:50], digits.y_val[:50], *digits[4:])
    model = prepare("frozen", seed=0)
    curve = fine_tune(model, small, budget_indices(digits.y_train, 1, 0), steps=20,
                      checkpoints=4, lr=1e-2)  # fmt: skip
    assert [s for s, _ in curve] == [5, 10, 15, 20]  # 10 images: one batch per epoch
    assert all(0 <= a <= 1 for _, a in curve)
    assert not model.layers[-1].training  # left in evaluation mode
    with pytest.raises(ValueError, match="steps must be at least 1"):
        fine_tune(model, small, [0], steps=0)


def test_keep_best_lr_reads_test_only_for_the_learning_rate_that_won_on_validation():
    def run(lr, seed, val, test):
        return ({"target": "digits", "way": "frozen", "budget": 5, "seed": seed, "lr": lr,
                 "val_accuracy": val, "test_accuracy": ""}, test)  # fmt: skip

    rows = keep_best_lr([run(1e-3, 0, 0.9, 0.5), run(1e-3, 1, 0.7, 0.5),
                         run(1e-2, 0, 0.85, 0.6), run(1e-2, 1, 0.85, 0.6)])  # fmt: skip
    assert [r["test_accuracy"] for r in rows] == ["", "", 0.6, 0.6]


def test_raw_target_digits_are_the_same_digits_before_conversion(digits):
    raw = load_target_digits(raw=True)
    assert raw.x_val.shape == (300, 1, 8, 8) and raw.x_val.max() == 16
    np.testing.assert_array_equal(raw.y_val, digits.y_val)
    np.testing.assert_array_equal(digits_as_mnist(raw.x_val), digits.x_val)
