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


# --------------------------------------------------------------- reading results back
def _write(tmp_path, text: str):
    path = tmp_path / "results.csv"
    path.write_text("# command: python scripts/x.py\n" + text, encoding="utf-8")
    return path


def test_read_csv_converts_numbers_and_keeps_the_comments(tmp_path):
    from dlcv.grid import read_csv

    rows, header = read_csv(_write(tmp_path, "name,n,x,note\na,3,0.5,\nb,-1,1e-3,fine\n"))
    assert header == ["command: python scripts/x.py"]
    assert rows == [{"name": "a", "n": 3, "x": 0.5, "note": ""},
                    {"name": "b", "n": -1, "x": 0.001, "note": "fine"}]  # fmt: skip


@pytest.mark.parametrize(("body", "more"), [("a,1\nb,2,3\n", "more"), ("a,1\nb\n", "fewer")])
def test_read_csv_refuses_a_row_of_the_wrong_length(tmp_path, body, more):
    from dlcv.grid import read_csv

    path = _write(tmp_path, "name,n\n" + body)
    with pytest.raises(ValueError, match=f"damaged at row 2: it has {more} fields than the header"):
        read_csv(path)


KINDS = {"name": ("text",), "low": ("blank", "number"), "t": ("number", "-inf")}
GOOD_ROW = {"name": "a", "low": "", "t": float("-inf"), "x": 2.5}


def test_check_rows_accepts_what_the_script_writes():
    from dlcv.grid import check_rows

    rows = [GOOD_ROW, {**GOOD_ROW, "low": 0.1, "t": 3}]
    assert check_rows("f.csv", rows, list(GOOD_ROW), KINDS, "scripts/x.py") is None


@pytest.mark.parametrize(
    ("column", "value"),
    [("name", ""), ("name", 3), ("low", "n/a"), ("low", float("nan")), ("t", ""),
     ("t", float("inf")), ("x", ""), ("x", "2.5"), ("x", float("-inf"))],
)  # fmt: skip
def test_check_rows_names_the_file_row_and_column_of_a_bad_value(column, value):
    from dlcv.grid import check_rows

    rows = [GOOD_ROW, {**GOOD_ROW, column: value}]
    with pytest.raises(ValueError, match=rf"f.csv is damaged at row 2: {column} = .*"
                                         r"run scripts/x.py again"):  # fmt: skip
        check_rows("f.csv", rows, list(GOOD_ROW), KINDS, "scripts/x.py")


def test_check_rows_refuses_a_lost_column_an_empty_table_and_unknown_kinds():
    from dlcv.grid import check_rows

    with pytest.raises(ValueError, match=r"not a file of scripts/x.py: expected the columns"):
        check_rows("f.csv", [{"name": "a"}], ["name", "x"], {}, "scripts/x.py")
    with pytest.raises(ValueError, match="found \\[\\]"):
        check_rows("f.csv", [], ["name"], {}, "scripts/x.py")
    with pytest.raises(ValueError, match=r"kinds\['x'\] must be drawn from"):
        check_rows("f.csv", [GOOD_ROW], ["x"], {"x": ("float",)}, "scripts/x.py")
