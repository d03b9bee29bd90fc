"""dlcv.layers: forward passes against dlcv.conv/dlcv.pool/SciPy/formulas, backward
passes against the independent implementations in dlcv.conv and dlcv.pool, and every
error message. (Numerical gradient checks of every layer live in test_gradcheck.py.)"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.signal import correlate

from dlcv.conv import conv2d, conv2d_backward
from dlcv.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    col2im,
    im2col,
    softmax,
    softmax_cross_entropy,
)
from dlcv.pool import max_pool2d, max_pool2d_backward

conv_cases = st.fixed_dictionaries(
    {
        "n": st.integers(1, 3),
        "c": st.integers(1, 3),
        "f": st.integers(1, 4),
        "h": st.integers(5, 12),
        "w": st.integers(5, 12),
        "k": st.integers(1, 4),
        "kw": st.integers(1, 3),
        "stride": st.integers(1, 3),
        "padding": st.integers(0, 2),
        "dilation": st.integers(1, 2),
        "seed": st.integers(0, 10_000),
    }
)


def _fits(case):
    span_h, span_w = case["dilation"] * (case["k"] - 1) + 1, case["dilation"] * (case["kw"] - 1) + 1
    return (
        min(case["h"] + 2 * case["padding"] - span_h, case["w"] + 2 * case["padding"] - span_w) >= 0
    )


def _conv_case(case):
    assume(_fits(case))
    rng = np.random.default_rng(case["seed"])
    layer = Conv2D(
        case["c"],
        case["f"],
        (case["k"], case["kw"]),
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        rng=rng,
        dtype=np.float64,
    )
    layer.params["bias"] = rng.normal(size=case["f"])
    x = rng.normal(size=(case["n"], case["c"], case["h"], case["w"]))
    return layer, x, rng


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_conv2d_forward_equals_dlcv_conv(case):
    layer, x, _ = _conv_case(case)
    expected = conv2d(
        x,
        layer.params["weight"],
        layer.params["bias"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
    )
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(conv_cases)
def test_conv2d_backward_equals_dlcv_conv_backward(case):
    layer, x, rng = _conv_case(case)
    out = layer.forward(x)
    dout = rng.normal(size=out.shape)
    dx = layer.backward(dout)
    ex_dx, ex_dw, ex_db = conv2d_backward(
        dout,
        x,
        layer.params["weight"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
    )
    np.testing.assert_allclose(dx, ex_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], ex_dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], ex_db, rtol=1e-10, atol=1e-12)


def test_conv2d_forward_equals_scipy_correlate_summed_over_channels():
    rng = np.random.default_rng(1)
    layer = Conv2D(3, 4, 3, rng=rng, dtype=np.float64)
    x = rng.normal(size=(2, 3, 9, 7))
    w = layer.params["weight"]
    expected = np.array(
        [
            [sum(correlate(x[n, c], w[f, c], mode="valid") for c in range(3)) for f in range(4)]
            for n in range(2)
        ]
    )
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-12)


def test_conv2d_same_padding_keeps_size_and_matches_conv():
    rng = np.random.default_rng(2)
    layer = Conv2D(2, 3, 4, padding="same", rng=rng, dtype=np.float64)
    x = rng.normal(size=(2, 2, 8, 9))
    out = layer.forward(x)
    assert out.shape == (2, 3, 8, 9)
    np.testing.assert_allclose(out, conv2d(x, layer.params["weight"], padding="same"), atol=1e-12)


def test_input_grad_false_skips_the_input_gradient_only():
    rng = np.random.default_rng(3)
    layer = Conv2D(2, 3, 3, padding=1, rng=rng)
    x = rng.random((2, 2, 6, 6), dtype=np.float32)
    dout = rng.random((2, 3, 6, 6), dtype=np.float32)
    layer.forward(x)
    assert layer.backward(dout) is not None
    grads = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x)
    assert layer.backward(dout, input_grad=False) is None
    for k in grads:
        np.testing.assert_array_equal(layer.grads[k], grads[k])


@settings(max_examples=30, deadline=None)
@given(conv_cases)
def test_im2col_and_col2im_are_adjoint(case):
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is the transpose."""
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(case["n"], case["c"], case["h"], case["w"]))
    kernel = (case["k"], case["kw"])
    stride, dil, p = (case["stride"],) * 2, (case["dilation"],) * 2, case["padding"]
    pads = ((p, p), (p, p))
    ho = (case["h"] + 2 * p - dil[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    wo = (case["w"] + 2 * p - dil[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    assume(ho >= 1 and wo >= 1)
    cols = im2col(x, kernel, pads, stride, dil, (ho, wo))
    c = rng.normal(size=cols.shape)
    back = col2im(c, x.shape, kernel, pads, stride, dil, (ho, wo))
    assert back.shape == x.shape
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-10)


def test_conv2d_he_initialisation_is_seeded_and_scaled():
    a = Conv2D(16, 64, 3, rng=0)
    b = Conv2D(16, 64, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    assert a.params["weight"].dtype == np.float32
    assert abs(a.params["weight"].std() / np.sqrt(2 / (16 * 9)) - 1) < 0.05
    assert not np.array_equal(a.params["weight"], Conv2D(16, 64, 3, rng=1).params["weight"])
    np.testing.assert_array_equal(a.params["bias"], 0)
    assert a.n_params == 64 * 16 * 9 + 64


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(4, 11),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(0, 10_000),
)
def test_maxpool_matches_dlcv_pool_forward_and_backward(n, c, h, k, s, p, seed):
    assume(2 * p <= k)
    rng = np.random.default_rng(seed)
    x = rng.permutation(n * c * h * (h + 1)).reshape(n, c, h, h + 1).astype(np.float64)  # no ties
    layer = MaxPool2D(k, stride=s, padding=p)
    out = layer.forward(x)
    expected, idx = max_pool2d(x, k, stride=s, padding=p, return_indices=True)
    np.testing.assert_array_equal(out, expected)
    dout = rng.normal(size=out.shape)
    np.testing.assert_allclose(
        layer.backward(dout), max_pool2d_backward(dout, idx, x.shape), atol=1e-12
    )


def test_maxpool_ties_send_the_gradient_to_the_first_maximum():
    layer = MaxPool2D(2)
    x = np.ones((1, 1, 2, 2))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_relu_flatten_dense_dropout_forward_formulas():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 4, 5))
    np.testing.assert_array_equal(ReLU().forward(x), np.maximum(x, 0))
    flat = Flatten().forward(x)
    np.testing.assert_array_equal(flat, x.reshape(3, 40))
    dense = Dense(40, 7, rng=0, dtype=np.float64)
    dense.params["bias"] = rng.normal(size=7)
    np.testing.assert_allclose(
        dense.forward(flat), flat @ dense.params["weight"] + dense.params["bias"]
    )
    assert dense.params["weight"].shape == (40, 7)


def test_dropout_is_seeded_scaled_and_identity_at_eval():
    x = np.ones((200, 100), dtype=np.float32)
    a, b = Dropout(0.3, rng=5), Dropout(0.3, rng=5)
    ya, yb = a.forward(x), b.forward(x)
    np.testing.assert_array_equal(ya, yb)
    assert set(np.unique(ya)) == {0.0, np.float32(1 / 0.7)}
    assert abs((ya == 0).mean() - 0.3) < 0.01
    assert abs(ya.mean() - 1) < 0.02  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(a.backward(x), ya)  # gradient through the same mask
    a.training = False
    assert a.forward(x) is x
    assert a.backward(x) is x


def test_softmax_cross_entropy_matches_the_formula():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    loss, dlogits = softmax_cross_entropy(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.log(p[np.arange(5), labels]).mean(), rel=1e-12)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(dlogits, (p - onehot) / 5, atol=1e-15)
    np.testing.assert_allclose(softmax(logits), p, atol=1e-15)


def test_softmax_cross_entropy_is_stable_for_huge_scores():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]])
    loss, dlogits = softmax_cross_entropy(logits, np.array([2, 1]))
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert loss == pytest.approx((2e4 + 0.0) / 2)
    assert np.isfinite(softmax(logits)).all()


