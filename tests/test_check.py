"""Tests for dlcv.check: every check prints one ✅/❌/⬜ line and returns True, False or None
(not answered yet), and never raises."""

import numpy as np
import pytest

from dlcv.check import (
    answered,
    check_array,
    check_function,
    check_true,
    check_value,
    is_placeholder,
)

NONE_HINT = "(print() and in-place methods return None)."
NEUTRAL = "not answered yet. Replace the ... with your answer and run the cell again."


def printed(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"expected exactly one line, got {out!r}"
    return out.strip()


# ------------------------------------------------------------------------ check_array
def test_check_array_accepts_a_correct_answer_within_tolerance(capsys):
    expected = np.arange(9.0).reshape(3, 3)
    assert check_array(expected + 1e-8, expected) is True
    line = printed(capsys)
    assert line.startswith("✅ your kernel is correct") and "(3, 3)" in line
    assert check_array(expected.astype(int).tolist(), expected, name="the sum") is True
    assert printed(capsys).startswith("✅ the sum is correct")


def test_check_array_reports_both_shapes(capsys):
    assert check_array(np.zeros((2, 3)), np.zeros((3, 3))) is False
    assert printed(capsys) == "❌ your kernel has shape (2, 3), expected shape (3, 3)."


def test_check_array_reports_the_largest_difference_and_where(capsys):
    expected = np.zeros((4, 5))
    answer = expected.copy()
    answer[1, 2], answer[3, 4] = 0.25, -2.0
    assert check_array(answer, expected, name="the feature map") is False
    assert printed(capsys) == (
        "❌ the feature map differs in 2 of 20 values; the largest difference is 2 at "
        "index (3, 4): yours -2, expected 0."
    )


def test_check_array_tolerance(capsys):
    expected = np.ones(3)
    assert check_array(expected + 1e-3, expected, atol=1e-2) is True
    assert check_array(expected + 1e-3, expected) is False
    assert check_array(expected * 1.001, expected, atol=0, rtol=1e-2) is True
    capsys.readouterr()


def test_check_array_nan_and_infinity(capsys):
    expected = np.array([1.0, np.nan, np.inf])
    assert check_array(expected.copy(), expected) is True
    capsys.readouterr()
    answer = np.array([np.nan, np.nan, np.inf])
    assert check_array(answer, expected) is False
    assert printed(capsys) == (
        "❌ your kernel differs in 1 of 3 values; the largest difference is inf at index (0,): "
        "yours nan, expected 1."
    )
    assert check_array(np.array([1.0, np.nan, -np.inf]), expected) is False
    assert "at index (2,): yours -inf, expected inf" in printed(capsys)


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("kernel", "'kernel'"),
        ({"a": 1}, "{'a': 1}"),
        (np.array(["a", "b"]), "an array of shape (2,)"),
    ],
)
def test_check_array_wrong_type_says_what_was_expected(capsys, answer, shown):
    assert check_array(answer, np.zeros((3, 3))) is False
    line = printed(capsys)
    assert line.startswith(
        "❌ your kernel should be a NumPy array of numbers with shape (3, 3), got"
    )
    assert shown in line


def test_check_array_placeholder_is_neutral(capsys):
    assert check_array(..., np.zeros(2)) is None
    assert printed(capsys) == f"⬜ your kernel: {NEUTRAL}"


def test_check_array_none_is_wrong_not_a_placeholder(capsys):
    assert check_array(None, np.zeros(2)) is False
    assert printed(capsys) == "❌ your kernel is None; assign your answer to it " + NONE_HINT


def test_check_array_ragged_list(capsys):
    assert check_array([[1, 2], [3]], np.zeros((2, 2))) is False
    assert "should be a NumPy array of numbers" in printed(capsys)


# ------------------------------------------------------------------------ check_value
def test_check_value_numbers(capsys):
    assert check_value(30, 30, name="the output width") is True
    assert printed(capsys) == "✅ the output width is correct: 30."
    assert check_value(np.int64(30), 30) is True
    assert check_value(0.1 + 0.2, 0.3) is True
    assert check_value(0.31, 0.3, tol=0.05) is True
    capsys.readouterr()
    assert check_value(31, 30, name="the output width") is False
    assert printed(capsys) == "❌ the output width is 31, expected 30."


def test_check_value_tuples_report_the_first_wrong_item(capsys):
    assert check_value((30, 30), (30, 30), name="the output size") is True
    assert check_value([30, 30], (30, 30)) is True  # a list is fine
    capsys.readouterr()
    assert check_value((30, 31), (30, 30), name="the output size") is False
    assert printed(capsys) == "❌ the output size: item [1] is 31, expected 30."
    assert check_value((30,), (30, 30), name="the output size") is False
    assert printed(capsys) == "❌ the output size has 1 items, expected 2."
    assert check_value(((1, 2), (3, 5)), ((1, 2), (3, 4))) is False
    assert printed(capsys) == "❌ your answer: item [1][1] is 5, expected 4."


@pytest.mark.parametrize(
    ("answer", "expected", "message"),
    [
        ("30", 30, "❌ your answer should be a number like 30, got '30'."),
        (True, 1, "❌ your answer should be a number like 1, got True."),
        (30, (30, 30), "❌ your answer should be a tuple of 2 items, got 30."),
        ("yes", True, "❌ your answer should be True or False, got 'yes'."),
        (
            None,
            3,
            "❌ your answer is None; assign your answer to it " + NONE_HINT,
        ),
        ("max", "avg", "❌ your answer is 'max', expected 'avg'."),
    ],
)
def test_check_value_wrong_types(capsys, answer, expected, message):
    assert check_value(answer, expected) is False
    assert printed(capsys) == message


