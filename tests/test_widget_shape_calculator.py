"""The shape calculator widget, driven the way a learner drives it: set values, click."""

from __future__ import annotations

import re

import pytest

from dlcv.shapes import PRESETS, Conv, Pool, analyze
from dlcv.widgets.shape_calculator import ShapeCalculator, render_table


def _cells(table_html: str) -> list[list[str]]:
    """Text of every table row's cells (problem rows have a single cell)."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table_html)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in rows]


def test_default_table_matches_the_library():
    calc = ShapeCalculator()
    expected = analyze((1, 28, 28), [Conv(8, 5), Pool(2)])
    assert calc.report == expected
    cells = _cells(calc.table.value)
    assert cells[0][:3] == ["#", "layer", "output (C×H×W)"]
    assert cells[2][2] == "8×24×24" and cells[3][2] == "8×12×12"
    assert cells[2][3] == "208"  # 8 * 1 * 5 * 5 + 8
    assert calc.error is None and calc.message.value == calc.status.value == ""


def test_editing_a_control_updates_the_table():
    calc = ShapeCalculator()
    before = calc.table.value
    calc.rows[0].kernel.value = 3
    assert calc.table.value != before
    assert calc.report.layers[0].out_shape == (8, 26, 26)
    calc.rows[0].filters.value = 16
    calc.rows[0].padding.value = 1
    assert calc.report.layers[0].out_shape == (16, 28, 28)
    assert calc.report.layers[0].params == 16 * 9 + 16
    calc.in_c.value = 3
    assert calc.report.layers[0].params == 16 * 27 + 16
    calc.rows[0].dilation.value = 2
    assert calc.report.layers[0].rf == (5, 5)


def test_add_and_remove_buttons():
    calc = ShapeCalculator()
    calc.add_conv.click()
    calc.add_pool.click()
    assert [layer.kind for layer in calc.layers()] == ["conv", "pool", "conv", "pool"]
    assert len(calc.report.layers) == 4 and len(_cells(calc.table.value)) == 1 + 5 + 1
    calc.rows[1].remove.click()
    assert [layer.kind for layer in calc.layers()] == ["conv", "conv", "pool"]
    assert calc.report == analyze((1, 28, 28), calc.layers())
    for _ in range(3):
        calc.rows[0].remove.click()
    assert calc.rows == [] and calc.report.output_shape == (1, 28, 28)


def test_pool_rows_disable_dilation_and_filters():
    calc = ShapeCalculator()
    row = calc.rows[0]
    row.dilation.value = 3
    row.kind.value = "avg pool"
    assert row.dilation.disabled and row.filters.disabled and row.dilation.value == 1
    assert calc.layers()[0] == Pool(5, stride=1, mode="avg")
    assert calc.report.layers[0].out_shape == (1, 24, 24)
    row.kind.value = "conv"
    assert not row.dilation.disabled and calc.report.layers[0].out_shape == (8, 24, 24)


def test_settings_that_do_not_fit_are_explained():
    calc = ShapeCalculator()
    table = calc.table.value
    calc.rows[0].kernel.value = 40  # larger than the 28x28 input: no output
    assert calc.error.startswith("Layer 1 (conv 40×40, 8 filters): output would be empty: ")
    assert "kernel 40 is larger than the padded input 28" in calc.error
    assert "the layers after it have no input" in calc.error and calc.table.value == table
    calc.rows[0].kernel.value = 5
    calc.rows[0].stride.value = 2
    assert calc.error is None and "12.5 is not an integer" in calc.table.value
    assert "layer(s) 1 do not fit" in calc.status.value
    assert calc.report.layers[0].out_shape == (8, 12, 12)  # floored, as conv2d does
    calc.rows[1].padding.value = 2  # row 1 is a 2x2 max pool: padding 2 > 2 // 2
    assert "Layer 2 (max pool 2×2" in calc.error and "more than half the pooling" in calc.error
    calc.rows[1].padding.value = 0
    calc.rows[0].stride.value = 1
    assert calc.status.value == "" and "⚠" not in calc.table.value


def test_presets_load_published_networks():
    calc = ShapeCalculator()
    calc.preset.value = "VGG-16 (conv part)"
    assert (calc.in_c.value, calc.in_h.value, calc.in_w.value) == (3, 224, 224)
    assert len(calc.rows) == len(PRESETS["VGG-16 (conv part)"][1])
    assert calc.report.total_params == 14_714_688
    assert "14,714,688" in calc.table.value
    calc = ShapeCalculator(preset="AlexNet conv1 (224 input)")
    assert "54.25 is not an integer" in calc.table.value
    with pytest.raises(ValueError, match="unknown preset"):
        ShapeCalculator(preset="ResNet-1000")


def test_render_table_escapes_and_summarises():
    report = analyze((1, 28, 28), [Conv(8, 5, padding=2)])
    text = render_table(report)
    assert "One dense layer from the input to the same output size would need" in text
    assert "4,923,520 parameters" in text  # 784 * 6272 + 6272
    assert "total: 208 parameters, 156,800 multiply-adds" in text  # 8*28*28*25
    fatal = render_table(analyze((1, 4, 4), [Pool(2), Conv(1, 5)]))
    assert "⛔ output would be empty" in fatal and "One dense layer" not in fatal
