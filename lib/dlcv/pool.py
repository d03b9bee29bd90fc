"""Max and average pooling, forward and backward.

The forward functions follow ``torch.nn.functional.max_pool2d`` and
``avg_pool2d`` with their default options: floor mode (windows that would run
past the padded input are dropped), ``stride`` defaults to ``kernel_size``,
max pooling pads with ``-inf`` (padding never wins), average pooling pads
with zeros and always divides by ``kh*kw`` (``count_include_pad=True``), and
the padding may be at most half the kernel (``padding <= kernel_size // 2``),
which guarantees that every window overlaps the input.

They accept ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` arrays and pool the
last two axes; every leading axis is carried along. The precision rule is the
one of :mod:`dlcv.conv`: float32 stays float32, float16 is computed in
float32, integer and boolean data become float64; NaN propagates.

Backward pass, for a pooling layer
----------------------------------
A ``MaxPool2D`` layer keeps what the forward returns with
``return_indices=True`` and scatters the upstream gradient with
:func:`max_pool2d_backward`::

    out, indices = max_pool2d(x, 2, return_indices=True)   # forward
    dx = max_pool2d_backward(grad_out, indices, x.shape)    # backward

``indices`` has the shape of ``out``; each entry is the flat position
``row * W + col`` of the selected input pixel inside its own ``(H, W)`` plane
(PyTorch's convention), so ``np.take_along_axis(x.reshape(*x.shape[:-2], -1),
indices.reshape(*out.shape[:-2], -1), -1)`` gives back ``out``. Ties go to the
first maximum in row-major window order; a NaN counts as the maximum. When
windows overlap (``stride < kernel_size``) one pixel can win several windows
and receives the sum of their gradients.

An ``AvgPool2D`` layer only needs the input shape::

    dx = avg_pool2d_backward(grad_out, x.shape, kernel_size, stride, padding)

Both backward functions return an array of ``input_shape`` in the dtype of
``grad_out`` (after the precision rule).

How it is computed
------------------
A loop over the ``kh*kw`` window taps combines strided slices of the padded
input (an elementwise maximum, or a sum), so each step is vectorised over all
pixels and channels; no window is ever visited in Python.
"""

import numpy as np

from dlcv.conv import strided_slice
from dlcv.validate import as_float_array, check_int, int_pair

__all__ = ["avg_pool2d", "avg_pool2d_backward", "max_pool2d", "max_pool2d_backward"]

_LAYOUT = "(H, W), (C, H, W) or (N, C, H, W)"