def test_check_value_bools_strings_and_arrays_inside_tuples(capsys):
    assert check_value(np.bool_(True), True) is True
    assert check_value("valid", "valid") is True
    assert check_value((np.ones(2), 3), (np.ones(2), 3)) is True
    capsys.readouterr()
    assert check_value((np.ones(3), 3), (np.ones(2), 3)) is False
    assert printed(capsys) == "❌ your answer: item [0] has shape (3,), expected shape (2,)."


# ------------------------------------------------------------------------- check_true
def test_check_true(capsys):
    assert check_true(3 > 2, "bigger", "not bigger") is True
    assert printed(capsys) == "✅ bigger"
    assert check_true(np.all(np.zeros(3) > 1), "bigger", "not bigger") is False
    assert printed(capsys) == "❌ not bigger"
    assert check_true(np.array([True]), "one element is fine", "no") is True
    capsys.readouterr()


def test_check_true_with_an_ambiguous_condition(capsys):
    assert check_true(np.array([True, False]), "ok", "the values differ") is False
    line = printed(capsys)
    assert line.startswith("❌ the values differ (the condition has no single truth value:")


# --------------------------------------------------------------------- check_function
def reference_flip(image):
    return image[::-1, ::-1]


INPUTS = [np.random.default_rng(seed).random((4, 5)) for seed in range(3)]


def test_check_function_passes_a_correct_function(capsys):
    assert check_function(lambda im: np.rot90(im, 2), reference_flip, INPUTS, name="flip") is True
    assert printed(capsys) == "✅ flip matches the reference on all 3 tests."


def test_check_function_reports_the_first_failing_input(capsys):
    def wrong(image):
        return image[::-1]

    assert check_function(wrong, reference_flip, INPUTS, name="flip") is False
    line = printed(capsys)
    assert line.startswith(
        "❌ flip gives a wrong result (test 1 of 3, arguments: an array of shape (4, 5) "
        "(float64)): the result differs in"
    )


def test_check_function_reports_exceptions_instead_of_raising(capsys):
    def broken(image):
        raise IndexError("index 7 is out of bounds")

    assert check_function(broken, reference_flip, INPUTS) is False
    assert printed(capsys) == (
        "❌ your function raised IndexError: index 7 is out of bounds "
        "(test 1 of 3, arguments: an array of shape (4, 5) (float64))."
    )


def test_check_function_tuples_are_argument_lists_and_inputs_are_copied(capsys):
    def scale_in_place(x, k):
        x *= k  # a learner who changes the input must not corrupt the reference
        return x

    cases = [(np.ones(3), 2.0), (np.arange(4.0), -1.0)]
    assert check_function(scale_in_place, lambda x, k: x * k, cases) is True
    np.testing.assert_array_equal(cases[0][0], np.ones(3))
    assert check_function(lambda n, k: n - k + 1, lambda n, k: n - k + 1, [(5, 3), (28, 5)]) is True
    capsys.readouterr()
    assert (
        check_function(lambda n, k: n - k, lambda n, k: n - k + 1, [(5, 3)], name="size") is False
    )
    assert printed(capsys) == (
        "❌ size gives a wrong result (test 1 of 1, arguments: 5, 3): the result is 2, expected 3."
    )


def test_check_function_wrong_return_type_and_not_callable(capsys):
    assert check_function(lambda im: None, reference_flip, INPUTS) is False
    assert printed(capsys) == (
        "❌ your function returned None (test 1 of 3, arguments: an array of shape (4, 5) "
        "(float64)): did you forget to return?"
    )
    assert check_function(lambda im: "flipped", reference_flip, INPUTS) is False
    assert (
        "the result should be a NumPy array of numbers with shape (4, 5), got 'flipped'"
        in printed(capsys)
    )
    assert check_function("flip", reference_flip, INPUTS) is False
    assert printed(capsys) == "❌ your function should be a function, got 'flip'."


def test_check_function_needs_inputs():
    with pytest.raises(ValueError, match="inputs is empty"):
        check_function(reference_flip, reference_flip, [])


# ------------------------------------------------------------------ the placeholder
@pytest.mark.parametrize(
    ("answer", "expected"),
    [(..., True), ((24, ...), True), ([[1, ...]], True), ((24, 14), False), (None, False)],
)
def test_is_placeholder(answer, expected):
    assert is_placeholder(answer) is expected


def test_check_value_partly_answered_tuple_is_neutral(capsys):
    assert check_value((24, ...), (24, 14), name="your output sizes") is None
    assert printed(capsys) == f"⬜ your output sizes: {NEUTRAL}"


def test_check_function_placeholder_and_not_implemented_are_neutral(capsys):
    assert check_function(..., abs, [1.0], name="my_abs") is None
    assert printed(capsys) == f"⬜ my_abs: {NEUTRAL}"

    def my_abs(x):
        raise NotImplementedError("your answer")

    assert check_function(my_abs, abs, [1.0], name="my_abs") is None
    assert printed(capsys) == (
        "⬜ my_abs: not answered yet. Replace the line that raises NotImplementedError with "
        "your answer and run the cell again."
    )


def test_answered_guards_hand_written_checks(capsys):
    assert answered(1, np.zeros(2), name="my_edge") is True
    assert capsys.readouterr().out == ""
    assert answered(np.zeros(2), ..., name="my_edge") is False
    assert printed(capsys) == f"⬜ my_edge: {NEUTRAL}"
