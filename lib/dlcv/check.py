"""Self-checks for the exercises: one line, ✅ right, ❌ wrong with a hint, ⬜ not answered.

An exercise's answer cell ships with the placeholder ``...`` (or, for a function, a body
that raises ``NotImplementedError``). Every check recognises it and prints a neutral
"not answered yet" line and returns None, so a page read top to bottom shows no verdict
until the learner has written something. A check never raises because an answer is wrong,
has the wrong type or crashes: the learner sees one line that says what was expected
instead of a traceback. (A mistake by the notebook author, such as an empty list of test
inputs, still raises.)

>>> import numpy as np
>>> from dlcv.check import check_array, check_value
>>> check_array(np.eye(3), np.eye(3), name="your kernel")
✅ your kernel is correct: shape (3, 3), every value within 1e-06 of the expected one.
True
>>> check_value((30, 31), (30, 30), name="the output size")
❌ the output size: item [1] is 31, expected 30.
False
>>> check_value(..., (30, 30), name="the output size")
⬜ the output size: not answered yet. Replace the ... with your answer and run the cell again.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable

import numpy as np

__all__ = [
    "NOT_ANSWERED",
    "answered",
    "check_array",
    "check_function",
    "check_true",
    "check_value",
    "is_placeholder",
]

#: The mark that starts the neutral line (tests look for it).
NOT_ANSWERED = "⬜"


def is_placeholder(answer) -> bool:
    """True if ``answer`` is, or still contains, the exercise placeholder ``...``.

    A tuple or list counts as unanswered while any of its items (at any depth) is ``...``,
    so ``sizes = (24, ...)`` is "not answered yet", not wrong.
    """
    if answer is Ellipsis:
        return True
    if isinstance(answer, (tuple, list)):
        return any(is_placeholder(item) for item in answer)
    return False


def _not_answered(name: str, what: str = "the ...") -> None:
    print(
        f"{NOT_ANSWERED} {name}: not answered yet. Replace {what} with your answer and "
        "run the cell again."
    )


def answered(*answers, name: str = "your answer") -> bool:
    """False (and the neutral "not answered yet" line) while any answer is the placeholder.

    For checks written by hand in a notebook::

        if answered(my_edge, name="my_edge"):
            ...  # compute and call check_true
    """
    if any(is_placeholder(a) for a in answers):
        _not_answered(name)
        return False
    return True


def _report(ok: bool, message: str) -> bool:
    print(f"{'✅' if ok else '❌'} {message}")
    return ok


def _show(x, limit: int = 60) -> str:
    """Short description of a value for a message."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} ({x.dtype})"
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(subject: str, reason: str) -> str:
    """'the size is 3, ...' or, for an item of a sequence, 'the size: item [1] is 3, ...'."""
    return f"{subject}{': ' if reason.startswith('item ') else ' '}{reason}"


def _fmt(v) -> str:
    return f"{float(v):.6g}" if isinstance(v, (float, np.floating)) else repr(v)


def _array_reason(answer, expected: np.ndarray, atol: float, rtol: float) -> str | None:
    """Why ``answer`` does not match ``expected`` (None if it does)."""
    if answer is None:
        return "is None; assign your answer to it (print() and in-place methods return None)"
    try:
        got = np.asarray(answer)
    except Exception:  # e.g. ragged nested lists
        got = None
    if got is None or got.dtype.kind not in "biuf":
        return (
            f"should be a NumPy array of numbers with shape {expected.shape}, got {_show(answer)}"
        )
    if got.shape != expected.shape:
        return f"has shape {got.shape}, expected shape {expected.shape}"
    got, want = got.astype(np.float64), expected.astype(np.float64)
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    with np.errstate(invalid="ignore"):  # inf - inf
        diff = np.where(close, -1.0, np.nan_to_num(np.abs(got - want), nan=np.inf))
    where = np.unravel_index(np.argmax(diff), diff.shape)
    return (
        f"differs in {int((~close).sum())} of {close.size} values; the largest difference is "
        f"{_fmt(diff[where])} at index {tuple(int(i) for i in where)}: "
        f"yours {_fmt(got[where])}, expected {_fmt(want[where])}"
    )


def _is_number(x) -> bool:
    return isinstance(x, (numbers.Real, np.number)) and not isinstance(x, (bool, np.bool_))


def _value_reason(answer, expected, tol: float, where: str = "") -> str | None:
    """Why ``answer`` differs from ``expected`` (numbers, bools, strings, sequences)."""
    at = f"item {where} " if where else ""
    if answer is None and expected is not None:
        return f"{at}is None; assign your answer to it (print() and in-place methods return None)"
    if isinstance(expected, np.ndarray):
        reason = _array_reason(answer, expected, atol=tol, rtol=0.0)
        return None if reason is None else f"{at}{reason}"
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(answer, (bool, np.bool_)):
            return f"{at}should be True or False, got {_show(answer)}"
        return None if bool(answer) == bool(expected) else f"{at}is {answer}, expected {expected}"
    if _is_number(expected):
        if not _is_number(answer) and not (isinstance(answer, np.ndarray) and answer.ndim == 0):
            return f"{at}should be a number like {_fmt(expected)}, got {_show(answer)}"
        if not abs(float(answer) - float(expected)) <= tol:
            return f"{at}is {_fmt(answer)}, expected {_fmt(expected)}"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(answer, (tuple, list, np.ndarray)) or getattr(answer, "ndim", 1) == 0:
            kind = f"a {type(expected).__name__} of {len(expected)} items"
            return f"{at}should be {kind}, got {_show(answer)}"
        if len(answer) != len(expected):
            return f"{at}has {len(answer)} items, expected {len(expected)}"
        for i, (a, e) in enumerate(zip(answer, expected, strict=True)):
            reason = _value_reason(a, e, tol, f"{where}[{i}]")
            if reason is not None:
                return reason
        return None
    return None if answer == expected else f"{at}is {_show(answer)}, expected {_show(expected)}"


