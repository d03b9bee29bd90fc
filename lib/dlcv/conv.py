"""Two-dimensional correlation and convolution, the kernels the course teaches.

Four public functions (re-exported from :mod:`dlcv`) and one for training:

* :func:`correlate2d` and :func:`convolve2d` filter one image, grey ``(H, W)``
  or multi-channel ``(H, W, C)``, with one ``(kh, kw)`` kernel.
* :func:`conv2d` is the layer operation of a CNN: a batch ``(N, C, H, W)``
  and a filter bank ``(F, C, kh, kw)`` give ``(N, F, H', W')``, with the
  semantics of ``torch.nn.functional.conv2d`` (a cross-correlation).
* :func:`output_size` is the output-length formula all of them obey.
* :func:`conv2d_backward` returns the gradients of :func:`conv2d` for a layer's
  backward pass.

Conventions shared by every function here
-----------------------------------------
Precision
    The data array (``image`` or ``x``) decides the precision: float32 stays
    float32, float64 stays float64, float16 is computed in float32, and
    integer or boolean data become float64. The kernel, weights and bias are
    cast to that dtype (as ``scipy.ndimage`` does: the output has the input's
    precision). Complex, string and object arrays raise ``TypeError``.
    NaN and infinity are allowed and propagate like in any sum of products.
Padding
    Zero padding, given as ``"valid"`` (none), ``"full"`` (``d*(k-1)`` on each
    side: every output sees at least one input pixel), ``"same"``, an int
    ``p`` (``p`` on every side) or a pair ``(ph, pw)``.
    ``"same"`` pads ``d*(k-1)`` in total per axis, whatever the stride:
    ``floor(d*(k-1) / 2)`` on the top/left and the rest on the bottom/right,
    so an even effective kernel gets its extra pixel at the bottom/right.
    With ``stride=1`` the output has the input's size; this is exactly
    PyTorch's ``padding="same"`` and ``scipy.signal.correlate2d(mode="same")``.
    With ``stride=s`` the output is the stride-1 ``"same"`` output sampled at
    every ``s``-th pixel starting from the first, so it has ``ceil(n / s)``
    samples, as PyTorch gives with ``padding=k // 2`` for odd ``k``
    (PyTorch's ``padding="same"`` refuses strides above 1; TensorFlow's
    ``"SAME"`` splits the padding differently there).
Stride and dilation
    An int or a pair ``(sh, sw)``, each at least 1. Dilation ``d`` spreads the
    kernel taps ``d`` pixels apart, so a kernel of size ``k`` spans
    ``d*(k-1) + 1`` pixels.

How it is computed
------------------
:func:`correlate2d` pads once and then adds, for each of the ``kh*kw`` kernel
taps, the tap's weight times a shifted, strided slice of the padded image. The
loop is over kernel taps (9 for a 3x3 kernel), never over pixels; each step is
one vectorised multiply-add over the whole image, done in bands of rows that
fit in the CPU cache. For small kernels this beats building an im2col matrix,
which would copy the image ``kh*kw`` times. :func:`conv2d` mixes channels, so
it builds the im2col matrix of shape ``(C*kh*kw, N*H'*W')`` (one strided copy
per kernel tap) and multiplies the ``(F, C*kh*kw)`` weight matrix with it in
one BLAS call; :func:`conv2d_backward` uses the same matrix and its adjoint.
"""

import numpy as np

from dlcv.validate import as_float_array, check_int, int_pair

__all__ = [
    "check_conv2d_args",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "convolve2d",
    "correlate2d",
    "im2col",
    "output_size",
    "resolve_padding",
    "strided_slice",
    "tap_slices",
]

_PADDING_MODES = ("valid", "same", "full")
# Rows of the output are produced in bands of about this many bytes, so the
# band being accumulated stays in the CPU cache while all taps are added.
_BAND_BYTES = 1 << 18


# ---------------------------------------------------------------- validation


def _span(k, d):
    """Number of pixels a kernel of ``k`` taps with dilation ``d`` covers."""
    return d * (k - 1) + 1


# ---------------------------------------------------------------- shapes


