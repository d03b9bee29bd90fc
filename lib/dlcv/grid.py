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

import itertools
from collections.abc import Callable, Iterable, Mapping

from joblib import Parallel, delayed
from tqdm.auto import tqdm

__all__ = ["grid", "run_grid"]


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
