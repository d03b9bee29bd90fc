"""dlcv.train: learning, determinism, optimizer formulas, save/load and every error."""

import json
import re

import numpy as np
import pytest

from dlcv.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential
from dlcv.models import LENET_MNIST_RECIPE, lenet, load, load_lenet_mnist, save, train_lenet_mnist
from dlcv.optim import SGD, Adam
from dlcv.train import (
    TrainingDivergedError,
    activations,
    evaluate,
    fit,
    predict,
    predict_proba,
)


def _blobs(n=300, seed=0):
    """Three well separated Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, size=n)
    x = (centres[y] + rng.normal(size=(n, 2))).astype(np.float32)
    return x, y


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([Dense(2, 16, rng=rng), ReLU(), Dropout(0.1, rng=rng), Dense(16, 3, rng=rng)])


def _tiny_cnn(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(
        [
            Conv2D(1, 4, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(4 * 4 * 4, 2, rng=rng),
        ]
    )


def _bars(n=60, seed=0):
    """8x8 images with a vertical (label 0) or horizontal (label 1) bar."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.random((n, 1, 8, 8), dtype=np.float32) * 0.3
    pos = rng.integers(1, 7, size=n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, :, pos[i]] += 1
        else:
            x[i, 0, pos[i], :] += 1
    return x, y


def test_fit_learns_a_separable_problem_and_records_history():
    x, y = _blobs()
    model = _mlp()
    history = fit(
        model,
        x,
        y,
        epochs=15,
        batch_size=32,
        optimizer=Adam(0.01),
        validation=_blobs(100, seed=1),
        verbose=False,
    )
    assert history.epochs == 15
    assert len(history.val_accuracy) == len(history.accuracy) == len(history.seconds) == 15
    assert history.loss[-1] < history.loss[0]
    assert history.accuracy[-1] > 0.95
    assert history.val_accuracy[-1] > 0.95
    assert evaluate(model, *_blobs(100, seed=1))[1] == pytest.approx(history.val_accuracy[-1])
    assert not any(layer.training for layer in model.layers)  # left in evaluation mode


def test_fit_trains_a_cnn():
    x, y = _bars()
    model = _tiny_cnn()
    history = fit(
        model, x, y, epochs=10, batch_size=10, optimizer=SGD(0.1, momentum=0.9), verbose=False
    )
    assert history.accuracy[-1] == 1.0


