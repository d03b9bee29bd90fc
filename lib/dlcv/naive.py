"""The slow, obvious version of each kernel: one Python loop iteration per output value.

These are the definitions written as code, readable in one sitting, and the reference
that tests, benchmarks and chapters compare the fast kernels of :mod:`dlcv.conv`,
:mod:`dlcv.pool` and :mod:`dlcv.detect` (box overlap and suppression) with. They take the
same arguments and give the same results (to rounding), hundreds of times more slowly. Use
them on small inputs.

>>> import numpy as np
>>> from dlcv import correlate2d, naive
>>> image, kernel = np.arange(25.0).reshape(5, 5), np.array([[1.0, 0.0], [0.0, -1.0]])
>>> np.array_equal(correlate2d(image, kernel), naive.correlate2d(image, kernel))
True
"""

from __future__ import annotations

import numpy as np

from dlcv.conv import check_conv2d_args, resolve_padding
from dlcv.detect import check_boxes, check_scores, check_threshold  # the same checks and messages
from dlcv.validate import as_float_array, int_pair

__all__ = [
    "avg_pool2d",
    "box_iou",
    "conv2d",
    "conv2d_backward",
    "convolve2d",
    "correlate2d",
    "max_pool2d",
    "nms",
]


def correlate2d(image, kernel, padding="valid", stride=1, dilation=1) -> np.ndarray:
    """Cross-correlation of a 2-D image with a 2-D kernel, one output pixel at a time.

    ``out[y, x] = sum over (i, j) of kernel[i, j] * padded[y*sh + i*dh, x*sw + j*dw]``;
    arguments as in :func:`dlcv.conv.correlate2d` (2-D images only).
    """
    image = as_float_array(image, "image", (2,), "(H, W)")
    kernel = as_float_array(kernel, "kernel", (2,), "(kh, kw)", dtype=image.dtype)
    (sh, sw), (dh, dw) = int_pair(stride, "stride", 1), int_pair(dilation, "dilation", 1)
    padded = np.pad(image, resolve_padding(padding, kernel.shape, (dh, dw)))
    kh, kw = kernel.shape
    rows = (padded.shape[0] - (kh - 1) * dh - 1) // sh + 1
    cols = (padded.shape[1] - (kw - 1) * dw - 1) // sw + 1
    if rows < 1 or cols < 1:
        raise ValueError(
            f"kernel {kernel.shape} (dilation {(dh, dw)}) does not fit in the "
            f"padded image {padded.shape}"
        )
    out = np.empty((rows, cols), image.dtype)
    for y in range(rows):
        for x in range(cols):
            window = padded[
                y * sh : y * sh + (kh - 1) * dh + 1 : dh, x * sw : x * sw + (kw - 1) * dw + 1 : dw
            ]
            out[y, x] = (window * kernel).sum()
    return out


