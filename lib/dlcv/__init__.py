"""dlcv: the small library behind "Deep Learning's Impact on Computer Vision".

One module per idea, named after the chapter that introduces it. The four core
kernels are re-exported here::

    from dlcv import correlate2d, convolve2d, conv2d, output_size, max_pool2d, avg_pool2d

Imports are lazy, so ``import dlcv.environment`` works (and can report what is
missing) even when NumPy itself is not installed.
"""

import importlib
import sys

_EXPORTS = {
    "conv2d": "dlcv.conv",
    "convolve2d": "dlcv.conv",
    "correlate2d": "dlcv.conv",
    "output_size": "dlcv.conv",
    "avg_pool2d": "dlcv.pool",
    "max_pool2d": "dlcv.pool",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    try:  # submodules, e.g. ``from dlcv import kernels``
        return importlib.import_module(f"dlcv.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"dlcv.{name}":
            raise
    raise AttributeError(f"module 'dlcv' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


# Inside IPython, every Matplotlib figure is shown with its text alternative (see
# dlcv.figure_text). Without NumPy this is skipped: dlcv.environment says what is missing.
if "IPython" in sys.modules:
    try:
        from dlcv.figure_text import install as _install_figure_text

        _install_figure_text()
    except ModuleNotFoundError:
        pass
