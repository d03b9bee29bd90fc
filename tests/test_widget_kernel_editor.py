"""Tests for the kernel editor: drive its controls and compare with dlcv.correlate2d / SciPy."""

import io

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dlcv import correlate2d, kernels, output_size
from dlcv.data import load_image, sample_image
from dlcv.widgets.kernel_editor import KernelEditor, kernel_editor
from uploads import pick_file


def _upload(editor, content: bytes, name: str = "mine.png", mime: str = "image/png"):
    """What the browser does when a learner picks a file (ipywidgets 7 or 8)."""
    pick_file(editor.upload, content, name, mime)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _expected(editor):
    return correlate2d(
        editor.image_array, editor.kernel, padding=editor.padding.value, stride=editor.stride.value
    )


@pytest.fixture(scope="module")
def camera():
    return sample_image("camera", grey=True)


@pytest.fixture()
def editor():
    return KernelEditor(image="camera", preset="sobel_x", padding="same", stride=1)


def test_initial_state_matches_correlate2d(editor, camera):
    assert editor.error is None
    np.testing.assert_array_equal(editor.image_array, camera)
    np.testing.assert_allclose(
        editor.output_array, correlate2d(camera, kernels.get("sobel_x"), padding="same")
    )
    assert editor.output_png.startswith(b"\x89PNG") and editor.input_png.startswith(b"\x89PNG")
    assert max(Image.open(io.BytesIO(editor.output_png)).size) == 256  # shrunk for display
    assert (editor.row.value, editor.col.value) == (256, 256)  # starts at the centre
    assert editor.readout["agree"]


def test_factory_takes_the_same_arguments():
    editor = kernel_editor(image="coins", preset="identity", padding="valid")
    np.testing.assert_allclose(editor.output_array, sample_image("coins", grey=True)[1:-1, 1:-1])


def test_changing_the_preset_recomputes(editor, camera):
    before_png, before = editor.output_png, editor.output_array
    editor.preset.value = "gaussian_5x5"
    assert editor.size.value == 5 and editor.kernel.shape == (5, 5)
    np.testing.assert_allclose(editor.kernel, kernels.get("gaussian_5x5"))
    np.testing.assert_allclose(
        editor.output_array, correlate2d(camera, kernels.get("gaussian_5x5"), padding="same")
    )
    assert not np.allclose(before, editor.output_array)
    assert editor.output_png != before_png
    assert kernels.describe("gaussian_5x5") in editor.kernel_info.value


def test_editing_a_cell_makes_a_custom_kernel(editor, camera):
    before_png = editor.output_png
    editor.cells[1][1].value = 3.0
    assert editor.preset.value == "custom"
    expected_kernel = kernels.get("sobel_x")
    expected_kernel[1, 1] = 3.0
    np.testing.assert_array_equal(editor.kernel, expected_kernel)
    np.testing.assert_allclose(
        editor.output_array, correlate2d(camera, expected_kernel, padding="same")
    )
    assert editor.output_png != before_png