def _axis_padding(padding, k, d):
    """Return ``(before, after)`` zero padding for one axis."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return _span(k, d) - 1, _span(k, d) - 1
    if padding == "same":
        total = _span(k, d) - 1
        return total // 2, total - total // 2
    return padding, padding


def _check_mode(padding):
    """Return the padding mode string ``padding`` after checking it is known."""
    if padding not in _PADDING_MODES:
        raise ValueError(
            f"padding must be one of {_PADDING_MODES}, an int or a pair, got {padding!r}"
        )
    return padding


def resolve_padding(padding, kernel_hw, dilation):
    """Turn a ``padding`` argument into ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        per_axis = (_check_mode(padding),) * 2
    else:
        per_axis = int_pair(padding, "padding", 0)
    return tuple(
        _axis_padding(p, k, d) for p, k, d in zip(per_axis, kernel_hw, dilation, strict=True)
    )


def _output_hw(image_hw, kernel_hw, pads, stride, dilation, names=("image", "kernel")):
    """Output height and width; ``ValueError`` if the kernel does not fit."""
    padded = [n + before + after for n, (before, after) in zip(image_hw, pads, strict=True)]
    spans = [_span(k, d) for k, d in zip(kernel_hw, dilation, strict=True)]
    if padded[0] < spans[0] or padded[1] < spans[1]:
        raise ValueError(
            f"{names[1]} of size {tuple(kernel_hw)} with dilation {tuple(dilation)} spans "
            f"{tuple(spans)} pixels, larger than the padded {names[0]} {tuple(padded)} "
            f"({names[0]} {tuple(image_hw)} with padding {pads})"
        )
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, spans, stride, strict=True))


def output_size(n, kernel, stride=1, padding=0, dilation=1):
    """Length of a convolution's output along one axis.

    ``floor((n + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1``.

    Parameters
    ----------
    n : int
        Input length, at least 1.
    kernel : int
        Kernel length (number of taps), at least 1.
    stride : int, default 1
        Step between output samples, at least 1.
    padding : int or {"valid", "same", "full"}, default 0
        Zero padding added on *each* side (at least 0), or a padding mode with
        the meaning used by :func:`correlate2d` (``"same"`` gives
        ``ceil(n / stride)``).
    dilation : int, default 1
        Spacing between kernel taps, at least 1.

    Returns
    -------
    int
        The output length, at least 1.

    Raises
    ------
    ValueError
        If an argument is out of range, or if the dilated kernel is longer
        than the padded input (the output would be empty).

    Examples
    --------
    >>> output_size(28, 5)
    24
    >>> output_size(28, 3, stride=2, padding=1)
    14
    >>> output_size(7, 3, stride=2, padding="same")
    4
    """
    n, kernel = check_int(n, "n", 1), check_int(kernel, "kernel", 1)
    stride, dilation = check_int(stride, "stride", 1), check_int(dilation, "dilation", 1)
    if isinstance(padding, str):
        _check_mode(padding)
    else:
        padding = check_int(padding, "padding", 0)
    before, after = _axis_padding(padding, kernel, dilation)
    span = _span(kernel, dilation)
    if n + before + after < span:
        raise ValueError(
            f"kernel of size {kernel} with dilation {dilation} spans {span} samples, more than "
            f"the padded input ({n} + {before} + {after} = {n + before + after})"
        )
    return (n + before + after - span) // stride + 1


# ---------------------------------------------------------------- single image


def strided_slice(start, count, step):
    """Slice taking ``count`` samples ``step`` apart from ``start``."""
    return slice(start, start + (count - 1) * step + 1, step)


