"""dlcv: the small library behind "Deep Learning's Impact on Computer Vision".

One module per idea, named after the chapter that introduces it. The four core
kernels are re-exported here::

    from dlcv import correlate2d, convolve2d, conv2d, output_size, max_pool2d, avg_pool2d
"""

from dlcv.conv import conv2d, convolve2d, correlate2d, output_size
from dlcv.pool import avg_pool2d, max_pool2d

__all__ = [
    "avg_pool2d",
    "conv2d",
    "convolve2d",
    "correlate2d",
    "max_pool2d",
    "output_size",
]
__version__ = "0.1.0"
