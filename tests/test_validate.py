"""One validation module: the same mistake gets the same error type everywhere, and no
module of the library imports another's private (``_name``) helpers."""

import ast
from pathlib import Path

import numpy as np
import pytest

from dlcv import augment, conv, data, layers, pool, shapes, shift, train
from dlcv.validate import as_float_array, check_choice, check_int, generator, int_pair

LIB = Path(__file__).resolve().parents[1] / "lib" / "dlcv"


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in sorted(LIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlcv"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private and node.module != "__future__":
                    offenders.append(f"{path.relative_to(LIB)}: {node.module} {private}")
    assert not offenders, "imports of private helpers:\n" + "\n".join(offenders)


x4 = np.ones((1, 1, 6, 6))
CASES = {  # a float (or bool) where the library needs a whole number: TypeError, always
    "correlate2d stride": lambda: conv.correlate2d(np.ones((5, 5)), np.ones((3, 3)), stride=1.0),
    "conv2d dilation": lambda: conv.conv2d(x4, np.ones((1, 1, 3, 3)), dilation=2.0),
    "output_size kernel": lambda: conv.output_size(10, 3.0),
    "max_pool2d kernel_size": lambda: pool.max_pool2d(x4, 2.0),
    "avg_pool2d stride": lambda: pool.avg_pool2d(x4, 2, stride=True),
    "Conv2D in_channels": lambda: layers.Conv2D(1.0, 2, 3),
    "Conv2D kernel_size": lambda: layers.Conv2D(1, 2, 3.0),
    "Dense in_features": lambda: layers.Dense(2.0, 3),
    "MaxPool2D stride": lambda: layers.MaxPool2D(2, stride=1.5),
    "fit epochs": lambda: train.fit(
        layers.Sequential([layers.Flatten(), layers.Dense(36, 2)]),
        np.ones((4, 1, 6, 6), np.float32),
        np.zeros(4, int),
        epochs=2.0,
        verbose=False,
    ),
    "shift_image dy": lambda: shift.shift_image(np.ones((4, 4)), 1.0, 0),
    "Conv (shapes) kernel_size": lambda: shapes.Conv(4, 3.5),
    "crop top": lambda: augment.crop(np.ones((8, 8)), 1.0, 0, 4, 4),
    "RandomCrop padding": lambda: augment.RandomCrop(4, padding=1.0),
    "Cutout size": lambda: augment.Cutout(2.0),
    "load_image max_size": lambda: data.load_image(b"not read", max_size=64.0),
    "load_image max_pixels": lambda: data.load_image(b"not read", max_pixels=1e6),
}


@pytest.mark.parametrize("call", CASES.values(), ids=CASES.keys())
def test_a_float_where_an_int_is_needed_is_a_type_error(call):
    with pytest.raises(TypeError):
        call()


def test_the_checks_and_their_messages():
    assert check_int(np.int64(3), "n", 1) == 3 and isinstance(check_int(np.int64(3), "n"), int)
    assert int_pair([2, 3], "size", 1) == (2, 3)
    with pytest.raises(TypeError, match="n must be an integer, got True"):
        check_int(True, "n")
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        check_int(0, "n", 1)
    with pytest.raises(TypeError, match=r"size must be an int or a pair of ints, got \(1, 2, 3\)"):
        int_pair((1, 2, 3), "size")
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice("x", "mode", ("a", "b"))
    g = np.random.default_rng(0)
    assert generator(g) is g
    assert generator(3).random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError, match="seed must be None, an int seed or a numpy Generator"):
        generator(1.5, "seed")
    assert as_float_array([1, 2], "v", (1,), "(N,)").dtype == np.float64
    assert as_float_array(np.ones(2, np.float16), "v", (1,), "(N,)").dtype == np.float32
    with pytest.raises(TypeError, match="v must hold real numbers"):
        as_float_array(["a"], "v", (1,), "(N,)")
    with pytest.raises(ValueError, match="v must not be empty"):
        as_float_array([], "v", (1,), "(N,)")
