"""Run a grid of experiments (trainings), one process per run, on any number of workers.

The scripts in ``scripts/`` that train many models (a few sizes x a few settings x a few
seeds) describe each run as a dict of keyword arguments and hand the list to
:func:`run_grid`::

    configs = grid(n_train=[100, 300], augmentation=["none", "flips"], seed=range(5))
    rows = run_grid(train_one, configs, jobs=2)      # one result per config, in order

Each run goes to a worker process of its own (``joblib``'s ``loky`` backend); with
``jobs=1`` the runs execute one after the other in this process. A run must depend on
its arguments alone (seed every random generator from them, limit BLAS to one thread
inside the run), and then its result is the same bit for bit whatever the number of
workers. ``backend="dask"`` sends the runs to a Dask cluster instead (``pip install
distributed``, then create a ``distributed.Client`` for the cluster before calling);
the experiment code does not change.
"""

from __future__ import annotations

import csv
import datetime
import itertools
import math
import platform
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from joblib import Parallel, delayed
from tqdm.auto import tqdm

__all__ = [
    "check_rows",
    "grid",
    "library_version",
    "provenance",
    "read_csv",
    "read_results",
    "run_grid",
    "write_csv",
]


def grid(**axes: Iterable) -> list[dict]:
    """Every combination of the given values, as a list of keyword-argument dicts.

    The last axis varies fastest: ``grid(a=[1, 2], b=["x", "y"])`` gives
    ``[{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]``.
    """
    names = list(axes)
    values = []
    for name in names:
        if isinstance(axes[name], str | bytes):
            raise TypeError(f"{name} must be a list of values, got the string {axes[name]!r}")
        values.append(list(axes[name]))
        if not values[-1]:
            raise ValueError(f"{name} has no values: every axis of the grid needs at least one")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _indexed(i: int, run: Callable, config: dict):
    return i, run(**config)


def run_grid(
    run: Callable,
    configs: Iterable[Mapping],
    *,
    jobs: int = 1,
    backend: str | None = None,
    desc: str = "runs",
    progress: bool = True,
) -> list:
    """``run(**config)`` for every config, on ``jobs`` worker processes; results in order.

    Parameters
    ----------
    run : callable
        A function defined at module level (it is sent to the workers by pickling).
    configs : iterable of dict
        Keyword arguments of each run, e.g. from :func:`grid`.
    jobs : int
        Worker processes; 1 runs here, one run after another; -1 uses every core.
    backend : str, optional
        A ``joblib`` backend: ``"loky"`` (the default when ``jobs != 1``) or ``"dask"``
        (needs a ``distributed.Client``).
    desc : str
        Label of the progress bar (``tqdm``, one tick per finished run).
    progress : bool
        Show the progress bar.

    Returns
    -------
    list
        ``[run(**configs[0]), run(**configs[1]), ...]``.
    """
    if not callable(run):
        raise TypeError(f"run must be a function, got {type(run).__name__}")
    configs = list(configs)
    for i, config in enumerate(configs):
        if not isinstance(config, Mapping):
            raise TypeError(
                f"configs[{i}] must be a dict of keyword arguments, got {type(config).__name__}"
            )
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise TypeError(f"jobs must be an int, got {type(jobs).__name__}")
    if jobs == 0 or jobs < -1:
        raise ValueError(f"jobs must be a positive number of workers or -1 (all cores), got {jobs}")
    tasks = (delayed(_indexed)(i, run, dict(c)) for i, c in enumerate(configs))
    parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator_unordered")
    results: list = [None] * len(configs)
    with tqdm(total=len(configs), desc=desc, unit="run", disable=not progress) as bar:
        for i, result in parallel(tasks):
            results[i] = result
            bar.update()
    return results