def test_layers_compute_in_float32_by_default_and_convert():
    layer = Conv2D(1, 2, 3, rng=0)
    x = np.zeros((1, 1, 5, 5), dtype=np.float32)
    assert layer.forward(x).dtype == np.float32
    layer.astype(np.float64)
    assert layer.params["weight"].dtype == np.float64
    assert layer.grads["weight"].dtype == np.float64


def test_get_config_rebuilds_an_equivalent_layer():
    for layer in [
        Conv2D(2, 3, (3, 1), stride=2, padding="same", rng=0),
        MaxPool2D(3, 2, 1),
        Dense(4, 5, rng=0),
        Dropout(0.25),
        ReLU(),
        Flatten(),
    ]:
        clone = type(layer)(**layer.get_config())
        assert clone.get_config() == layer.get_config()
        assert repr(clone) == repr(layer)


# ------------------------------------------------------------------ error messages
def test_conv2d_rejects_bad_input_with_clear_messages():
    layer = Conv2D(1, 8, 3, rng=0)
    with pytest.raises(ValueError, match=r"expects 1 input channels.*got shape \(2, 3, 28, 28\)"):
        layer.forward(np.zeros((2, 3, 28, 28), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"expects input of shape \(N, 1, H, W\), got shape \(28, 28\)"
    ):
        layer.forward(np.zeros((28, 28), dtype=np.float32))
    with pytest.raises(TypeError, match="expects a NumPy array, got list"):
        layer.forward([[1.0]])
    with pytest.raises(TypeError, match="floating-point array, got dtype int64"):
        layer.forward(np.zeros((1, 1, 5, 5), dtype=np.int64))
    with pytest.raises(ValueError, match=r"empty batch \(shape \(0, 1, 5, 5\)\)"):
        layer.forward(np.zeros((0, 1, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="larger than the padded x"):
        layer.forward(np.zeros((1, 1, 2, 2), dtype=np.float32))


def test_layer_constructors_reject_bad_arguments():
    with pytest.raises(ValueError, match="in_channels must be at least 1, got 0"):
        Conv2D(0, 8, 3)
    with pytest.raises(ValueError, match="out_channels must be at least 1"):
        Conv2D(1, -2, 3)
    with pytest.raises(TypeError, match="in_channels must be an integer, got 1.0"):
        Conv2D(1.0, 2, 3)
    with pytest.raises(ValueError, match="kernel_size must be at least 1"):
        Conv2D(1, 2, 0)
    with pytest.raises(ValueError, match="stride must be at least 1"):
        Conv2D(1, 2, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv2D(1, 2, 3, padding="half")
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy Generator"):
        Conv2D(1, 2, 3, rng="seed")
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half of kernel_size"):
        MaxPool2D(2, padding=2)
    with pytest.raises(ValueError, match="in_features must be at least 1"):
        Dense(0, 3)
    with pytest.raises(TypeError, match="out_features must be an integer, got 3.5"):
        Dense(2, 3.5)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1.0"):
        Dropout(1.0)


def test_dense_and_pool_reject_bad_shapes():
    with pytest.raises(
        ValueError,
        match=r"Dense\(784->10\) expects input of shape \(N, 784\); "
        r"got shape \(4, 400\)",
    ):
        Dense(784, 10, rng=0).forward(np.zeros((4, 400), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expects input of shape \(N, C, H, W\)"):
        MaxPool2D(2).forward(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="larger than the padded input"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expects input of shape \(N, \.\.\.\)"):
        Flatten().forward(np.zeros(5, dtype=np.float32))


def test_backward_before_forward_is_a_clear_error():
    for layer in [Conv2D(1, 1, 1, rng=0), MaxPool2D(2), ReLU(), Flatten(), Dense(2, 2, rng=0)]:
        with pytest.raises(RuntimeError, match="call forward before backward"):
            layer.backward(np.zeros((1, 1)))


def test_softmax_cross_entropy_rejects_bad_input():
    logits = np.zeros((3, 4))
    with pytest.raises(
        ValueError,
        match=r"labels must be in \[0, 3\] for 4 classes; found values "
        r"from 0 to 4",
    ):
        softmax_cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\) to match logits \(3, 4\)"):
        softmax_cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match="labels must be integers"):
        softmax_cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, K\)"):
        softmax_cross_entropy(np.zeros(4), np.array([0]))
    with pytest.raises(TypeError, match="logits must be floating point"):
        softmax_cross_entropy(np.zeros((1, 2), dtype=int), np.array([0]))


def _every_layer():
    return [Conv2D(2, 3, 3, padding=1, rng=0), MaxPool2D(2), ReLU(), Flatten(), Dropout(0.5, rng=0)]


@pytest.mark.parametrize("layer", _every_layer(), ids=lambda layer: type(layer).__name__)
def test_every_layer_honours_input_grad_and_needs_forward_first(layer):
    x = np.random.default_rng(0).normal(size=(2, 2, 4, 4)).astype(np.float32)
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones((2, 2, 4, 4), np.float32))
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out), input_grad=False) is None
    assert layer.backward(np.ones_like(out)).shape == x.shape


def test_dense_honours_input_grad_and_needs_forward_first():
    layer = Dense(3, 2, rng=0)
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones((4, 2), np.float32))
    out = layer.forward(np.ones((4, 3), np.float32))
    assert layer.backward(np.ones_like(out), input_grad=False) is None


def test_dropout_in_evaluation_mode_passes_the_gradient_through():
    layer = Dropout(0.5, rng=0)
    layer.training = False
    x = np.ones((3, 4), np.float32)
    assert layer.forward(x) is x
    g = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert layer.backward(g) is g


@pytest.mark.parametrize("seed", range(20))
def test_maxpool_layer_backward_is_dlcv_pool_backward_even_with_ties(seed):
    from dlcv.pool import max_pool2d, max_pool2d_backward

    rng = np.random.default_rng(seed)
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p = int(rng.integers(0, k // 2 + 1))
    x = rng.integers(0, 3, size=(2, 3, 9, 8)).astype(np.float32)  # many ties
    layer = MaxPool2D(k, stride=s, padding=p)
    out = layer.forward(x)
    dout = rng.normal(size=out.shape).astype(np.float32)
    ref_out, idx = max_pool2d(x, k, s, p, return_indices=True)
    assert np.array_equal(out, ref_out)
    assert np.array_equal(layer.backward(dout), max_pool2d_backward(dout, idx, x.shape))
