"""dlcv.grid: the grid of runs, the same results on one or two worker processes."""

import re
import sys

import cloudpickle
import numpy as np
import pytest

from dlcv.grid import grid, run_grid

# The workers cannot import this test module by name: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def noisy_run(seed, size, scale=1.0):
    """A run that depends on its arguments alone: seeded noise and a small matmul."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(size, size)) * scale
    return {"seed": seed, "size": size, "value": float((a @ a.T).sum())}


def failing_run(seed):
    if seed == 2:
        raise ValueError(f"run {seed} failed")
    return seed


def test_grid_is_the_product_with_the_last_axis_fastest():
    assert grid(a=[1, 2], b=["x", "y"]) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    assert len(grid(n=[100, 300, 1000], setting=["a", "b", "c"], seed=range(5))) == 45


def test_grid_rejects_empty_axes_and_plain_strings():
    with pytest.raises(ValueError, match="seed has no values"):
        grid(seed=[])
    with pytest.raises(TypeError, match="setting must be a list of values"):
        grid(setting="none")


def test_results_are_in_config_order_and_identical_on_one_or_two_workers():
    configs = grid(seed=range(6), size=[3, 20])
    one = run_grid(noisy_run, configs, jobs=1, progress=False)
    two = run_grid(noisy_run, configs, jobs=2, progress=False)
    assert [(r["seed"], r["size"]) for r in one] == [(c["seed"], c["size"]) for c in configs]
    assert one == two  # bit for bit: the floats compare equal
    assert one == [noisy_run(**c) for c in configs]


def test_extra_keyword_arguments_reach_the_run():
    (result,) = run_grid(noisy_run, [{"seed": 1, "size": 4, "scale": 0.0}], progress=False)
    assert result["value"] == 0.0


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_in_a_run_reaches_the_caller(jobs):
    with pytest.raises(ValueError, match="run 2 failed"):
        run_grid(failing_run, grid(seed=range(4)), jobs=jobs, progress=False)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"run": 3}, TypeError, "run must be a function, got int"),
        ({"configs": [{"seed": 0}, 5]}, TypeError, r"configs\[1\] must be a dict"),
        ({"jobs": 1.0}, TypeError, "jobs must be an int, got float"),
        ({"jobs": 0}, ValueError, "jobs must be a positive number of workers or -1"),
        ({"jobs": -3}, ValueError, "jobs must be a positive number of workers or -1"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    args = {"run": noisy_run, "configs": [{"seed": 0, "size": 2}], "progress": False} | kwargs
    with pytest.raises(error, match=message):
        run_grid(**args)


def test_library_version_names_a_commit_or_says_it_cannot():
    from dlcv.grid import library_version

    version = library_version()
    known = r"commit [0-9a-f]{7,}( with uncommitted changes in lib/dlcv)?"
    assert re.fullmatch(known, version) or version == "unknown (not a git checkout)", version