def _pool_geometry(hw, kernel_size, stride, padding):
    """Validate pooling sizes; return kernel, stride, padding pairs and the output size."""
    kernel = int_pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else int_pair(stride, "stride", 1)
    padding = int_pair(padding, "padding", 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"padding {padding} must be at most half of kernel_size {kernel} "
            f"(at most {(kernel[0] // 2, kernel[1] // 2)})"
        )
    padded = (hw[0] + 2 * padding[0], hw[1] + 2 * padding[1])
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        raise ValueError(
            f"kernel_size {kernel} is larger than the padded input {padded} "
            f"(input {tuple(hw)} with padding {padding})"
        )
    out_hw = tuple((p - k) // s + 1 for p, k, s in zip(padded, kernel, stride, strict=True))
    return kernel, stride, padding, out_hw


def _prepare(x, kernel_size, stride, padding, fill):
    """Check ``x``; return it padded as (B, Hp, Wp), the geometry and the output shape."""
    x = as_float_array(x, "x", (2, 3, 4), _LAYOUT)
    kernel, stride, padding, out_hw = _pool_geometry(x.shape[-2:], kernel_size, stride, padding)
    planes = x.reshape(-1, *x.shape[-2:])
    if any(padding):
        pads = ((0, 0), (padding[0],) * 2, (padding[1],) * 2)
        planes = np.pad(planes, pads, constant_values=fill)
    return planes, (kernel, stride, padding, out_hw), x.shape[:-2] + out_hw


def _tap(padded, i, j, stride, out_hw):
    """The input values at window position (i, j) of every window: (B, H', W')."""
    rows = strided_slice(i, out_hw[0], stride[0])
    cols = strided_slice(j, out_hw[1], stride[1])
    return padded[:, rows, cols]


def _window_taps(kernel):
    """Window positions (i, j) in row-major order."""
    return [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]


def max_pool2d(x, kernel_size, stride=None, padding=0, return_indices=False):
    """Maximum over each pooling window (PyTorch's ``max_pool2d``, floor mode).

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
        Input; the last two axes are pooled.
    kernel_size : int or (int, int)
        Window size ``(kh, kw)``, at least 1.
    stride : int or (int, int), optional
        Step between windows, at least 1. Defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        ``-inf`` padding on each side, at most half the kernel size.
    return_indices : bool, default False
        Also return where each maximum came from (for the backward pass).

    Returns
    -------
    out : numpy.ndarray, shape (..., H', W')
        ``H' = floor((H + 2*ph - kh) / sh) + 1``, likewise ``W'``.
    indices : numpy.ndarray of int64, shape (..., H', W')
        Only with ``return_indices=True``: flat index ``row * W + col`` of the
        maximum inside its input plane. Pass it to :func:`max_pool2d_backward`.

    Raises
    ------
    TypeError
        Non-numeric or complex ``x``, non-integer sizes.
    ValueError
        Wrong number of dimensions, empty ``x``, sizes below 1 (padding below
        0), padding above half the kernel, or a kernel larger than the padded
        input.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> max_pool2d(x, 2)
    array([[ 5.,  7.],
           [13., 15.]])
    >>> max_pool2d(x, 3, stride=2, padding=1, return_indices=True)[1]
    array([[ 5,  7],
           [13, 15]])
    """
    padded, geometry, out_shape = _prepare(x, kernel_size, stride, padding, -np.inf)
    kernel, stride, _, out_hw = geometry
    taps = [_tap(padded, i, j, stride, out_hw) for i, j in _window_taps(kernel)]
    best = taps[0].copy()
    for tap in taps[1:]:
        np.maximum(best, tap, out=best)  # NaN propagates
    if not return_indices:
        return best.reshape(out_shape)
    indices = _tap_to_flat_index(_first_winner(taps, best), geometry, np.shape(x)[-2:])
    return best.reshape(out_shape), indices.reshape(out_shape)


def _first_winner(taps, best):
    """Number (row-major) of the first tap equal to the window maximum ``best``.

    When ``best`` is NaN, no tap equals it, and the first NaN tap wins. Boolean masks
    and one small integer array, no fancy indexing: this runs in every training step.
    """
    nan = bool(np.isnan(best).any())

    def hits(t):
        return (taps[t] == best) | np.isnan(taps[t]) if nan else taps[t] == best

    small = np.int16 if len(taps) < 2**15 else np.int64
    found, winner = hits(0), np.zeros(best.shape, small)
    for t in range(1, len(taps)):
        new = hits(t) & ~found  # this tap is a maximum and no earlier tap was
        found |= new
        winner += new * small(t)
    return winner


def _tap_to_flat_index(arg, geometry, hw):
    """Convert winning tap numbers into flat ``row * W + col`` input indices.

    A padding cell only wins when every real value in its window is ``-inf``;
    clipping moves it onto the nearest real pixel of the same window (which
    is also ``-inf``), so the index always points inside the input.
    """
    kernel, stride, padding, out_hw = geometry
    di, dj = np.divmod(np.arange(kernel[0] * kernel[1]), kernel[1])
    if not any(padding):  # no clipping needed: window corner plus the tap's offset
        corner = (np.arange(out_hw[0])[:, None] * stride[0]) * hw[1]
        corner = corner + np.arange(out_hw[1])[None, :] * stride[1]
        return corner + (di * hw[1] + dj)[arg]
    rows = np.arange(out_hw[0])[:, None] * stride[0] - padding[0] + di[arg]
    cols = np.arange(out_hw[1])[None, :] * stride[1] - padding[1] + dj[arg]
    rows = np.clip(rows, 0, hw[0] - 1)
    cols = np.clip(cols, 0, hw[1] - 1)
    return rows * hw[1] + cols


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each pooling window (PyTorch's ``avg_pool2d``, floor mode).

    Zero padding counts in the mean: every window sum is divided by
    ``kh * kw`` (``count_include_pad=True``).

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
        Input; the last two axes are pooled.
    kernel_size : int or (int, int)
        Window size ``(kh, kw)``, at least 1.
    stride : int or (int, int), optional
        Step between windows, at least 1. Defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Zero padding on each side, at most half the kernel size.

    Returns
    -------
    numpy.ndarray, shape (..., H', W')
        ``H' = floor((H + 2*ph - kh) / sh) + 1``, likewise ``W'``.

    Raises
    ------
    TypeError, ValueError
        As in :func:`max_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    padded, geometry, out_shape = _prepare(x, kernel_size, stride, padding, 0)
    kernel, stride, _, out_hw = geometry
    total = _tap(padded, 0, 0, stride, out_hw).copy()
    for i, j in _window_taps(kernel)[1:]:
        total += _tap(padded, i, j, stride, out_hw)
    total /= kernel[0] * kernel[1]
    return total.reshape(out_shape)


def _check_input_shape(input_shape, out_shape):
    """Validate an ``input_shape`` argument against the forward output's shape."""
    try:
        input_shape = tuple(check_int(n, "input_shape", 1) for n in input_shape)
    except TypeError:
        raise TypeError(f"input_shape must be a tuple of ints, got {input_shape!r}") from None
    if len(input_shape) != len(out_shape) or input_shape[:-2] != tuple(out_shape[:-2]):
        raise ValueError(
            f"input_shape {input_shape} does not match grad_out of shape {out_shape}: "
            "they need the same number of axes and the same leading axes"
        )
    return input_shape


def max_pool2d_backward(grad_out, indices, input_shape):
    """Gradient of :func:`max_pool2d` with respect to its input.

    Each output's gradient goes to the input pixel that won its window; the
    other pixels get zero, and a pixel that won several overlapping windows
    gets the sum.

    Parameters
    ----------
    grad_out : array_like, shape (..., H', W')
        Gradient of the loss with respect to the pooled output.
    indices : array_like of int, shape (..., H', W')
        The second result of ``max_pool2d(x, ..., return_indices=True)``.
    input_shape : tuple of int
        ``x.shape``, ``(..., H, W)``.

    Returns
    -------
    numpy.ndarray, shape ``input_shape``
        Gradient with respect to ``x``, in the dtype of ``grad_out``.

    Raises
    ------
    TypeError, ValueError
        Bad dtypes, shapes that do not match, or indices outside ``[0, H*W)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 3.0], [4.0, 2.0]])
    >>> out, idx = max_pool2d(x, 2, return_indices=True)
    >>> max_pool2d_backward(np.ones_like(out), idx, x.shape)
    array([[0., 0.],
           [1., 0.]])
    """
    grad_out = as_float_array(grad_out, "grad_out", (2, 3, 4), _LAYOUT)
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu" or indices.shape != grad_out.shape:
        raise ValueError(
            f"indices must be integers with the shape of grad_out {grad_out.shape}, "
            f"got dtype {indices.dtype} and shape {indices.shape}"
        )
    input_shape = _check_input_shape(input_shape, grad_out.shape)
    plane = input_shape[-2] * input_shape[-1]
    if indices.min() < 0 or indices.max() >= plane:
        raise ValueError(
            f"indices must lie in [0, H*W) = [0, {plane}) for input_shape "
            f"{input_shape}, got values from {indices.min()} to {indices.max()}"
        )
    planes = grad_out.size // (grad_out.shape[-2] * grad_out.shape[-1])
    offsets = (np.arange(planes) * plane)[:, None]
    flat = (indices.reshape(planes, -1) + offsets).ravel()
    dx = np.bincount(flat, weights=grad_out.ravel(), minlength=planes * plane)
    return dx.astype(grad_out.dtype, copy=False).reshape(input_shape)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0):
    """Gradient of :func:`avg_pool2d` with respect to its input.

    Every pixel of a window receives the window's gradient divided by
    ``kh * kw``; shares that fall on the padding are dropped.

    Parameters
    ----------
    grad_out : array_like, shape (..., H', W')
        Gradient of the loss with respect to the pooled output.
    input_shape : tuple of int
        ``x.shape``, ``(..., H, W)``.
    kernel_size, stride, padding
        The values used in the forward pass.

    Returns
    -------
    numpy.ndarray, shape ``input_shape``
        Gradient with respect to ``x``, in the dtype of ``grad_out``.

    Raises
    ------
    TypeError, ValueError
        As in :func:`avg_pool2d`, and if ``grad_out`` does not have the
        forward output's shape for ``input_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool2d_backward(np.array([[4.0]]), (2, 3), 2)
    array([[1., 1., 0.],
           [1., 1., 0.]])
    """
    grad_out = as_float_array(grad_out, "grad_out", (2, 3, 4), _LAYOUT)
    input_shape = _check_input_shape(input_shape, grad_out.shape)
    kernel, stride, padding, out_hw = _pool_geometry(input_shape[-2:], kernel_size, stride, padding)
    if grad_out.shape[-2:] != out_hw:
        raise ValueError(
            f"grad_out must have shape {input_shape[:-2] + out_hw} for "
            f"input_shape {input_shape}, got {grad_out.shape}"
        )
    h, w = input_shape[-2:]
    share = grad_out.reshape(-1, *out_hw) / (kernel[0] * kernel[1])
    padded = np.zeros((share.shape[0], h + 2 * padding[0], w + 2 * padding[1]), share.dtype)
    for i, j in _window_taps(kernel):
        rows = strided_slice(i, out_hw[0], stride[0])
        cols = strided_slice(j, out_hw[1], stride[1])
        padded[:, rows, cols] += share
    return padded[:, padding[0] : padding[0] + h, padding[1] : padding[1] + w].reshape(input_shape)


# ------------------------------------------------------------------ window geometry
__all__ += ["coverage", "window_owner", "window_starts"]


def window_starts(n, kernel_size, stride=None, padding=0) -> np.ndarray:
    """First input index of every pooling window along one axis.

    Parameters
    ----------
    n : int
        Input length.
    kernel_size, stride, padding : int
        As in :func:`max_pool2d` (floor mode; ``stride`` defaults to ``kernel_size``).

    Returns
    -------
    ndarray of int, shape (n_out,)
        ``i * stride - padding`` for every output index ``i``; negative values start
        in the padding.

    Examples
    --------
    >>> window_starts(7, 3, 2, padding=1)
    array([-1,  1,  3,  5])
    """
    _, (stride, _), (padding, _), (n_out, _) = _pool_geometry((n, n), kernel_size, stride, padding)
    return np.arange(n_out) * stride - padding


def coverage(n, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Which input pixels along one axis lie inside at least one pooling window.

    Pixels outside every window never influence the output: floor mode drops the
    remainder at the end, and a stride larger than the window skips the gaps.

    Returns
    -------
    ndarray of bool, shape (n,)

    Examples
    --------
    >>> coverage(7, 2, 3).astype(int)
    array([1, 1, 0, 1, 1, 0, 0])
    """
    kernel = int_pair(kernel_size, "kernel_size", 1)[0]
    starts = window_starts(n, kernel_size, stride, padding)
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, np.clip(starts, 0, n), 1)
    np.add.at(edges, np.clip(starts + kernel, 0, n), -1)
    return np.cumsum(edges[:-1]) > 0


def window_owner(index, n, kernel_size, stride=None, padding=0) -> np.ndarray:
    """Output index whose *tile* holds each input index along one axis, or -1.

    An output's tile is the first ``min(stride, kernel_size)`` pixels of its window, so
    tiles never overlap: painting each output value over its tile shows which input
    pixels became which output value. Indices in the padding (negative, or ``>= n``)
    may belong to a tile too.

    Parameters
    ----------
    index : array_like of int
        Input indices (``-padding`` to ``n + padding - 1``).
    n, kernel_size, stride, padding : int
        As in :func:`window_starts`.

    Returns
    -------
    ndarray of int, the shape of ``index``

    Examples
    --------
    >>> window_owner(range(7), 7, 2, 3)  # windows [0, 1] and [3, 4]
    array([ 0,  0, -1,  1,  1, -1, -1])
    """
    kernel, (stride, _), (padding, _), (n_out, _) = _pool_geometry(
        (n, n), kernel_size, stride, padding
    )
    shifted = np.asarray(index) + padding
    owner = np.floor_divide(shifted, stride)
    inside = (shifted >= 0) & (np.mod(shifted, stride) < min(stride, kernel[0])) & (owner < n_out)
    return np.where(inside, owner, -1)
