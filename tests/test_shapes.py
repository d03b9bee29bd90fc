"""dlcv.shapes: every formula is checked against actually running the layers.

Shapes are compared with the outputs of dlcv.conv.conv2d / dlcv.pool on arrays of
that shape; parameter counts with the sizes of real weight arrays (and of
dlcv.layers.Conv2D); multiply-adds with the non-zeros of the measured linear map;
receptive fields with the set of input pixels whose impulse reaches an output pixel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlcv.conv import conv2d
from dlcv.layers import Conv2D
from dlcv.pool import avg_pool2d, max_pool2d
from dlcv.shapes import (
    PRESETS,
    Conv,
    Pool,
    analyze,
    dense_equivalent,
    impulse_response,
    input_gradient,
    nested_fields,
    run_stack,
)

# ---------------------------------------------------------------- strategies

convs = st.builds(
    Conv,
    out_channels=st.integers(1, 3),
    kernel_size=st.integers(1, 5) | st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    bias=st.booleans(),
)
pools = st.builds(
    Pool,
    kernel_size=st.integers(1, 4),
    stride=st.none() | st.integers(1, 3),
    padding=st.integers(0, 2),
    mode=st.sampled_from(["max", "avg"]),
)
stacks = st.lists(convs | pools, min_size=1, max_size=4)
inputs = st.tuples(st.integers(1, 3), st.integers(1, 20), st.integers(1, 20))


def _run_layer(x, layer):
    """Run one layer for real on x (N, C, H, W); return output and the weight arrays used."""
    if layer.kind == "conv":
        weight = np.zeros((layer.out_channels, x.shape[1], *layer.kernel_size))
        bias = np.zeros(layer.out_channels) if layer.bias else None
        out = conv2d(
            x, weight, bias, stride=layer.stride, padding=layer.padding, dilation=layer.dilation
        )
        return out, [a for a in (weight, bias) if a is not None]
    pool = max_pool2d if layer.mode == "max" else avg_pool2d
    return pool(x, layer.kernel_size, stride=layer.stride, padding=layer.padding), []


# ---------------------------------------------------------------- shapes and costs


@settings(max_examples=300, deadline=None)
@given(inputs, stacks)
def test_shapes_and_params_match_running_the_layers(input_shape, layers):
    report = analyze(input_shape, layers)
    x = np.zeros((2, *input_shape))
    for r in report.layers:
        if x is None:
            assert r.out_shape is None and r.problem.startswith("no input")
            continue
        assert r.in_shape == x.shape[1:]
        if r.out_shape is None:  # the report says it cannot run: the real layer agrees
            with pytest.raises(ValueError):
                _run_layer(x, r.layer)
            assert r.problem and ("empty" in r.problem or "half the pooling window" in r.problem)
            x = None
            continue
        out, arrays = _run_layer(x, r.layer)
        assert out.shape[1:] == r.out_shape
        assert r.params == sum(a.size for a in arrays)
        per_output = math.prod(arrays[0].shape[1:]) if arrays else 0
        assert r.macs == out[0].size * per_output
        x = out
    assert report.ok == (x is not None)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), convs)
def test_params_match_the_conv_layer_class(in_channels, layer):
    real = Conv2D(
        in_channels,
        layer.out_channels,
        layer.kernel_size,
        layer.stride,
        layer.padding,
        layer.dilation,
        rng=0,
    )
    n_real = real.params["weight"].size + (real.params["bias"].size if layer.bias else 0)
    report = analyze((in_channels, 40, 40), [layer])
    assert report.layers[0].params == n_real


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(3, 9),
    st.integers(3, 9),
    st.builds(
        Conv,
        out_channels=st.integers(1, 2),
        kernel_size=st.integers(1, 3),
        stride=st.integers(1, 2),
        dilation=st.integers(1, 2),
    ),
)
def test_macs_equal_nonzeros_of_the_measured_linear_map(c, h, w, layer):
    """Without padding every tap meets a real pixel: multiply-adds = non-zeros of the map."""
    report = analyze((c, h, w), [layer])
    assume(report.ok)
    eye = np.eye(c * h * w).reshape(-1, c, h, w)  # one impulse per input value
    ones = np.ones((layer.out_channels, c, *layer.kernel_size))
    jacobian = conv2d(eye, ones, stride=layer.stride, dilation=layer.dilation)
    assert report.layers[0].macs == np.count_nonzero(jacobian)


def test_pooling_has_no_parameters_and_no_multiply_adds():
    report = analyze((4, 16, 16), [Pool(2), Pool(3, stride=1, padding=1, mode="avg")])
    assert [r.params for r in report.layers] == [0, 0]
    assert [r.macs for r in report.layers] == [0, 0]
    assert report.output_shape == (4, 8, 8)


# ---------------------------------------------------------------- receptive fields


def _influence(input_shape, layers):
    """(H*W, H', W') bool: does an impulse at input pixel p reach output pixel (i, j)?"""
    c, h, w = input_shape
    x = np.zeros((h * w, c, h * w))
    x[np.arange(h * w), :, np.arange(h * w)] = 1.0
    out = run_stack(x.reshape(h * w, c, h, w), layers, weights="ones")
    return out.sum(axis=1) > 0


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.integers(1, 2), st.integers(1, 16), st.integers(1, 16)), stacks)
def test_receptive_field_matches_measured_impulse_responses(input_shape, layers):
    report = analyze(input_shape, layers)
    assume(report.ok)
    _, h, w = input_shape
    last = report.layers[-1]
    influence = _influence(input_shape, layers)
    _, oh, ow = report.output_shape
    for i in range(oh):
        for j in range(ow):
            mask = influence[:, i, j].reshape(h, w)
            top = last.start[0] + i * last.jump[0]
            left = last.start[1] + j * last.jump[1]
            bottom, right = top + last.rf[0] - 1, left + last.rf[1] - 1
            rows, cols = np.nonzero(mask)
            # Nothing outside the formula's box ever reaches the output pixel ...
            assert rows.size == 0 or (rows.min() >= top and rows.max() <= bottom)
            assert cols.size == 0 or (cols.min() >= left and cols.max() <= right)
            # ... and when the box lies inside the image, its corners are reached.
            if top >= 0 and left >= 0 and bottom < h and right < w:
                assert (rows.min(), rows.max(), cols.min(), cols.max()) == (
                    top,
                    bottom,
                    left,
                    right,
                )


def test_receptive_field_of_a_stack_fills_its_box():
    layers = [Conv(2, 3), Pool(2), Conv(2, 3), Conv(1, 3, stride=2), Pool(2, mode="avg")]
    report = analyze((1, 40, 40), layers)
    # r: 3, 4, 8, 12, 16; jump: 1, 2, 2, 4, 8 (worked by hand)
    assert report.layers[-1].rf == (16, 16) and report.layers[-1].jump == (8, 8)
    response = impulse_response((1, 40, 40), layers, out_pixel=(1, 2))
    rows, cols = np.nonzero(response)
    assert (rows.min(), rows.max() + 1 - rows.min()) == (8, 16)
    assert (cols.min(), cols.max() + 1 - cols.min()) == (16, 16)
    assert np.count_nonzero(response) == 16 * 16


def test_impulse_response_is_one_column_of_the_measured_map():
    layers = [Conv(2, 3, padding=1), Pool(2), Conv(1, 3, dilation=2)]
    influence = _influence((1, 12, 12), layers)
    mask = impulse_response((1, 12, 12), layers, out_pixel=(0, 1), batch=7) > 0
    assert np.array_equal(mask, influence[:, 0, 1].reshape(12, 12))


def test_random_weights_give_a_signed_response_inside_the_receptive_field():
    layers = [Conv(3, 3), Conv(1, 3)]
    a = impulse_response((1, 15, 15), layers, weights="random", rng=0)
    b = impulse_response((1, 15, 15), layers, weights="random", rng=0)
    assert np.array_equal(a, b) and (a < 0).any()
    rows, cols = np.nonzero(a)
    assert rows.min() >= 5 and rows.max() <= 9 and cols.min() >= 5 and cols.max() <= 9


linear_stacks = st.lists(
    convs
    | st.builds(
        Pool,
        kernel_size=st.integers(1, 3),
        stride=st.none() | st.integers(1, 2),
        padding=st.integers(0, 1),
        mode=st.just("avg"),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2), st.integers(4, 12), linear_stacks, st.sampled_from(["ones", "random"]))
def test_backpropagated_gradient_equals_impulse_response_for_linear_stacks(c, n, layers, weights):
    report = analyze((c, n, n), layers)
    assume(report.ok)
    _, oh, ow = report.output_shape
    pixel = (oh - 1, 0)
    x = np.random.default_rng(1).random((c, n, n))  # linear: the input does not matter
    grad = input_gradient(x, layers, out_pixel=pixel, weights=weights, rng=3)
    # impulse_response puts its impulse in every channel: by linearity, the channel sum.
    response = impulse_response((c, n, n), layers, out_pixel=pixel, weights=weights, rng=3)
    np.testing.assert_allclose(grad.sum(axis=0), response, atol=1e-9)


def test_max_pool_gradient_reaches_part_of_the_receptive_field():
    layers = [Conv(2, 3), Pool(2), Conv(2, 3), Pool(2)]
    x = np.random.default_rng(0).random((1, 30, 30))
    grad = input_gradient(x, layers)[0]
    rf = impulse_response((1, 30, 30), layers) > 0
    assert np.count_nonzero(grad) > 0
    assert not (grad != 0)[~rf].any()  # only inside the receptive field ...
    assert np.count_nonzero(grad) < np.count_nonzero(rf)  # ... and only the winners' paths


def test_published_figures():
    # LeCun et al. (1998): C1 has 156 trainable parameters and 122,304 connections
    # (multiply-adds plus one bias per output); C5 has 48,120 trainable connections.
    lenet = analyze(*PRESETS["LeNet-5 (C1-C5)"])
    c1, c5 = lenet.layers[0], lenet.layers[4]
    assert c1.params == 156 and c1.macs + math.prod(c1.out_shape) == 122_304
    assert c5.params == 48_120 and c5.out_shape == (120, 1, 1) and c5.rf == (32, 32)
    # Simonyan & Zisserman (2015), VGG-16: 14,714,688 conv parameters; Araujo et al.
    # (2019) list receptive field 212, effective stride 32, effective padding 90 at pool5.
    vgg = analyze(*PRESETS["VGG-16 (conv part)"])
    assert vgg.total_params == 14_714_688 and vgg.output_shape == (512, 7, 7)
    assert (vgg.layers[-1].rf, vgg.layers[-1].jump, vgg.layers[-1].start) == (
        (212, 212),
        (32, 32),
        (-90, -90),
    )
    # Krizhevsky et al. (2012): 96 kernels of 11x11x3; 55x55 maps need a 227 input.
    assert analyze(*PRESETS["AlexNet conv1 (227 input)"]).layers[0].out_shape == (96, 55, 55)
    alex = analyze(*PRESETS["AlexNet conv1 (224 input)"]).layers[0]
    assert alex.params == 34_944 and alex.out_shape == (96, 54, 54) and "54.25" in alex.problem


# ---------------------------------------------------------------- problems in words


def test_problem_sentences():
    text = analyze((1, 28, 28), [Conv(8, 5, stride=2)]).layers[0].problem
    assert text == (
        "(H - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5 is not an integer: the last "
        "1 row(s) and column(s) are never covered, so the output is floored to 12"
    )
    text = analyze((1, 28, 29), [Conv(8, 5, stride=2)]).layers[0].problem
    assert "the last 1 row(s) are never covered" in text and "column" not in text  # W = 29 fits
    report = analyze((3, 10, 10), [Conv(8, 7, dilation=2), Pool(2)])
    assert report.layers[0].problem == (
        "output would be empty: kernel 7 (dilated 13) is larger than the padded input 10"
    )
    assert report.layers[1].problem == "no input: layer 1 has no output"
    assert report.layers[0].params == 8 * 3 * 49 + 8  # known even without an output
    assert report.total_params is None and not report.ok and report.output_shape is None
    text = analyze((1, 4, 30), [Conv(1, 7, padding=1)]).layers[0].problem
    assert text.startswith(
        "output would be empty along the height: kernel 7 is larger than "
        "the padded input 6 = 4 + 2×1"
    )
    text = analyze((1, 8, 8), [Pool(3, padding=2)]).layers[0].problem
    assert "padding 2 is more than half the pooling window 3" in text


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(1, 4), st.integers(0, 3))
def test_never_covered_rows_are_measured(h, k, s, p):
    """The rows the sentence says are never covered are the rows no output can see.

    (With a stride larger than the kernel, rows *between* windows are skipped too; that
    is a design choice, not a rounding problem, so it is not part of this sentence.)
    """
    assume(s <= k)
    layer = Conv(1, (k, 1), stride=(s, 1), padding=(p, 0))
    r = analyze((1, h, 1), [layer]).layers[0]
    assume(r.ok)
    rows = np.eye(h).reshape(h, 1, h, 1)  # one impulse per input row
    seen = (
        conv2d(rows, np.ones((1, 1, k, 1)), stride=(s, 1), padding=(p, 0))
        .reshape(h, -1)
        .any(axis=1)
    )
    covered_rows = np.nonzero(seen)[0]
    trailing = h - 1 - covered_rows.max() if covered_rows.size else h
    if trailing and p == 0:
        assert f"the last {trailing} row(s) are never covered" in r.problem
    elif trailing:
        assert f"({trailing} of them image pixels)" in r.problem
    elif r.problem is not None:
        assert "only padding, no image pixel is lost" in r.problem
    assert (r.problem is None) == ((h + 2 * p - k) % s == 0)


# ---------------------------------------------------------------- dense comparison


def test_dense_equivalent_counts_real_matrix_sizes():
    d = dense_equivalent((1, 28, 28), (8, 28, 28))
    weight, bias = np.zeros((8 * 28 * 28, 28 * 28)), np.zeros(8 * 28 * 28)
    assert d.params == weight.size + bias.size and d.macs == weight.size
    x = np.ones(28 * 28)
    assert (weight @ x).shape == (d.n_out,)
    assert dense_equivalent((3, 224, 224), (64, 224, 224), bias=False).params == 150_528 * 3_211_264


# ---------------------------------------------------------------- API misuse


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Conv(2.5), TypeError, "out_channels must be an int"),
        (lambda: Conv(True), TypeError, "out_channels must be an int"),
        (lambda: Conv(0), ValueError, "out_channels must be at least 1"),
        (lambda: Conv(4, kernel_size=3.0), TypeError, "kernel_size must be an int or a pair"),
        (lambda: Conv(4, kernel_size=(1, 2, 3)), TypeError, "kernel_size must be an int or a pair"),
        (lambda: Conv(4, stride=0), ValueError, "stride must be at least 1"),
        (lambda: Conv(4, padding=-1), ValueError, "padding must be at least 0"),
        (lambda: Conv(4, dilation=(1, 0)), ValueError, "dilation must be at least 1"),
        (lambda: Conv(4, bias="yes"), TypeError, "bias must be True or False"),
        (lambda: Pool(0), ValueError, "kernel_size must be at least 1"),
        (lambda: Pool(2, mode="min"), ValueError, "mode must be 'max' or 'avg'"),
        (lambda: analyze((28, 28), [Conv(1)]), ValueError, r"input_shape must be \(C, H, W\)"),
        (lambda: analyze((1, 28.0, 28), [Conv(1)]), TypeError, "input_shape must hold ints"),
        (lambda: analyze((1, 0, 28), [Conv(1)]), ValueError, "input_shape must be positive"),
        (
            lambda: analyze((1, 28, 28), ["conv"]),
            TypeError,
            "layer 1 must be a dlcv.shapes.Conv or Pool",
        ),
        (lambda: dense_equivalent((1, 28, 28), (10,)), ValueError, "input_shape must be"),
        (lambda: run_stack(np.zeros((1, 8, 8)), [Conv(1)]), ValueError, r"shape \(N, C, H, W\)"),
        (
            lambda: run_stack(np.zeros((1, 1, 8, 8)), [Conv(1)], weights="he"),
            ValueError,
            "weights must be",
        ),
        (lambda: impulse_response((1, 4, 4), [Conv(1, 5)]), ValueError, "cannot run on"),
        (lambda: input_gradient(np.zeros((1, 4, 4)), [Conv(1, 5)]), ValueError, "cannot run on"),
        (lambda: input_gradient(np.zeros((4, 4)), [Conv(1, 3)]), ValueError, r"shape \(C, H, W\)"),
        (lambda: input_gradient(np.zeros((1, 8, 8)), [Conv(1, 3)], (0, 6)), ValueError, "outside"),
        (
            lambda: impulse_response((1, 8, 8), [Conv(1, 3)], out_pixel=(6, 0)),
            ValueError,
            "outside the output",
        ),
    ],
)
def test_misuse_raises_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_single_layer_and_empty_stack():
    assert analyze((1, 5, 5), Conv(2, 3)).output_shape == (2, 3, 3)
    empty = analyze((1, 5, 5), [])
    assert empty.output_shape == (1, 5, 5) and empty.total_params == 0 and empty.ok


def test_table_text():
    text = analyze((1, 28, 28), [Conv(8, 5, stride=2)]).table()
    assert "8×12×12" in text and "208" in text and "⚠ layer 1: (H - F + 2P)/S + 1" in text
    assert str(analyze((1, 28, 28), [Conv(8, 5, stride=2)])) == text


def test_receptive_field_plot_draws_the_report():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcv.plot import plot_receptive_fields

    report = analyze(*PRESETS["LeNet-5 (C1-C5)"])
    ax = plot_receptive_fields(report, title="LeNet-5")
    rf_line, size_line = ax.get_lines()
    assert list(rf_line.get_ydata()) == [1, 5, 6, 14, 16, 32]
    assert list(size_line.get_ydata()) == [32, 28, 14, 10, 5, 1]
    assert ax.get_title() == "LeNet-5" and ax.get_xlabel() == "layer"
    broken = analyze((1, 12, 12), [Conv(1, 5), Conv(1, 9), Pool(2)])  # layer 2 is empty
    assert len(plot_receptive_fields(broken).get_lines()[0].get_ydata()) == 2
    plt.close("all")


def test_report_displays_as_html_and_text_in_notebooks():
    report = analyze((1, 28, 28), [Conv(8, 5, stride=2), Pool(2)])
    page = report._repr_html_()
    assert (
        page.startswith("<table") and page.count("<tr") == 1 + 3 + 1 + 1
    )  # header, rows, ⚠, total
    assert "⚠ (H - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5" in page
    assert "One dense layer" in page and "One dense layer" not in report.to_html(dense=False)

    class Printer:
        def text(self, value):
            self.value = value

    printer = Printer()
    report._repr_pretty_(printer, cycle=False)
    assert printer.value == report.table()


def test_vgg16_has_13_convolutions_and_5_pools_and_a_212_receptive_field():
    from dlcv.shapes import PRESETS, bounding_box, vgg16

    layers = vgg16()
    assert [layer.kind for layer in layers].count("conv") == 13
    assert [layer.kind for layer in layers].count("pool") == 5
    assert PRESETS["VGG-16 (conv part)"][1] == layers
    assert analyze((3, 224, 224), layers).layers[-1].rf == (212, 212)
    thin = [layer for layer in vgg16(3, channels=False) if layer.kind == "conv"]
    assert all(layer.out_channels == 1 for layer in thin)
    assert len(vgg16(2)) == 6
    with pytest.raises(ValueError, match="blocks must be between 1 and 5"):
        vgg16(6)
    with pytest.raises(TypeError, match="blocks must be an integer"):
        vgg16(2.0)
    # the geometry without channels is the same; measured on the first 3 blocks
    one = vgg16(3, channels=False)
    size, _ = bounding_box(impulse_response((1, 56, 56), one, out_pixel=(3, 3)) > 0)
    assert size == analyze((1, 56, 56), one).layers[-1].rf == (44, 44)


def test_bounding_box_of_random_masks_matches_a_direct_search():
    from dlcv.shapes import bounding_box

    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = rng.random((rng.integers(1, 20), rng.integers(1, 20))) < 0.1
        if not mask.any():
            mask[rng.integers(mask.shape[0]), rng.integers(mask.shape[1])] = True
        rows = [i for i in range(mask.shape[0]) if mask[i].any()]
        cols = [j for j in range(mask.shape[1]) if mask[:, j].any()]
        expected = ((rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1), (rows[0], cols[0]))
        assert bounding_box(mask) == expected
    with pytest.raises(ValueError, match="no non-zero pixel"):
        bounding_box(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="mask must be 2-D"):
        bounding_box(np.ones(3))


@settings(max_examples=80, deadline=None)
@given(st.integers(6, 24), st.integers(6, 24), stacks, st.data())
def test_nested_fields_are_nested_and_are_the_measured_fields(h, w, layers, data):
    """Each box is the measured receptive field of its unit and lies inside the next box."""
    report = analyze((1, h, w), layers)
    assume(report.ok)
    _, oh, ow = report.output_shape
    unit = (data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1)))
    try:
        chain = nested_fields(report, unit)
    except ValueError as error:  # a unit whose window holds only padding
        assert "only padding" in str(error)
        return
    assert [index for index, *_ in chain] == list(range(1, len(layers) + 1))
    assert chain[-1][1] == unit
    no_padding = all(layer.padding == (0, 0) for layer in layers)
    for (index, u, corner, size), r in zip(chain, report.layers, strict=True):
        assert size == r.rf
        measured = impulse_response((1, h, w), layers[:index], out_pixel=u) > 0
        box = np.zeros((h, w), dtype=bool)
        (top, left), (bottom, right) = np.maximum(corner, 0), np.maximum(np.add(corner, size), 0)
        box[top:bottom, left:right] = True
        assert not (measured & ~box).any()  # nothing outside the formula's box reaches the unit
        if no_padding:  # and without padding the box is exactly the measured field's extent
            rows, cols = np.flatnonzero(measured.any(axis=1)), np.flatnonzero(measured.any(axis=0))
            assert (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1) == (
                *corner,
                corner[0] + size[0],
                corner[1] + size[1],
            )
    for (_, _, inner, s_in), (_, _, outer, s_out) in zip(chain[:-1], chain[1:], strict=True):
        for a in (0, 1):
            assert outer[a] <= inner[a] and inner[a] + s_in[a] <= outer[a] + s_out[a]


def test_nested_fields_rejects_bad_arguments():
    report = analyze((1, 32, 32), [Conv(6, 5), Pool(2)])
    with pytest.raises(TypeError, match="StackReport"):
        nested_fields([Conv(6, 5)])
    with pytest.raises(ValueError, match="last must be"):
        nested_fields(report, last=3)
    with pytest.raises(ValueError, match="outside layer 2"):
        nested_fields(report, (14, 0))
    with pytest.raises(ValueError, match="has no output"):
        nested_fields(analyze((1, 4, 4), [Conv(1, 5)]))