def test_same_seed_gives_identical_weights_different_seed_does_not():
    x, y = _bars()

    def run(seed):
        model = _tiny_cnn()
        fit(model, x, y, epochs=2, batch_size=8, optimizer=Adam(0.01), seed=seed, verbose=False)
        return [p.copy() for _, p, _ in model.parameters()]

    a, b, c = run(0), run(0), run(1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_verbose_prints_one_rounded_line_per_epoch_and_no_bar_when_asked(capsys):
    x, y = _blobs(64)
    fit(_mlp(), x, y, epochs=3, batch_size=16, validation=(x, y), verbose=True, progress=False)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 3
    pattern = (
        r"epoch [123]/3  loss \d+\.\d{3}  accuracy \d+\.\d%  val_loss \d+\.\d{3}  "
        r"val_accuracy \d+\.\d%"
    )
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    assert err == ""
    fit(_mlp(), x, y, epochs=2, verbose=False)
    assert capsys.readouterr() == ("", "")


def test_progress_bar_goes_to_stderr(capsys):
    x, y = _blobs(64)
    fit(_mlp(), x, y, epochs=1, batch_size=16, verbose=False, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 1/1" in err


def test_sgd_step_matches_the_formula():
    model = Sequential([Dense(2, 2, rng=0, dtype=np.float64)])
    w0 = model[0].params["weight"].copy()
    g = np.array([[1.0, -2.0], [0.5, 0.0]])
    opt = SGD(lr=0.1, momentum=0.9)
    velocity = np.zeros_like(w0)
    expected = w0.copy()
    for _ in range(3):
        model[0].grads["weight"] = g.copy()
        model[0].grads["bias"] = np.zeros(2)
        opt.step(model)
        velocity = 0.9 * velocity - 0.1 * g
        expected = expected + velocity
    np.testing.assert_allclose(model[0].params["weight"], expected, rtol=1e-12)


def test_adam_step_matches_the_formula():
    model = Sequential([Dense(1, 3, rng=0, dtype=np.float64)])
    w = model[0].params["weight"].copy()
    opt = Adam(lr=0.01)
    m = v = np.zeros_like(w)
    rng = np.random.default_rng(0)
    for t in range(1, 4):
        g = rng.normal(size=w.shape)
        model[0].grads["weight"], model[0].grads["bias"] = g.copy(), np.zeros(3)
        opt.step(model)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(model[0].params["weight"], w, rtol=1e-10)


def test_predict_and_predict_proba_agree():
    x, y = _blobs(50)
    model = _mlp()
    fit(model, x, y, epochs=3, verbose=False)
    proba = predict_proba(model, x, batch_size=7)
    assert proba.shape == (50, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(predict(model, x, batch_size=7), proba.argmax(axis=1))
    loss, acc = evaluate(model, x, y)
    assert acc == pytest.approx((proba.argmax(axis=1) == y).mean())
    assert loss == pytest.approx(-np.log(proba[np.arange(50), y]).mean(), rel=1e-4)


def test_save_and_load_round_trip(tmp_path):
    x, y = _bars(20)
    model = _tiny_cnn()
    fit(model, x, y, epochs=1, verbose=False)
    path = save(model, tmp_path / "m.npz", metadata={"accuracy": 0.5, "note": "test"})
    again = load(path)
    assert again.get_config() == model.get_config()
    assert again.metadata == {"accuracy": 0.5, "note": "test"}
    np.testing.assert_array_equal(predict_proba(again, x), predict_proba(model, x))
    with np.load(path, allow_pickle=False) as data:  # plain arrays and JSON text, no pickle
        arch = json.loads(str(data["architecture"]))
        assert [spec["type"] for spec in arch["layers"]] == [
            "Conv2D",
            "ReLU",
            "MaxPool2D",
            "Flatten",
            "Dense",
        ]


def test_save_and_load_errors(tmp_path):
    with pytest.raises(ValueError, match=r"path must end with \.npz, got 'm\.pkl'"):
        save(_mlp(), tmp_path / "m.pkl")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="was not written by dlcv.models.save"):
        load(tmp_path / "other.npz")
    np.savez(tmp_path / "old.npz", architecture=np.array(json.dumps({"format": "v0"})))
    with pytest.raises(ValueError, match="unknown format 'v0'"):
        load(tmp_path / "old.npz")
    path = save(_mlp(), tmp_path / "m.npz")
    with np.load(path) as data:
        arrays = dict(data)
    arrays["0.weight"] = np.zeros((3, 3), dtype=np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(
        ValueError,
        match=r"parameter 0.weight has shape \(3, 3\), the architecture "
        r"needs \(2, 16\)",
    ):
        load(tmp_path / "bad.npz")


def test_lenet_shapes_and_summary():
    model = lenet(rng=0)
    out = model.forward(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert out.shape == (2, 10)
    table = model.summary((1, 28, 28))
    assert "(16, 7, 7)" in table and f"{model.n_params:,}" in table
    assert len({len(line) for line in table.splitlines()}) == 1  # aligned columns
    assert lenet(3, 5, image_size=32).forward(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 5)
    with pytest.raises(ValueError, match="image_size must be a positive multiple of 4, got 30"):
        lenet(image_size=30)


# ------------------------------------------------------------------ error messages
def test_fit_says_which_shapes_do_not_fit():
    x = np.zeros((10, 1, 28, 28), dtype=np.float32)
    y = np.zeros(10, dtype=np.int64)
    model = Sequential([Flatten(), Dense(64, 10, rng=0)])
    with pytest.raises(
        ValueError,
        match=r"x of shape \(10, 1, 28, 28\)\) does not fit the model: "
        r"layer 1 \(Dense\(64->10\)\) cannot take the output of "
        r"layer 0 \(Flatten\(\)\).*got shape \(1, 784\)",
    ):
        fit(model, x, y, verbose=False)
    with pytest.raises(ValueError, match=r"expects 1 input channels.*got shape \(1, 3, 8, 8\)"):
        fit(_tiny_cnn(), np.zeros((4, 3, 8, 8), np.float32), np.zeros(4, np.int64), verbose=False)


def test_fit_data_errors():
    x, y = _blobs(20)
    model = _mlp()
    with pytest.raises(
        ValueError,
        match=r"labels must be in \[0, 2\] \(the model has 3 outputs\); "
        r"found labels from 0 to 3",
    ):
        fit(model, x, np.where(y == 2, 3, y), verbose=False)
    with pytest.raises(ValueError, match=r"found labels from -1 to 2"):
        fit(model, x, np.where(y == 0, -1, y), verbose=False)
    with pytest.raises(ValueError, match=r"the dataset is empty \(x has shape \(0, 2\)\)"):
        fit(model, x[:0], y[:0], verbose=False)
    with pytest.raises(
        ValueError, match=r"x has 20 samples \(shape \(20, 2\)\) but y has 19 labels"
    ):
        fit(model, x, y[:19], verbose=False)
    with pytest.raises(TypeError, match="y must be a 1-D array of integer class labels"):
        fit(model, x, y.astype(float), verbose=False)
    with pytest.raises(TypeError, match="x must be a numeric NumPy array"):
        fit(model, x.tolist(), y, verbose=False)
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        fit(model, np.full_like(x, np.nan), y, verbose=False)
    with pytest.raises(ValueError, match=r"validation data: labels must be in \[0, 2\]"):
        fit(model, x, y, validation=(x, y + 5), verbose=False)
    with pytest.raises(TypeError, match=r"validation must be a tuple \(x_val, y_val\)"):
        fit(model, x, y, validation=[x, y], verbose=False)
    with pytest.raises(ValueError, match="epochs must be at least 1, got 0"):
        fit(model, x, y, epochs=0, verbose=False)
    with pytest.raises(TypeError, match="batch_size must be an integer, got 2.5"):
        fit(model, x, y, batch_size=2.5, verbose=False)
    with pytest.raises(TypeError, match="optimizer must have a step"):
        fit(model, x, y, optimizer="adam", verbose=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_fit_stops_on_a_nan_loss_and_says_where():
    x, y = _blobs(64)
    x = x * 1e3
    with pytest.raises(
        TrainingDivergedError,
        match=r"the loss became (nan|inf) at epoch \d+, "
        r"batch \d+ of 4: training diverged\. Lower "
        r"the learning rate \(lr=1e\+06\); try 100000",
    ) as info:
        fit(_mlp(), x, y, epochs=20, batch_size=16, optimizer=SGD(1e6), verbose=False)
    assert info.value.epoch >= 1 and 1 <= info.value.batch <= 4
    assert info.value.history.epochs == info.value.epoch - 1
    assert isinstance(info.value, FloatingPointError)


def test_optimizer_and_model_errors():
    with pytest.raises(ValueError, match=r"lr \(learning rate\) must be positive, got 0"):
        SGD(0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1"):
        SGD(0.1, momentum=1)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\), got 1.5"):
        Adam(beta2=1.5)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        Adam(weight_decay=-1)
    with pytest.raises(ValueError, match="Sequential needs at least one layer"):
        Sequential([])
    with pytest.raises(TypeError, match="layer 1 must be a dlcv.layers.Layer, got function"):
        Sequential([ReLU(), lambda x: x])
    with pytest.raises(ValueError, match=r"x is empty"):
        predict(_mlp(), np.zeros((0, 2), np.float32))


def test_lr_decay_multiplies_the_learning_rate_after_every_epoch():
    x, y = _blobs(40)
    opt = SGD(0.1)
    fit(_mlp(), x, y, epochs=3, optimizer=opt, lr_decay=0.5, verbose=False)
    assert opt.lr == pytest.approx(0.1 * 0.5**3)
    with pytest.raises(ValueError, match=r"lr_decay must be in \(0, 1\], got 1.5"):
        fit(_mlp(), x, y, lr_decay=1.5, verbose=False)


def test_activations_lists_the_input_and_every_layer_output():
    x, _ = _bars(3)
    model = _tiny_cnn()
    outs = activations(model, x)
    assert len(outs) == len(model) + 1
    assert [o.shape for o in outs] == [
        (3, 1, 8, 8),
        (3, 4, 8, 8),
        (3, 4, 8, 8),
        (3, 4, 4, 4),
        (3, 64),
        (3, 2),
    ]
    np.testing.assert_array_equal(outs[-1], model.forward(x))
    with pytest.raises(TypeError, match="x must be a numeric NumPy array"):
        activations(model, "image")


def test_train_lenet_mnist_rejects_unknown_recipe_keys():
    with pytest.raises(TypeError, match=r"unknown recipe keys \['learning_rate'\]"):
        train_lenet_mnist(learning_rate=0.1)


def test_the_shipped_lenet_weights_load_and_classify_mnist():
    from dlcv.data import load_mnist

    model = load_lenet_mnist()
    channels = LENET_MNIST_RECIPE["channels"]
    assert model.get_config() == lenet(channels=channels, rng=0).get_config()
    d = load_mnist()
    acc = evaluate(model, d.x_test, d.y_test)[1]
    assert acc >= 0.95
    assert model.metadata["test_accuracy"] == pytest.approx(acc, abs=0.002)
    recipe = {**LENET_MNIST_RECIPE, "channels": list(channels)}
    assert {k: model.metadata["recipe"][k] for k in recipe} == recipe


def test_plot_history_and_confusion_matrix_draw_labelled_axes():
    import matplotlib

    matplotlib.use("Agg")
    from dlcv.plot import plot_history, show_confusion_matrix

    x, y = _blobs(60)
    history = fit(_mlp(), x, y, epochs=2, validation=(x, y), verbose=False)
    ax_loss, ax_acc = plot_history(history, title="t")
    assert ax_loss.get_xlabel() == "epoch" and ax_acc.get_ylabel() == "accuracy"
    assert len(ax_loss.lines) == 2
    ax = show_confusion_matrix([0, 1, 1, 2, 2], [0, 2, 1, 2, 2])
    assert ax.get_xlabel() == "predicted class"
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1", "2"]  # zeros not written
    with pytest.raises(ValueError, match="y_true and y_pred must be 1-D of the same length"):
        show_confusion_matrix([0, 1], [0])


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


class _ThreadSpy(ReLU):
    """A ReLU that records how many BLAS threads are allowed while it trains."""

    def __init__(self):
        super().__init__()
        self.seen: set[int] = set()

    def forward(self, x):
        if self.training:  # fit's own checks of the data run in evaluation mode
            self.seen.update(_blas_threads())
        return super().forward(x)


@pytest.mark.parametrize("threads", [1, 2])
def test_fit_runs_blas_on_the_requested_threads_and_restores_them(threads):
    before = _blas_threads()
    x, y = _blobs(40)
    spy = _ThreadSpy()
    rng = np.random.default_rng(0)
    model = Sequential([Dense(2, 8, rng=rng), spy, Dense(8, 3, rng=rng)])
    fit(model, x, y, epochs=2, verbose=False, threads=threads)
    assert spy.seen == {threads}, f"BLAS ran with {spy.seen} threads, not {threads}"
    assert _blas_threads() == before
    spy.seen.clear()
    fit(model, x, y, epochs=1, verbose=False, threads=None)  # BLAS's own setting
    assert spy.seen == set(before)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        fit(_mlp(), x, y, threads=0, verbose=False)


def _params(model):
    return [p.copy() for layer in model.layers for p in layer.params.values()]


@pytest.mark.parametrize("make_optimizer", [lambda: SGD(0.05, momentum=0.9), lambda: Adam(1e-2)])
def test_a_frozen_layer_keeps_its_parameters_bit_for_bit_and_unfreezes(make_optimizer):
    x, y = _blobs(96)
    model, optimizer = _mlp(), make_optimizer()
    frozen, free = model.layers[0], model.layers[3]
    frozen.trainable = False
    before_frozen = [p.copy() for p in frozen.params.values()]
    before_free = [p.copy() for p in free.params.values()]
    grads_before = [g.copy() for g in frozen.grads.values()]
    fit(model, x, y, epochs=3, batch_size=16, optimizer=optimizer, verbose=False)
    assert all(
        np.array_equal(a, b) for a, b in zip(before_frozen, frozen.params.values(), strict=True)
    )
    assert all(
        np.array_equal(a, b) for a, b in zip(grads_before, frozen.grads.values(), strict=True)
    )
    assert not any(
        np.array_equal(a, b) for a, b in zip(before_free, free.params.values(), strict=True)
    )
    assert [k for k, _, _ in model.parameters()] == ["3.weight", "3.bias"]
    frozen.trainable = True
    fit(model, x, y, epochs=1, batch_size=16, optimizer=optimizer, verbose=False)
    assert not any(
        np.array_equal(a, b) for a, b in zip(before_frozen, frozen.params.values(), strict=True)
    )


def test_freezing_every_layer_leaves_the_model_unchanged_and_skips_backward():
    x, y = _blobs(64)
    model = _mlp()
    for layer in model.layers:
        layer.trainable = False
    before = _params(model)
    fit(model, x, y, epochs=2, verbose=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, _params(model), strict=True))
    model.forward(x[:4])
    assert model.backward(np.ones((4, 3), np.float32), input_grad=False) is None


def test_input_gradient_is_still_exact_through_a_frozen_layer():
    from dlcv.gradcheck import check_model

    model = Sequential([Dense(3, 4, rng=0), ReLU(), Dense(4, 2, rng=1)]).astype(np.float64)
    model.layers[2].trainable = False
    x = np.random.default_rng(0).normal(size=(5, 3))
    errors = check_model(model, x, np.array([0, 1, 1, 0, 1]))
    # the frozen layer's gradients are not computed; every other one is exact
    assert {k for k, e in errors.items() if e > 1e-7} == {"2.weight", "2.bias"}
    assert errors["x"] < 1e-7 and errors["0.weight"] < 1e-7


def test_fit_transform_runs_once_per_epoch_with_its_own_generator():
    x, y = _blobs(60)
    calls = []

    def noisy(images, rng):
        calls.append(rng)
        return images + rng.normal(scale=0.01, size=images.shape).astype(images.dtype)

    a, b = _mlp(), _mlp()
    fit(a, x, y, epochs=3, batch_size=20, transform=noisy, verbose=False)
    assert len(calls) == 3 and len({id(r) for r in calls}) == 1
    fit(b, x, y, epochs=3, batch_size=20, transform=noisy, verbose=False)
    assert all(
        np.array_equal(p, q) for p, q in zip(_params(a), _params(b), strict=True)
    )  # reproducible
    c = _mlp()
    fit(c, x, y, epochs=3, batch_size=20, verbose=False)
    assert not all(np.array_equal(p, q) for p, q in zip(_params(a), _params(c), strict=True))
    identity = _mlp()
    fit(identity, x, y, epochs=3, batch_size=20, transform=lambda im, rng: im, verbose=False)
    assert all(np.array_equal(p, q) for p, q in zip(_params(identity), _params(c), strict=True))


def test_fit_transform_errors_name_the_argument():
    x, y = _blobs(20)
    with pytest.raises(TypeError, match="transform must be a function"):
        fit(_mlp(), x, y, transform="flip", verbose=False)
    with pytest.raises(ValueError, match=r"transform must return images of the shape it was"):
        fit(_mlp(), x, y, transform=lambda im, rng: im[:5], verbose=False)
    with pytest.raises(TypeError, match="transform_rng must be None, an int seed"):
        fit(_mlp(), x, y, transform=lambda im, rng: im, transform_rng="x", verbose=False)


def test_train_epoch_is_what_fit_runs():
    from dlcv.train import train_epoch

    x, y = _blobs(50)
    a, b = _mlp(), _mlp()
    fit(a, x, y, epochs=1, batch_size=8, optimizer=SGD(0.1), seed=5, verbose=False)
    loss, accuracy = train_epoch(b, x, y, SGD(0.1), batch_size=8, rng=np.random.default_rng(5))
    assert all(np.array_equal(p, q) for p, q in zip(_params(a), _params(b), strict=True))
    assert 0 <= accuracy <= 1 and loss > 0


def test_lenet_dropout_option_adds_a_dropout_layer():
    model = lenet(dropout=0.3, rng=0)
    assert [type(layer).__name__ for layer in model.layers][-3:] == ["ReLU", "Dropout", "Dense"]
    assert model.n_params == lenet(rng=0).n_params


def test_conv_feature_maps_are_the_relu_outputs_of_each_conv():
    from dlcv.models import lenet
    from dlcv.train import activations, conv_feature_maps

    model = lenet(rng=0)
    images = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    maps = conv_feature_maps(model, images[0])
    assert [m.shape for m in maps] == [(8, 28, 28), (16, 14, 14)]
    np.testing.assert_array_equal(maps[0], activations(model, images[:1])[2][0])
    assert (maps[1] >= 0).all()
    with pytest.raises(ValueError, match=r"one image \(C, H, W\), got shape \(2, 1, 28, 28\)"):
        conv_feature_maps(model, images)