@pytest.mark.parametrize("padding", ["valid", "same", "full"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_padding_and_stride(editor, camera, padding, stride):
    editor.padding.value, editor.stride.value = padding, stride
    out = editor.output_array
    assert out.shape == (output_size(512, 3, stride, padding),) * 2
    np.testing.assert_allclose(
        out, correlate2d(camera, kernels.get("sobel_x"), padding=padding, stride=stride)
    )
    assert editor.row.max == out.shape[0] - 1 and editor.col.max == out.shape[1] - 1
    assert editor.readout["agree"]


def test_same_padding_stride_1_matches_scipy(editor, camera):
    editor.preset.value = "emboss"
    np.testing.assert_allclose(
        editor.output_array,
        ndi.correlate(camera, kernels.get("emboss"), mode="constant", cval=0.0),
        atol=1e-12,
    )


def test_changing_the_image(editor):
    before_input = editor.input_png
    editor.image_choice.value = "coins"
    coins = sample_image("coins", grey=True)
    np.testing.assert_array_equal(editor.image_array, coins)
    np.testing.assert_allclose(
        editor.output_array, correlate2d(coins, kernels.get("sobel_x"), padding="same")
    )
    assert editor.input_png != before_input
    assert Image.open(io.BytesIO(editor.input_png)).size == (256, 202)  # aspect ratio kept
    editor.image_choice.value = "astronaut"
    np.testing.assert_array_equal(editor.image_array, sample_image("astronaut", grey=True))


def test_growing_the_kernel_keeps_the_same_output(editor):
    before = editor.output_array
    editor.size.value = 5  # the 3x3 kernel sits in the centre of a 5x5 block of zeros
    assert editor.kernel.shape == (5, 5) and editor.preset.value == "custom"
    np.testing.assert_array_equal(editor.kernel[1:4, 1:4], kernels.get("sobel_x"))
    assert editor.kernel[0].sum() == 0 and editor.kernel[:, 4].sum() == 0
    np.testing.assert_allclose(editor.output_array, before, atol=1e-12)
    editor.size.value = 3
    np.testing.assert_array_equal(editor.kernel, kernels.get("sobel_x"))


@pytest.mark.parametrize(
    ("padding", "stride"), [("valid", 1), ("same", 2), ("full", 3), ("same", 4)]
)
def test_readout_arithmetic_at_picked_pixels(editor, camera, padding, stride):
    editor.padding.value, editor.stride.value = padding, stride
    out = editor.output_array
    for r, c in [(0, 0), (out.shape[0] - 1, out.shape[1] - 1), (7, out.shape[1] // 2)]:
        png_before = editor.output_png
        editor.row.value, editor.col.value = r, c
        rd = editor.readout
        assert (rd["row"], rd["col"]) == (r, c)
        np.testing.assert_allclose(rd["products"], rd["patch"] * rd["kernel"])
        assert rd["sum"] == pytest.approx(out[r, c], abs=1e-12) and rd["output"] == out[r, c]
        assert rd["agree"]
        # the patch is the image under the window, zero where the window is off the image
        padded = np.pad(camera, 2)
        top, left = rd["top"], rd["left"]
        np.testing.assert_array_equal(rd["patch"], padded[top + 2 : top + 5, left + 2 : left + 5])
        assert f"output[{r}, {c}] = {out[r, c]:.6f}" in editor.arithmetic.value
        if (r, c) != (out.shape[0] - 1, out.shape[1] - 1):
            assert editor.output_png != png_before  # the marker moved
        assert editor.output_array is out  # picking a pixel does not recompute


def test_valid_patch_is_the_image_window(editor, camera):
    editor.padding.value, editor.stride.value = "valid", 2
    editor.row.value, editor.col.value = 10, 20
    np.testing.assert_array_equal(editor.readout["patch"], camera[20:23, 40:43])
    assert "zero padding" not in editor.arithmetic.value


def test_colour_map_follows_the_sign_of_the_output(editor):
    assert editor.display_range.signed and editor.display_range.cmap == "RdBu_r"
    assert "signed" in editor.output_colours.value
    rgb = _decode(editor.output_png)
    assert (rgb[..., 0] != rgb[..., 2]).any()  # coloured
    editor.preset.value = "box_blur_3x3"
    assert not editor.display_range.signed and editor.display_range.cmap == "gray"
    assert "grey" in editor.output_colours.value
    rgb = _decode(editor.output_png)
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    assert grey.all()  # grey everywhere, the black-and-white marker included
    editor.preset.value = "sharpen"  # overshoots below 0 at a few edges: still an image, grey
    assert editor.display_range.cmap == "gray" and editor.display_range.vmin < 0


def test_colour_limits_let_one_percent_saturate(editor):
    rng, out = editor.display_range, editor.output_array
    assert rng.vmax == pytest.approx(np.quantile(np.abs(out), 0.99), rel=0.05)
    assert rng.saturated == pytest.approx(np.mean(np.abs(out) > rng.vmax))
    assert f"{100 * rng.saturated:.1f} % of values saturate" in editor.output_colours.value


def test_good_upload_is_used_in_grey(editor):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    content = _png(rgb)
    _upload(editor, content, name="mine.png")
    assert editor.error is None
    assert editor.image_choice.value == "upload" and "mine.png" in editor.input_caption.value
    np.testing.assert_allclose(editor.image_array, load_image(content, grey=True))
    np.testing.assert_allclose(editor.output_array, _expected(editor))
    editor.image_choice.value = "coins"  # back to a sample photo, upload still offered
    assert editor.image_array.shape == (303, 384)
    editor.image_choice.value = "upload"
    assert editor.image_array.shape == (40, 60)
    first_png = editor.input_png
    _upload(editor, _png(255 - rgb), name="mine.png")  # same name, new picture
    np.testing.assert_allclose(editor.image_array, load_image(_png(255 - rgb), grey=True))
    assert editor.input_png != first_png


def test_input_picture_is_redrawn_only_when_the_window_moves(editor):
    first = editor.input_png
    editor.cells[0][0].value = 2.0  # a new weight: same window
    assert editor.input_png == first
    editor.col.value = 10  # the window moves
    assert editor.input_png != first


def test_large_upload_is_shrunk_to_512(editor):
    big = np.random.default_rng(2).integers(0, 256, (600, 1200), dtype=np.uint8)
    _upload(editor, _png(big))
    assert editor.image_array.shape == (256, 512)


def _encoded(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def _damaged_uploads() -> list[tuple[str, bytes]]:
    """Files a learner may pick by mistake: cut short, scrambled, empty, not a picture."""
    rgb = np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    png, jpeg, gif, tiff, bmp, webp = (
        _encoded(rgb, fmt) for fmt in ("PNG", "JPEG", "GIF", "TIFF", "BMP", "WEBP")
    )
    bad_depth = bytearray(bmp)
    bad_depth[28:30] = (7).to_bytes(2, "little")  # 7 bits per pixel: no BMP has that
    return [
        ("cut.png", png[: len(png) // 2]),
        ("cut.jpg", jpeg[: len(jpeg) // 3]),
        ("cut.gif", gif[: len(gif) // 2]),
        ("cut.tif", tiff[: len(tiff) // 2]),
        ("header cut.bmp", bmp[:20]),
        ("bad depth.bmp", bytes(bad_depth)),
        ("cut.webp", webp[: len(webp) // 2]),
        ("zeroed.png", bytes(16) + png[16:]),
        ("shopping.png", b"milk, eggs, bread\n"),
        ("empty.png", b""),
    ]


def test_damaged_uploads_are_explained_and_the_editor_keeps_working(editor):
    before, image = (editor.input_png, editor.output_png), editor.image_array
    for name, content in _damaged_uploads():
        _upload(editor, content, name=name)  # must not raise
        assert editor.error.startswith(f"Could not use {name!r}: "), editor.error
        assert any(
            words in editor.error for words in ("is truncated or damaged", "is not an image")
        ) or (name == "empty.png" and "is empty (0 bytes)" in editor.error), editor.error
        assert "Error:" not in editor.error  # a ValueError's message, not a bug's type name
        assert "The previous image is kept" in editor.message.value
        assert (editor.input_png, editor.output_png) == before and editor.image_array is image
        assert editor.image_choice.value == "camera" and not editor.upload.value
    good = np.random.default_rng(4).integers(0, 256, (30, 50), dtype=np.uint8)
    _upload(editor, _png(good), name="good.png")  # a good file afterwards works
    assert editor.error is None and editor.image_choice.value == "upload"
    np.testing.assert_array_equal(editor.image_array, good / 255.0)
    np.testing.assert_allclose(editor.output_array, _expected(editor))


def test_a_kernel_too_large_for_an_upload_is_explained(editor):
    _upload(editor, _png(np.full((3, 3), 200, np.uint8)), name="tiny.png")
    editor.padding.value = "valid"
    before = editor.output_png
    editor.preset.value = "gaussian_5x5"  # a 5x5 kernel does not fit in a 3x3 image
    assert "larger than the padded image" in editor.error
    assert editor.output_png == before and editor.output_array.shape == (1, 1)
    editor.row.value = 0  # picking a pixel with no output does not raise either
    editor.padding.value = "same"  # the widget recovers
    assert editor.error is None and editor.output_array.shape == (3, 3)
    np.testing.assert_allclose(editor.output_array, _expected(editor))


def test_a_weight_that_is_not_a_number_is_named(editor):
    editor.cells[1][2].value = float("nan")
    assert editor.error.startswith("the kernel weight in row 2, column 3 is nan")
    editor.cells[1][2].value = 2.0
    assert editor.error is None and editor.readout["agree"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=9, max_size=9),
    padding=st.sampled_from(["valid", "same", "full"]),
    stride=st.integers(1, 4),
    pick=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_random_kernels_agree_with_correlate2d(values, padding, stride, pick):
    editor = KernelEditor(image="coins", preset="identity")
    for i, v in enumerate(values):
        editor.cells[i // 3][i % 3].value = v
    editor.padding.value, editor.stride.value = padding, stride
    coins = sample_image("coins", grey=True)
    kernel = np.reshape(values, (3, 3))
    np.testing.assert_allclose(
        editor.output_array, correlate2d(coins, kernel, padding=padding, stride=stride)
    )
    h, w = editor.output_array.shape
    editor.row.value, editor.col.value = round(pick[0] * (h - 1)), round(pick[1] * (w - 1))
    assert editor.readout["agree"]
    assert editor.readout["sum"] == pytest.approx(
        editor.output_array[editor.row.value, editor.col.value], abs=1e-9
    )


def test_starting_pixel_is_chosen_and_clamped():
    editor = KernelEditor(image="coins", preset="sobel_x", pixel=(10, 20))
    assert (editor.readout["row"], editor.readout["col"]) == (10, 20)
    editor = KernelEditor(image="coins", preset="sobel_x", pixel=(1000, 5))
    assert (editor.readout["row"], editor.readout["col"]) == (302, 5)