def library_version() -> str:
    """The git commit of the checkout this library runs from, and whether its code in
    ``lib/dlcv`` has uncommitted changes (edited files, or ``.py`` files never committed;
    CSV files, which the scripts write, don't count); ``"unknown (not a git checkout)"``
    for an installed copy.

    Scripts write it into the header of every CSV they make, so a table in a chapter can
    be traced to the code that produced it.
    """
    root = Path(__file__).resolve().parents[2]
    git = ["git", "-C", str(root)]
    try:
        if not (root / ".git").exists():
            raise OSError
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(  # tracked files of the library edited since the commit
            [*git, "diff", "--name-only", "HEAD", "--", "lib/dlcv"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        new = subprocess.run(  # library code not committed at all (output files don't count)
            [*git, "ls-files", "--others", "--exclude-standard", "--", "lib/dlcv/*.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        dirty = [f for f in changed if not f.endswith(".csv")] + new
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in lib/dlcv" if dirty else "")


def write_csv(path, rows: list[dict], columns: list[str], comments: Iterable[str]) -> Path:
    """Write ``rows`` as CSV after ``# `` comment lines (command, date, version, ...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        for line in comments:
            f.write(f"# {line}\n")
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def provenance(command: str, jobs: int, wall: float) -> list[str]:
    """Comment lines for :func:`write_csv`: command, date, library version, machine."""
    import numpy as np

    return [
        f"command: {command.strip()}",
        f"date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"library: dlcv at {library_version()}",
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}; {jobs} worker(s), wall time {wall:.0f} s",
    ]


def _number(text: str):
    """A CSV field as an int or a float when it is one, else the text ("" stays "")."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv(path) -> tuple[list[dict], list[str]]:
    """The rows (numbers converted) and the ``# `` comment lines of a :func:`write_csv` file.

    A row with more or fewer fields than the header raises ``ValueError`` naming the file
    and the row (a line cut short or two lines run together).
    """
    with Path(path).open(newline="", encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = [line[2:] for line in lines if line.startswith("# ")]
    body = [line for line in lines if not line.startswith("#")]
    rows = []
    for number, row in enumerate(csv.DictReader(body), start=1):
        if None in row or None in row.values():
            more = "more" if None in row else "fewer"
            raise ValueError(f"{path} is damaged at row {number}: it has {more} fields than "
                             "the header; run the script that wrote it again")  # fmt: skip
        rows.append({k: _number(v) for k, v in row.items()})
    return rows, header


#: What a column of a results file may hold (see :func:`check_rows`).
KINDS = ("text", "number", "blank", "-inf")


def _holds(value, kinds) -> bool:
    return (
        ("text" in kinds and isinstance(value, str) and bool(value))
        or ("blank" in kinds and value == "")
        or ("-inf" in kinds and value == -math.inf)
        or ("number" in kinds and isinstance(value, (int, float)) and math.isfinite(value))
    )


def check_rows(name: str, rows: list[dict], columns: list[str], kinds: Mapping, script: str):
    """Refuse a results table that its script cannot have written.

    ``rows`` are :func:`read_csv`'s rows of the file ``name``; every column of ``columns``
    must be there, and every value of it must be of one of the kinds ``kinds[column]``
    (a tuple of :data:`KINDS`: ``"text"`` a non-empty string, ``"number"`` a finite number,
    ``"blank"`` an empty field, ``"-inf"`` minus infinity); a column not in ``kinds`` holds
    finite numbers. Raises ``ValueError`` naming the file, the row, the column and
    ``script`` (which makes the file again).
    """
    if not rows or any(c not in rows[0] for c in columns):
        have = sorted(rows[0]) if rows else []
        raise ValueError(f"{name} is damaged or not a file of {script}: expected the columns "
                         f"{columns}, found {have}")  # fmt: skip
    for column, allowed in kinds.items():
        unknown = set(allowed) - set(KINDS)
        if unknown:
            raise ValueError(f"kinds[{column!r}] must be drawn from {KINDS}, got {allowed!r}")
    for number, row in enumerate(rows, start=1):
        for column in columns:
            if not _holds(row[column], kinds.get(column, ("number",))):
                raise ValueError(f"{name} is damaged at row {number}: {column} = "
                                 f"{row[column]!r}; run {script} again")  # fmt: skip


def read_results(
    names: Iterable[str], script: str, folder=None
) -> list[tuple[list[dict], list[str]]]:
    """:func:`read_csv` of each file ``names`` in ``folder`` (the package's ``assets`` by
    default); a missing file is a ``FileNotFoundError`` naming ``script``, which makes it."""
    import importlib.resources

    base = Path(folder) if folder is not None else importlib.resources.files("dlcv") / "assets"
    paths = [Path(base) / name for name in names]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run `python {script}` from the repository root to make it"
            )
    return [read_csv(path) for path in paths]