def convolve2d(image, kernel, padding="valid", stride=1, dilation=1) -> np.ndarray:
    """True convolution: the correlation with the kernel turned by 180 degrees."""
    kernel = as_float_array(kernel, "kernel", (2,), "(kh, kw)")
    return correlate2d(image, kernel[::-1, ::-1], padding, stride, dilation)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """A convolution layer's forward pass, with a loop over images, filters and pixels.

    ``out[n, f, y, x] = bias[f] + sum over (c, i, j) of weight[f, c, i, j] *
    padded[n, c, y*sh + i*dh, x*sw + j*dw]``; arguments as in :func:`dlcv.conv.conv2d`.
    """
    x, weight, bias, stride, dilation, pads, out_hw = check_conv2d_args(
        x, weight, bias, stride, padding, dilation
    )
    padded = np.pad(x, ((0, 0), (0, 0), *pads))
    (sh, sw), (dh, dw) = stride, dilation
    n_images, n_filters = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    out = np.zeros((n_images, n_filters, *out_hw), x.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for y in range(out_hw[0]):
                for x_ in range(out_hw[1]):
                    rows = slice(y * sh, y * sh + (kh - 1) * dh + 1, dh)
                    cols = slice(x_ * sw, x_ * sw + (kw - 1) * dw + 1, dw)
                    window = padded[n, :, rows, cols]  # (C, kh, kw): what this pixel sees
                    out[n, f, y, x_] = (window * weight[f]).sum()
            if bias is not None:
                out[n, f] += bias[f]
    return out


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    """Gradients of :func:`conv2d` for its input, weight and bias, output pixel by pixel.

    Each output pixel passed its window times the filter forward, so its gradient goes
    back as the filter times the gradient (into the input window) and as the window
    times the gradient (into the filter). Returns ``(dx, dweight, dbias)`` like
    :func:`dlcv.conv.conv2d_backward`.
    """
    x, weight, _, stride, dilation, pads, out_hw = check_conv2d_args(
        x, weight, None, stride, padding, dilation
    )
    grad_out = as_float_array(grad_out, "grad_out", (4,), "(N, F, H', W')", dtype=x.dtype)
    padded = np.pad(x, ((0, 0), (0, 0), *pads))
    dpadded, dweight = np.zeros_like(padded), np.zeros_like(weight)
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw = weight.shape[2:]
    for n in range(x.shape[0]):
        for f in range(weight.shape[0]):
            for y in range(out_hw[0]):
                for x_ in range(out_hw[1]):
                    rows = slice(y * sh, y * sh + (kh - 1) * dh + 1, dh)
                    cols = slice(x_ * sw, x_ * sw + (kw - 1) * dw + 1, dw)
                    g = grad_out[n, f, y, x_]
                    dweight[f] += g * padded[n, :, rows, cols]
                    dpadded[n, :, rows, cols] += g * weight[f]
    (top, _), (left, _) = pads
    dx = dpadded[:, :, top : top + x.shape[2], left : left + x.shape[3]]
    return dx, dweight, grad_out.sum(axis=(0, 2, 3))


def _pool(x, kernel_size, stride, padding, fill, reduce) -> np.ndarray:
    """Apply ``reduce`` to every window of every plane of ``x`` (..., H, W)."""
    x = as_float_array(x, "x", (2, 3, 4), "(H, W), (C, H, W) or (N, C, H, W)")
    (kh, kw) = int_pair(kernel_size, "kernel_size", 1)
    (sh, sw) = (kh, kw) if stride is None else int_pair(stride, "stride", 1)
    (ph, pw) = int_pair(padding, "padding", 0)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"padding {(ph, pw)} must be at most half of kernel_size {(kh, kw)}")
    planes = x.reshape(-1, *x.shape[-2:])
    padded = np.pad(planes, ((0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    rows = (padded.shape[1] - kh) // sh + 1
    cols = (padded.shape[2] - kw) // sw + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"kernel_size {(kh, kw)} is larger than the padded input")
    out = np.empty((len(planes), rows, cols), x.dtype)
    for p in range(len(planes)):
        for i in range(rows):
            for j in range(cols):
                out[p, i, j] = reduce(padded[p, i * sh : i * sh + kh, j * sw : j * sw + kw])
    return out.reshape(*x.shape[:-2], rows, cols)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """The maximum of each window (``-inf`` padding), as :func:`dlcv.pool.max_pool2d`."""
    return _pool(x, kernel_size, stride, padding, -np.inf, np.max)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> np.ndarray:
    """The mean of each window, zero padding counted, as :func:`dlcv.pool.avg_pool2d`."""
    return _pool(x, kernel_size, stride, padding, 0.0, np.mean)


def _pair_iou(a, b) -> float:
    """IoU of two boxes ``(x1, y1, x2, y2)``; 0 when both have zero area."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """IoU of every pair of boxes, one pair at a time, as :func:`dlcv.detect.box_iou`."""
    a, b = check_boxes(boxes_a, "boxes_a").tolist(), check_boxes(boxes_b, "boxes_b").tolist()
    return np.array([[_pair_iou(p, q) for q in b] for p in a]).reshape(len(a), len(b))


def nms(boxes, scores, iou_threshold=0.5) -> np.ndarray:
    """Greedy non-maximum suppression as a double loop, as :func:`dlcv.detect.nms`.

    Down the boxes by falling score (ties: earlier index first), each box not yet
    suppressed is kept and suppresses every later box it overlaps by IoU > iou_threshold.
    """
    boxes = check_boxes(boxes, "boxes")
    order = np.argsort(-check_scores(scores, "scores", boxes, "boxes"), kind="stable").tolist()
    threshold, rows = check_threshold(iou_threshold), boxes.tolist()
    suppressed, keep = [False] * len(rows), []
    for rank, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[rank + 1 :]:
            if not suppressed[j] and _pair_iou(rows[i], rows[j]) > threshold:
                suppressed[j] = True
    return np.array(keep, dtype=np.int64)
