"""Argument checks shared by the library, so the same mistake gets the same error everywhere.

* a float, a bool or a string where a whole number is needed: ``TypeError``;
* a whole number out of range: ``ValueError``;
* a value that is not one of the allowed choices: ``ValueError``.

Every message names the argument and the value it got.

>>> check_int(3, "stride", 1)
3
>>> int_pair(2, "kernel_size", 1)
(2, 2)
>>> check_int(2.0, "stride", 1)
Traceback (most recent call last):
    ...
TypeError: stride must be an integer, got 2.0
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "check_choice",
    "check_int",
    "float_dtype",
    "generator",
    "int_pair",
]


def check_int(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an int after checking it is a whole number ``>= minimum``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def int_pair(value, name: str, minimum: int | None = None) -> tuple[int, int]:
    """``value`` (an int, or a pair of ints, each ``>= minimum``) as a pair of ints."""
    sequence = isinstance(value, (tuple, list)) or (
        isinstance(value, np.ndarray) and value.ndim == 1
    )
    pair = tuple(value) if sequence else (value, value)
    if len(pair) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    try:
        return tuple(check_int(v, name, minimum) for v in pair)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    except ValueError:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}") from None


def check_choice(value, name: str, choices) -> str:
    """``value`` after checking it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def generator(rng, name: str = "rng") -> np.random.Generator:
    """A NumPy random generator from ``None`` (fresh entropy), an int seed or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be None, an int seed or a numpy Generator, got {type(rng).__name__}"
    )


def float_dtype(dtype) -> np.dtype:
    """The floating dtype used to compute with data of ``dtype``: integers and bools
    become float64, float16 becomes float32, float32 and float64 stay."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype.itemsize < 4:
        return np.dtype(np.float32)
    return dtype


def as_float_array(a, name: str, ndims, layout: str, dtype=None) -> np.ndarray:
    """``a`` as a non-empty floating array after checking it.

    Parameters
    ----------
    a : array_like
        The argument to check.
    name : str
        Its name, used in error messages.
    ndims : tuple of int
        Accepted numbers of dimensions.
    layout : str
        The expected layout, e.g. ``"(H, W) or (H, W, C)"``, for messages.
    dtype : numpy.dtype, optional
        Cast to this dtype; by default :func:`float_dtype` of the input's.
    """
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:  # ragged nested lists, odd objects
        raise TypeError(f"{name} must be a numeric array {layout}; {err}") from None
    if arr.dtype.kind not in "biuf":
        kind = "complex" if arr.dtype.kind == "c" else "non-numeric"
        raise TypeError(
            f"{name} must hold real numbers (bool, int or float), got the {kind} "
            f"dtype {arr.dtype} with shape {arr.shape}"
        )
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have shape {layout}, got {arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr.astype(float_dtype(arr.dtype) if dtype is None else dtype, copy=False)
