"""Named 2-D kernels: the small filters chapter 02 slides over real photos.

Every preset is a float64 array of shape (k, k). The signs of the derivative
kernels (Sobel, Prewitt, ``vertical_edge``) are written for **cross-correlation**,
which is what :func:`dlcv.conv.correlate2d`, ``scipy.ndimage.correlate`` and the
convolutional layers of a CNN compute: ``sobel_x`` gives a positive response where
the image gets brighter from left to right. Under true convolution
(:func:`dlcv.conv.convolve2d`) the kernel is flipped and those signs reverse.

>>> from dlcv import kernels
>>> kernels.names()[:3]
('identity', 'box_blur_3x3', 'box_blur_5x5')
>>> kernels.get("sobel_x")
array([[-1.,  0.,  1.],
       [-2.,  0.,  2.],
       [-1.,  0.,  1.]])
>>> kernels.describe("sobel_x")
'Sobel x: horizontal gradient with smoothing; bright where the image gets brighter to the right.'
"""

from __future__ import annotations

import numpy as np

__all__ = ["PRESETS", "default_sigma", "describe", "gaussian", "get", "names"]


def default_sigma(size: int) -> float:
    """Standard deviation used for a Gaussian of a given size when none is chosen.

    The rule ``sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8`` is the one OpenCV's
    ``getGaussianKernel`` documents for a non-positive sigma: 0.8 for 3x3, 1.1 for 5x5.

    Parameters
    ----------
    size : int
        Odd kernel side length, at least 1.

    Returns
    -------
    float
    """
    _check_size(size)
    return 0.3 * ((size - 1) / 2 - 1) + 0.8


def gaussian(size: int, sigma: float | None = None) -> np.ndarray:
    """Sampled, normalised 2-D Gaussian kernel.

    ``g[i, j] = exp(-(x_i**2 + y_j**2) / (2 * sigma**2))`` with ``x, y`` running over
    ``-(size // 2) .. size // 2``, divided by its sum so the weights add up to 1.
    This equals the impulse response of ``scipy.ndimage.gaussian_filter`` with the
    same sigma and radius ``size // 2``.

    Parameters
    ----------
    size : int
        Odd side length of the square kernel, at least 1.
    sigma : float, optional
        Standard deviation in pixels, > 0. Default: :func:`default_sigma` of ``size``.

    Returns
    -------
    ndarray, shape (size, size), float64
    """
    _check_size(size)
    if sigma is None:
        sigma = default_sigma(size)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigma must be a number, got {type(sigma).__name__}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
    x = np.arange(size) - size // 2
    g1 = np.exp(-(x**2) / (2.0 * float(sigma) ** 2))
    g = np.outer(g1, g1)
    return g / g.sum()


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an odd integer, got {type(size).__name__}")
    if size < 1 or size % 2 == 0:
        raise ValueError(
            f"size must be an odd integer >= 1 (so the kernel has a centre), got {size}"
        )


def _frozen(rows) -> np.ndarray:
    arr = np.array(rows, dtype=np.float64)
    arr.setflags(write=False)
    return arr


_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
_PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]

# name -> (kernel, one-line description). Insertion order is the order a menu shows.
_TABLE = {
    "identity": (
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "Identity: copies each pixel unchanged (the centre weight is 1, the rest 0).",
    ),
    "box_blur_3x3": (
        np.ones((3, 3)) / 9,
        "Box blur 3x3: every pixel becomes the plain mean of its 3x3 neighbourhood.",
    ),
    "box_blur_5x5": (
        np.ones((5, 5)) / 25,
        "Box blur 5x5: the mean of a 5x5 neighbourhood; stronger blur than 3x3.",
    ),
    "gaussian_3x3": (
        gaussian(3),
        "Gaussian 3x3 (sigma 0.8): a weighted mean that trusts near pixels most; soft blur.",
    ),
    "gaussian_5x5": (
        gaussian(5),
        "Gaussian 5x5 (sigma 1.1): a wider weighted mean; smooth blur without box artefacts.",
    ),
    "sharpen": (
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "Sharpen: identity minus the 4-neighbour Laplacian; boosts fine detail and noise.",
    ),
    "sobel_x": (
        _SOBEL_X,
        "Sobel x: horizontal gradient with smoothing; bright where the image gets brighter "
        "to the right.",
    ),
    "sobel_y": (
        np.transpose(_SOBEL_X),
        "Sobel y: vertical gradient with smoothing; bright where the image gets brighter "
        "downwards.",
    ),
    "prewitt_x": (
        _PREWITT_X,
        "Prewitt x: horizontal gradient, unweighted rows; bright where the image gets "
        "brighter to the right.",
    ),
    "prewitt_y": (
        np.transpose(_PREWITT_X),
        "Prewitt y: vertical gradient, unweighted columns; bright where the image gets "
        "brighter downwards.",
    ),
    "vertical_edge": (
        -np.array(_PREWITT_X),
        "Vertical edge: minus Prewitt x; positive where the image gets darker to the right.",
    ),
    "laplacian_4": (
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "Laplacian (4-neighbour): second derivative; responds to edges and fine detail, "
        "zero on flat areas and ramps.",
    ),
    "laplacian_8": (
        [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
        "Laplacian (8-neighbour): second derivative including diagonals; zero on flat areas.",
    ),
    "emboss": (
        [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        "Emboss: a diagonal gradient added to the image; edges look raised, lit from the top left.",
    ),
    "outline": (
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        "Outline: 8 times the pixel minus the sum of its 8 neighbours; 0 on flat areas, large "
        "at edges.",
    ),
}

PRESETS: dict[str, np.ndarray] = {name: _frozen(k) for name, (k, _) in _TABLE.items()}
"""Read-only float64 arrays by name. Use :func:`get` for a copy you may change."""

_DESCRIPTIONS: dict[str, str] = {name: text for name, (_, text) in _TABLE.items()}


def names() -> tuple[str, ...]:
    """Names of all presets, in the order a menu should list them.

    Returns
    -------
    tuple of str
    """
    return tuple(PRESETS)


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in PRESETS:
        raise ValueError(f"unknown kernel {name!r}; valid names are: {', '.join(PRESETS)}")


def get(name: str) -> np.ndarray:
    """A writable copy of the preset kernel called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    ndarray, shape (k, k), float64

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    _check_name(name)
    return PRESETS[name].copy()


def describe(name: str) -> str:
    """One-line, plain-language description of the preset ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    str
    """
    _check_name(name)
    return _DESCRIPTIONS[name]
