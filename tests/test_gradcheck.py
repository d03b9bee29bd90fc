"""dlcv.gradcheck: every layer and a whole network pass at relative error < 1e-7, and a
wrong backward pass is caught."""

import numpy as np
import pytest

from dlcv.gradcheck import check_layer, check_model, numerical_gradient, relative_error
from dlcv.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Sequential

TOL = 1e-7


def _away_from_zero(rng, shape, margin=0.05):
    """Random values at least ``margin`` from 0, so ReLU's kink is never crossed."""
    x = rng.normal(size=shape)
    return np.sign(x) * (np.abs(x) + margin)


@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(3, 4, 3, rng=0),
        Conv2D(3, 2, 3, padding=1, rng=1),
        Conv2D(3, 2, (3, 2), stride=2, padding=(1, 0), rng=2),
        Conv2D(3, 2, 2, padding="same", dilation=2, rng=3),
        Conv2D(3, 5, 1, rng=4),
        MaxPool2D(2),
        MaxPool2D(3, stride=2, padding=1),
        MaxPool2D((2, 3), stride=1),
        ReLU(),
        Flatten(),
        Dropout(0.5, rng=0),
    ],
    ids=repr,
)
def test_every_image_layer_passes_the_gradient_check(layer):
    rng = np.random.default_rng(0)
    x = _away_from_zero(rng, (2, 3, 7, 6))
    errors = check_layer(layer, x)
    assert set(errors) == {"x", *layer.params}
    assert max(errors.values()) < TOL, errors


def test_dense_passes_the_gradient_check():
    rng = np.random.default_rng(1)
    errors = check_layer(Dense(6, 4, rng=0), rng.normal(size=(5, 6)))
    assert set(errors) == {"x", "weight", "bias"}
    assert max(errors.values()) < TOL, errors


def test_a_whole_network_with_loss_passes_the_gradient_check():
    rng = np.random.default_rng(2)
    model = Sequential(
        [
            Conv2D(1, 3, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Conv2D(3, 4, 3, padding=1, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(4 * 2 * 2, 5, rng=rng),
            ReLU(),
            Dropout(0.2, rng=rng),
            Dense(5, 3, rng=rng),
        ]
    )
    x = rng.normal(size=(4, 1, 8, 8))
    errors = check_model(model, x, np.array([0, 2, 1, 2]))
    assert set(errors) == {
        "x",
        "0.weight",
        "0.bias",
        "3.weight",
        "3.bias",
        "7.weight",
        "7.bias",
        "10.weight",
        "10.bias",
    }
    assert max(errors.values()) < TOL, errors
    assert model.dtype == np.float32  # the check works on a float64 copy


class _BrokenDense(Dense):
    """Forgets the bias gradient's sum over the batch and halves dx: a typical bug."""

    def backward(self, dout, input_grad=True):
        dx = super().backward(dout)
        self.grads["bias"] = dout[0]
        return dx / 2


def test_a_wrong_backward_pass_is_caught():
    rng = np.random.default_rng(3)
    errors = check_layer(_BrokenDense(3, 2, rng=0), rng.normal(size=(4, 3)))
    assert errors["weight"] < TOL
    assert errors["bias"] > 0.1
    assert errors["x"] > 0.1


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda: float((x**3).sum()), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-9)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert relative_error(np.array([4.0, 0.0]), np.array([4.0, 1e-9])) == pytest.approx(1e-9 / 4)


def test_gradcheck_errors():
    with pytest.raises(TypeError, match="x must be a float64 NumPy array"):
        numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError, match="h must be positive"):
        numerical_gradient(lambda: 0.0, np.zeros(2), h=0)
    with pytest.raises(
        ValueError,
        match=r"analytic gradient has shape \(2,\) but numeric "
        r"gradient has shape \(3,\)",
    ):
        relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="layer must be a dlcv.layers.Layer"):
        check_layer(lambda x: x, np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(1, 2\)"):
        check_layer(ReLU(), np.ones((1, 2)), dout=np.ones(3))
    with pytest.raises(TypeError, match="x must be numeric"):
        check_layer(ReLU(), np.array([["a"]]))