def _correlate_taps(padded, kernel, out_hw, stride, dilation):
    """Sum over kernel taps of weight * shifted slice of ``padded`` (H, W[, C])."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    out = np.empty((ho, wo) + padded.shape[2:], padded.dtype)
    band = max(1, _BAND_BYTES // out[0].nbytes)
    scratch = np.empty((band,) + out.shape[1:], out.dtype)
    for r0 in range(0, ho, band):  # bands of output rows, for cache locality
        acc, tmp = out[r0 : r0 + band], scratch[: min(band, ho - r0)]
        for t, ((i, j), weight) in enumerate(np.ndenumerate(kernel)):
            rows = strided_slice(r0 * sh + i * dh, len(acc), sh)
            cols = strided_slice(j * dw, wo, sw)
            if t == 0:
                np.multiply(padded[rows, cols], weight, out=acc)
            else:
                np.multiply(padded[rows, cols], weight, out=tmp)
                acc += tmp
    return out


def correlate2d(image, kernel, padding="valid", stride=1, dilation=1):
    """Cross-correlate an image with a kernel (what CNN layers call "convolution").

    ``out[y, x] = sum_{i, j} kernel[i, j] * padded[y*sh + i*dh, x*sw + j*dw]``

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grey or multi-channel image; the kernel is applied to each channel
        separately.
    kernel : array_like, shape (kh, kw)
        The filter. It is cast to the image's floating dtype.
    padding : {"valid", "same", "full"} or int or (int, int), default "valid"
        Zero padding; see the module docstring for the exact ``"same"`` rule
        (``d*(k-1)`` in total per axis, any extra pixel at the bottom/right;
        with a stride, the output is ``ceil(H / sh)`` x ``ceil(W / sw)``).
    stride : int or (int, int), default 1
        Step between output pixels, at least 1.
    dilation : int or (int, int), default 1
        Spacing between kernel taps, at least 1.

    Returns
    -------
    numpy.ndarray, shape (H', W') or (H', W', C)
        ``H' = output_size(H, kh, sh, ph, dh)``, likewise ``W'``. Float32 input
        gives float32 output; integer and boolean input give float64.

    Raises
    ------
    TypeError
        Non-numeric or complex data, or non-integer stride/dilation/padding.
    ValueError
        Wrong number of dimensions, empty arrays, stride or dilation below 1,
        negative padding, an unknown padding mode, or a (dilated) kernel
        larger than the padded image.

    See Also
    --------
    convolve2d : the same with the kernel flipped.
    conv2d : the multi-channel, multi-filter layer operation.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> correlate2d(image, np.ones((2, 2)))
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> correlate2d(image, np.ones((3, 3)), padding="same", stride=2).shape
    (2, 2)
    """
    return _filter2d(image, kernel, padding, stride, dilation, flip=False)


def convolve2d(image, kernel, padding="valid", stride=1, dilation=1):
    """Convolve an image with a kernel: correlation with the kernel flipped.

    ``convolve2d(image, k, ...) == correlate2d(image, k[::-1, ::-1], ...)``
    for every padding, stride and dilation (so ``"same"`` puts any extra
    padding at the bottom/right, like :func:`correlate2d`; for even kernels
    this matches ``scipy.ndimage.convolve`` and is one pixel away from
    ``scipy.signal.convolve2d(mode="same")``, which centres the full output).

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Grey or multi-channel image; the kernel is applied to each channel.
    kernel : array_like, shape (kh, kw)
        The filter, flipped in both axes before use.
    padding, stride, dilation
        As in :func:`correlate2d`.

    Returns
    -------
    numpy.ndarray, shape (H', W') or (H', W', C)
        As in :func:`correlate2d`.

    Raises
    ------
    TypeError, ValueError
        As in :func:`correlate2d`.

    Examples
    --------
    >>> import numpy as np
    >>> convolve2d(np.eye(3), np.array([[1.0, 2.0]]), padding="full")
    array([[1., 2., 0., 0.],
           [0., 1., 2., 0.],
           [0., 0., 1., 2.]])
    """
    return _filter2d(image, kernel, padding, stride, dilation, flip=True)


def _filter2d(image, kernel, padding, stride, dilation, flip):
    """Validate, pad and correlate; the shared body of the two public filters."""
    image = as_float_array(image, "image", (2, 3), "(H, W) or (H, W, C)")
    kernel = as_float_array(kernel, "kernel", (2,), "(kh, kw)", dtype=image.dtype)
    stride = int_pair(stride, "stride", 1)
    dilation = int_pair(dilation, "dilation", 1)
    pads = resolve_padding(padding, kernel.shape, dilation)
    out_hw = _output_hw(image.shape[:2], kernel.shape, pads, stride, dilation)
    padded = np.pad(image, pads + ((0, 0),) * (image.ndim - 2)) if np.any(pads) else image
    if flip:
        kernel = kernel[::-1, ::-1]
    return _correlate_taps(padded, kernel, out_hw, stride, dilation)


# ---------------------------------------------------------------- batches


def check_conv2d_args(x, weight, bias, stride, padding, dilation):
    """Validate :func:`conv2d`'s arguments (shared with the ``Conv2D`` layer).

    Returns
    -------
    x, weight, bias : ndarray (bias may be None)
        As floating arrays of ``x``'s dtype.
    stride, dilation : (int, int)
    pads : ((int, int), (int, int))
        Zero padding ``((top, bottom), (left, right))``.
    out_hw : (int, int)
        Height and width of the output.
    """
    x = as_float_array(x, "x", (4,), "(N, C, H, W)")
    weight = as_float_array(weight, "weight", (4,), "(F, C, kh, kw)", dtype=x.dtype)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"channel mismatch: x has shape {x.shape} with C={x.shape[1]} channels, but "
            f"weight has shape {weight.shape} and expects C={weight.shape[1]}"
        )
    if bias is not None:
        bias = as_float_array(bias, "bias", (1,), "(F,)", dtype=x.dtype)
        if bias.shape != weight.shape[:1]:
            raise ValueError(
                f"bias must have shape (F,) = ({weight.shape[0]},) to match "
                f"weight {weight.shape}, got {bias.shape}"
            )
    stride = int_pair(stride, "stride", 1)
    dilation = int_pair(dilation, "dilation", 1)
    pads = resolve_padding(padding, weight.shape[2:], dilation)
    out_hw = _output_hw(
        x.shape[2:], weight.shape[2:], pads, stride, dilation, names=("x", "weight")
    )
    return x, weight, bias, stride, dilation, pads, out_hw


def tap_slices(kernel_hw, stride, dilation, out_hw):
    """For each kernel tap ``(i, j)``: the row and column slices of the padded input it sees."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_hw
    for i, j in np.ndindex(*kernel_hw):
        yield i, j, strided_slice(i * dh, ho, sh), strided_slice(j * dw, wo, sw)


