"""dlcv.timing.median_seconds: the median of the calls' times, and clear errors."""

import itertools

import pytest

from dlcv import timing


def test_median_of_an_odd_and_an_even_number_of_calls(monkeypatch):
    ticks = itertools.chain.from_iterable((0.0, d) for d in (0.3, 0.1, 0.2, 0.9))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    assert timing.median_seconds(lambda: None, repeats=3) == pytest.approx(0.2)
    ticks = itertools.chain.from_iterable((0.0, d) for d in (0.4, 0.1, 0.2, 0.3))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))
    assert timing.median_seconds(lambda: None, repeats=4) == pytest.approx(0.25)


def test_calls_the_function_repeats_times():
    calls = []
    assert timing.median_seconds(lambda: calls.append(1), repeats=7) >= 0
    assert len(calls) == 7


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((3,), TypeError, "fn must be a function of no arguments, got int"),
        ((print, 2.0), TypeError, "repeats must be an integer, got 2.0"),
        ((print, 0), ValueError, "repeats must be at least 1, got 0"),
    ],
)
def test_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        timing.median_seconds(*args)