def check_array(
    answer, expected, name: str = "your kernel", atol: float = 1e-6, rtol: float = 0.0
) -> bool | None:
    """Compare a learner's array with the expected one, element by element.

    Parameters
    ----------
    answer : array_like
        The learner's answer (anything; a wrong type gives ❌, not an exception).
    expected : array_like of numbers
        The correct array.
    name : str, default "your kernel"
        What the answer is called in the message.
    atol, rtol : float
        Values match when ``|answer - expected| <= atol + rtol * |expected|``;
        NaN matches NaN.

    Returns
    -------
    bool or None
        True when shapes agree and every value matches. Prints ✅, or ❌ with the shapes
        or with how many values differ and the largest difference, where, and both values;
        None (and the neutral ⬜ line) while the answer is the placeholder ``...``.
    """
    if is_placeholder(answer):
        return _not_answered(name)
    expected = np.asarray(expected)
    reason = _array_reason(answer, expected, atol, rtol)
    if reason is None:
        within = f"every value within {atol:g} of the expected one"
        return _report(True, f"{name} is correct: shape {expected.shape}, {within}.")
    return _report(False, f"{_join(name, reason)}.")


def check_value(answer, expected, name: str = "your answer", tol: float = 1e-9) -> bool | None:
    """Compare a number, bool, string or (nested) tuple/list such as an output size.

    Parameters
    ----------
    answer : object
        The learner's answer.
    expected : number, bool, str, tuple or list (may nest, may hold arrays)
        The correct value. A list and a tuple of the same items count as equal.
    name : str, default "your answer"
        What the answer is called in the message.
    tol : float, default 1e-9
        Numbers match when ``|answer - expected| <= tol``.

    Returns
    -------
    bool or None
        True when the answer matches; prints ✅ or ❌ with the first difference; None
        (and the neutral ⬜ line) while the answer is, or contains, the placeholder ``...``.
    """
    if is_placeholder(answer):
        return _not_answered(name)
    reason = _value_reason(answer, expected, tol)
    if reason is None:
        return _report(True, f"{name} is correct: {_show(expected)}.")
    return _report(False, f"{_join(name, reason)}.")


def check_true(condition, ok_message: str, fail_message: str) -> bool:
    """Print ``ok_message`` with ✅ if ``condition`` holds, else ``fail_message`` with ❌.

    Parameters
    ----------
    condition : bool
        Anything with an unambiguous truth value (a one-element array counts); an
        ambiguous one, such as a many-element array, gives ❌ saying so.
    ok_message, fail_message : str

    Returns
    -------
    bool

    Notes
    -----
    ``check_true`` cannot see the learner's answer, only the condition computed from it;
    guard it with :func:`answered` so the placeholder gives the neutral line, not ❌.
    """
    try:
        ok = bool(condition)
    except Exception as exc:
        return _report(False, f"{fail_message} (the condition has no single truth value: {exc})")
    return _report(ok, ok_message if ok else fail_message)


def check_function(
    func: Callable,
    reference: Callable,
    inputs: Iterable,
    name: str = "your function",
    atol: float = 1e-6,
) -> bool | None:
    """Run a learner's function and a reference on the same inputs and compare results.

    Parameters
    ----------
    func : callable
        The learner's function. An exception it raises is reported as ❌ with its
        type and message; it gets its own deep copy of every input, so changing an
        input in place cannot affect the reference.
    reference : callable
        The correct implementation.
    inputs : iterable
        Test cases. A tuple is a tuple of positional arguments; anything else (e.g.
        one array) is a single argument, so wrap a single tuple argument as ``(t,)``.
    name : str, default "your function"
    atol : float, default 1e-6
        Tolerance for numbers and arrays in the results.

    Returns
    -------
    bool or None
        True when every case matches; prints ✅, or ❌ for the first case that fails;
        None (and the neutral ⬜ line) while ``func`` is the placeholder ``...`` or raises
        ``NotImplementedError`` (the body an exercise ships with).

    Raises
    ------
    ValueError
        If ``inputs`` is empty (a mistake in the notebook, not in the answer).
    """
    cases = [case if isinstance(case, tuple) else (case,) for case in inputs]
    if not cases:
        raise ValueError("inputs is empty: give at least one test case")
    if is_placeholder(func):
        return _not_answered(name)
    if not callable(func):
        return _report(False, f"{name} should be a function, got {_show(func)}.")
    for number, args in enumerate(cases, start=1):
        where = f"test {number} of {len(cases)}, arguments: {', '.join(_show(a) for a in args)}"
        expected = reference(*copy.deepcopy(args))
        try:
            got = func(*copy.deepcopy(args))
        except NotImplementedError:
            return _not_answered(name, "the line that raises NotImplementedError")
        except Exception as exc:
            return _report(False, f"{name} raised {type(exc).__name__}: {exc} ({where}).")
        if got is None and expected is not None:
            return _report(False, f"{name} returned None ({where}): did you forget to return?")
        reason = _value_reason(got, expected, atol)
        if reason is not None:
            message = f"{name} gives a wrong result ({where}): {_join('the result', reason)}."
            return _report(False, message)
    return _report(True, f"{name} matches the reference on all {len(cases)} tests.")