def im2col(x, kernel_hw, pads, stride, dilation, out_hw):
    """Patches of ``x`` (N, C, H, W) as the columns of a (C*kh*kw, N*H'*W') matrix.

    Column ``(n, y, x)`` holds the padded input values that output pixel
    ``(y, x)`` of image ``n`` sees, in the order of ``weight[f].ravel()``, so
    ``weight.reshape(F, -1) @ cols`` is the convolution as an (F, N*H'*W')
    matrix. Built with one strided copy per kernel tap (never a loop over
    pixels), written and read contiguously.
    """
    n, c = x.shape[:2]
    padded = np.pad(x.transpose(1, 0, 2, 3), ((0, 0), (0, 0)) + pads)  # (C, N, Hp, Wp)
    cols = np.empty((c, *kernel_hw, n, *out_hw), x.dtype)
    for i, j, rows, columns in tap_slices(kernel_hw, stride, dilation, out_hw):
        cols[:, i, j] = padded[:, :, rows, columns]
    return cols.reshape(c * kernel_hw[0] * kernel_hw[1], -1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """Convolution layer forward pass (cross-correlation, as in PyTorch).

    ``out[n, f, y, x] = bias[f] + sum_{c, i, j} weight[f, c, i, j]
    * padded[n, c, y*sh + i*dh, x*sw + j*dw]``

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        A batch of ``N`` images with ``C`` channels. Its floating dtype is the
        output's (float32 stays float32; integer/bool become float64).
    weight : array_like, shape (F, C, kh, kw)
        ``F`` filters, each with one ``(kh, kw)`` kernel per input channel.
        Cast to the dtype of ``x``.
    bias : array_like, shape (F,), optional
        Added to every pixel of each output map.
    stride : int or (int, int), default 1
        Step between output pixels, at least 1.
    padding : int or (int, int) or {"valid", "same", "full"}, default 0
        Zero padding on each side. ``"same"`` is PyTorch's for ``stride=1``
        (extra pixel at the bottom/right); with a stride ``s`` it keeps every
        ``s``-th pixel of that output (PyTorch refuses that case).
    dilation : int or (int, int), default 1
        Spacing between kernel taps, at least 1.

    Returns
    -------
    numpy.ndarray, shape (N, F, H', W'), C-contiguous
        ``H' = output_size(H, kh, sh, ph, dh)``, likewise ``W'``.

    Raises
    ------
    TypeError
        Non-numeric or complex arrays, non-integer stride/dilation/padding.
    ValueError
        Wrong number of dimensions, empty arrays, a channel mismatch between
        ``x`` and ``weight``, a bias of the wrong shape, stride or dilation
        below 1, negative padding, or a kernel larger than the padded input.

    See Also
    --------
    conv2d_backward : gradients of this function.
    correlate2d : one image, one kernel.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 3, 5, 5))
    >>> weight = np.ones((4, 3, 3, 3))
    >>> out = conv2d(x, weight, bias=np.arange(4.0), padding=1)
    >>> out.shape, out[0, 1, 2, 2], out[0, 1, 0, 0]
    ((2, 4, 5, 5), np.float64(28.0), np.float64(13.0))
    """
    x, weight, bias, stride, dilation, pads, out_hw = check_conv2d_args(
        x, weight, bias, stride, padding, dilation
    )
    f = weight.shape[0]
    cols = im2col(x, weight.shape[2:], pads, stride, dilation, out_hw)
    out = weight.reshape(f, -1) @ cols  # (F, N*H'*W'), one BLAS call
    if bias is not None:
        out += bias[:, None]
    return np.ascontiguousarray(out.reshape(f, x.shape[0], *out_hw).transpose(1, 0, 2, 3))


def col2im(cols, x_shape, kernel_hw, pads, stride, dilation, out_hw):
    """Adjoint of :func:`im2col`: add every column back onto the pixels it came from.

    Overlapping receptive fields add up, which makes this the gradient of a
    convolution with respect to its input (a transposed convolution).
    Returns a C-contiguous (N, C, H, W) array.
    """
    (n, c, h, w), ((top, bottom), (left, right)) = x_shape, pads
    patches = cols.reshape(c, *kernel_hw, n, *out_hw)
    padded = np.zeros((c, n, h + top + bottom, w + left + right), cols.dtype)
    for i, j, rows, columns in tap_slices(kernel_hw, stride, dilation, out_hw):
        padded[:, :, rows, columns] += patches[:, i, j]
    inside = padded[:, :, top : top + h, left : left + w]
    return np.ascontiguousarray(inside.transpose(1, 0, 2, 3))


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    """Gradients of :func:`conv2d` with respect to its input, weight and bias.

    Parameters
    ----------
    grad_out : array_like, shape (N, F, H', W')
        Gradient of the loss with respect to the output of
        ``conv2d(x, weight, bias, stride, padding, dilation)``.
    x : array_like, shape (N, C, H, W)
        The input of the forward pass.
    weight : array_like, shape (F, C, kh, kw)
        The weights of the forward pass.
    stride, padding, dilation
        The same values as in the forward pass.

    Returns
    -------
    dx : numpy.ndarray, shape (N, C, H, W)
        Gradient with respect to ``x``.
    dweight : numpy.ndarray, shape (F, C, kh, kw)
        Gradient with respect to ``weight``.
    dbias : numpy.ndarray, shape (F,)
        Gradient with respect to the bias (whether or not one was used).

    Raises
    ------
    ValueError
        As in :func:`conv2d`, and if ``grad_out`` does not have the shape of
        the forward output.

    Notes
    -----
    All three come from the im2col form ``out = W @ cols`` with ``W`` the
    (F, C*kh*kw) weight matrix and ``g`` the (F, N*H'*W') output gradient:
    ``dW = g @ cols.T``, ``db = g.sum(1)`` and ``dcols = W.T @ g``, which
    :func:`col2im` adds back onto the input grid (a transposed convolution).
    The results have the dtype of ``x``; ``dx`` is C-contiguous.
    """
    x, weight, _, stride, dilation, pads, out_hw = check_conv2d_args(
        x, weight, None, stride, padding, dilation
    )
    n, f = x.shape[0], weight.shape[0]
    grad_out = as_float_array(grad_out, "grad_out", (4,), "(N, F, H', W')", dtype=x.dtype)
    if grad_out.shape != (n, f, *out_hw):
        raise ValueError(
            f"grad_out must have the forward output's shape {(n, f, *out_hw)}, got {grad_out.shape}"
        )
    g = grad_out.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N*H'*W')
    cols = im2col(x, weight.shape[2:], pads, stride, dilation, out_hw)
    dweight = (g @ cols.T).reshape(weight.shape)
    dcols = weight.reshape(f, -1).T @ g
    dx = col2im(dcols, x.shape, weight.shape[2:], pads, stride, dilation, out_hw)
    return dx, dweight, g.sum(axis=1)
