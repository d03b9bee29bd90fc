"""dlcv.augment: rotations are rotations, flips are involutions, shapes and layouts are
kept, values clipped, pipelines deterministic by seed, batches consistent with single
images, and every error message."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from dlcv import augment as A

RNG = np.random.default_rng(0)
SQUARE = RNG.random((9, 9))
PHOTO = RNG.random((7, 10, 3))
BATCH = RNG.random((5, 2, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("image", [SQUARE, RNG.random((6, 6, 3)), BATCH], ids=["HW", "HWC", "NCHW"])
def test_rotation_by_90_is_rot90_not_the_transpose(image):
    axes = (0, 1) if image.ndim < 4 else (2, 3)
    np.testing.assert_allclose(A.rotate(image, 90), np.rot90(image, axes=axes), atol=1e-12)
    np.testing.assert_allclose(A.rotate(image, -90), np.rot90(image, -1, axes=axes), atol=1e-12)
    np.testing.assert_allclose(A.rotate(image, 180), np.rot90(image, 2, axes=axes), atol=1e-12)
    transpose = np.swapaxes(image, *axes)
    assert not np.allclose(A.rotate(image, 90), transpose)


@given(st.floats(-180, 180), st.integers(-2, 2))
@settings(max_examples=30, deadline=None)
def test_rotation_by_full_turns_is_the_identity_and_angles_add_up_modulo_360(angle, turns):
    np.testing.assert_allclose(A.rotate(SQUARE, 360 * turns), SQUARE, atol=1e-10)
    np.testing.assert_allclose(
        A.rotate(SQUARE, angle + 360 * turns), A.rotate(SQUARE, angle), atol=1e-9
    )


def test_rotation_matches_scipy_for_any_angle_and_turns_counter_clockwise():
    expected = ndimage.rotate(SQUARE, 30, reshape=False, order=1, mode="grid-constant")
    np.testing.assert_allclose(A.rotate(SQUARE, 30), expected, atol=1e-12)
    dot = np.zeros((9, 9))
    dot[4, 8] = 1  # right of the centre
    assert np.unravel_index(A.rotate(dot, 90, order=0).argmax(), dot.shape) == (0, 4)  # now on top


@pytest.mark.parametrize(
    "layout,image",
    [
        ("HW", SQUARE),
        ("HWC", PHOTO),
        ("NCHW", BATCH),
        ("NHW", BATCH[:, 0]),
        ("NHWC", BATCH.transpose(0, 2, 3, 1)),
    ],
)
def test_flips_are_involutions_and_mirror_the_right_axis(layout, image):
    w_axis, h_axis = layout.index("W"), layout.index("H")
    np.testing.assert_array_equal(A.hflip(A.hflip(image, layout), layout), image)
    np.testing.assert_array_equal(A.vflip(A.vflip(image, layout), layout), image)
    np.testing.assert_array_equal(A.hflip(image, layout), np.flip(image, w_axis))
    np.testing.assert_array_equal(A.vflip(image, layout), np.flip(image, h_axis))


TRANSFORMS = [
    A.RandomFlip(horizontal=True, vertical=True),
    A.RandomRotation(30),
    A.RandomTranslation(2),
    A.RandomCrop(padding=2),
    A.RandomScale(0.8, 1.2),
    A.RandomBrightness(0.3),
    A.RandomContrast(0.5, 1.5),
    A.GaussianNoise(0.2),
    A.Cutout(3),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
@pytest.mark.parametrize(
    "layout,image", [(None, SQUARE), (None, PHOTO), (None, BATCH), ("NHW", BATCH[:, 0])]
)
def test_random_transforms_keep_shape_dtype_and_range_and_follow_the_seed(transform, layout, image):
    out = transform(image, rng=3, layout=layout)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(
        out, transform(image, rng=np.random.default_rng(3), layout=layout)
    )


def test_a_pipeline_is_deterministic_by_seed_and_varies_with_it():
    pipeline = A.Compose(TRANSFORMS)
    a = pipeline(BATCH, rng=7)
    np.testing.assert_array_equal(a, pipeline(BATCH, rng=7))
    assert not np.array_equal(a, pipeline(BATCH, rng=8))
    assert a.shape == BATCH.shape and a.dtype == np.float32


def test_random_parameters_are_drawn_per_image():
    same = np.repeat(SQUARE[None, None], 6, axis=0)
    out = A.RandomRotation(45)(same, rng=0)
    assert len({out[i].tobytes() for i in range(6)}) == 6
    for i in range(6):  # channels of one image share the parameters
        two = np.repeat(SQUARE[None, None], 2, axis=1)
        o = A.RandomRotation(45)(two, rng=i)
        np.testing.assert_array_equal(o[0, 0], o[0, 1])


@pytest.mark.parametrize(
    "fn,args",
    [
        (A.rotate, (25,)),
        (A.translate, ((1.5, -2),)),
        (A.scale, (1.3,)),
        (A.adjust_brightness, (0.2,)),
        (A.adjust_contrast, (1.5,)),
        (A.hflip, ()),
        (A.vflip, ()),
    ],
)
def test_a_batch_gives_what_each_image_gives_alone(fn, args):
    whole = fn(BATCH, *args)
    grey = fn(BATCH[:, :1], *args)
    for i in range(len(BATCH)):
        np.testing.assert_allclose(whole[i], fn(BATCH[i : i + 1], *args)[0], atol=1e-6)
        np.testing.assert_allclose(grey[i, 0], fn(BATCH[i, 0], *args), atol=1e-6)


def test_per_image_parameters_match_single_calls():
    angles = [0, 15, 90, -40, 180]
    whole = A.rotate(BATCH, angles)
    for i, angle in enumerate(angles):
        np.testing.assert_allclose(whole[i, 1], A.rotate(BATCH[i, 1], angle), atol=1e-6)


def test_translate_moves_pixels_exactly_and_fills():
    out = A.translate(SQUARE, (2, -3), fill=0.5)
    np.testing.assert_array_equal(out[2:, :-3], SQUARE[:-2, 3:])
    assert (out[:2] == 0.5).all() and (out[:, -3:] == 0.5).all()


def test_crop_scale_brightness_contrast_noise_cutout_formulas():
    np.testing.assert_array_equal(A.crop(PHOTO, 1, 2, 4, 5), PHOTO[1:5, 2:7])
    np.testing.assert_allclose(A.scale(SQUARE, 1.0), SQUARE, atol=1e-12)
    big = A.scale(SQUARE, 2.0, order=1)
    assert big[4, 4] == pytest.approx(SQUARE[4, 4])  # the centre stays put
    assert A.scale(SQUARE, 0.5)[0, 0] == 0.0  # shrinking brings in the fill
    np.testing.assert_allclose(A.adjust_brightness(SQUARE, 0.1, clip=None), SQUARE + 0.1)
    assert A.adjust_brightness(SQUARE, 0.5).max() == 1.0
    flat = A.adjust_contrast(SQUARE, 0.0)
    np.testing.assert_allclose(flat, SQUARE.mean())
    np.testing.assert_allclose(
        A.adjust_contrast(SQUARE, 2.0, clip=None), SQUARE.mean() + 2 * (SQUARE - SQUARE.mean())
    )
    noisy = A.gaussian_noise(np.full((200, 200), 0.5), 0.1, rng=0)
    assert abs(noisy.std() - 0.1) < 0.005
    holed = A.cutout(SQUARE, -1, 7, 3, fill=-1.0)
    assert (holed == -1.0).sum() == 2 * 2  # the part inside the image only
    np.testing.assert_array_equal(holed[:2, 7:9], -1.0)


def test_integer_images_become_floats_in_unit_range():
    img = (SQUARE * 255).astype(np.uint8)
    out = A.hflip(img)
    assert out.dtype == np.float64 and out.max() <= 1
    np.testing.assert_allclose(out, img[:, ::-1] / 255)


def test_random_crop_without_padding_of_a_smaller_size():
    out = A.RandomCrop(5)(SQUARE, rng=0)
    assert out.shape == (5, 5)
    windows = np.lib.stride_tricks.sliding_window_view(SQUARE, (5, 5)).reshape(-1, 5, 5)
    assert any(np.array_equal(out, w) for w in windows)


# ------------------------------------------------------------------ error messages
def test_layout_errors():
    with pytest.raises(TypeError, match="images must be a NumPy array, got list"):
        A.hflip([[0.0]])
    with pytest.raises(TypeError, match="images must be numeric, got dtype <U1"):
        A.hflip(np.array([["a"]]))
    with pytest.raises(
        ValueError,
        match=r"images must be 2-D \(H, W\), 3-D \(H, W, C\) or 4-D "
        r"\(N, C, H, W\), got shape \(4,\)",
    ):
        A.hflip(np.zeros(4))
    with pytest.raises(ValueError, match="layout must be one of"):
        A.hflip(SQUARE, layout="WH")
    with pytest.raises(ValueError, match=r"layout 'NCHW' needs a 4-D array, got shape \(9, 9\)"):
        A.hflip(SQUARE, layout="NCHW")
    with pytest.raises(ValueError, match=r"images must not be empty, got shape \(0, 1, 3, 3\)"):
        A.hflip(np.zeros((0, 1, 3, 3)))


def test_argument_errors():
    with pytest.raises(ValueError, match=r"angle must be one value or one per image \(5\), got 2"):
        A.rotate(BATCH, [1, 2])
    with pytest.raises(ValueError, match="angle must be finite"):
        A.rotate(SQUARE, np.nan)
    with pytest.raises(ValueError, match="order must be an int from 0 to 5"):
        A.rotate(SQUARE, 10, order=7)
    with pytest.raises(ValueError, match=r"shift must be \(dy, dx\) or one finite pair per image"):
        A.translate(SQUARE, (1, 2, 3))
    with pytest.raises(
        ValueError,
        match=r"crop window top=5, left=0, height=5, width=5 does not "
        r"fit in an image of 9x9",
    ):
        A.crop(SQUARE, 5, 0, 5, 5)
    with pytest.raises(TypeError, match="top must be an integer"):
        A.crop(SQUARE, 1.5, 0, 2, 2)
    with pytest.raises(ValueError, match="factor must be positive"):
        A.scale(SQUARE, 0)
    with pytest.raises(ValueError, match="factor must be >= 0"):
        A.adjust_contrast(SQUARE, -1)
    with pytest.raises(ValueError, match=r"clip must be \(low, high\) with low < high"):
        A.adjust_brightness(SQUARE, 0.1, clip=(1, 0))
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        A.gaussian_noise(SQUARE, -0.1)
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy Generator"):
        A.gaussian_noise(SQUARE, 0.1, rng="zero")
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        A.cutout(SQUARE, 0, 0, 0)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 2"):
        A.RandomFlip(p=2)
    with pytest.raises(ValueError, match="degrees must be a number >= 0"):
        A.RandomRotation(-5)
    with pytest.raises(TypeError, match="max_shift must be an int or a pair of ints, got 1.5"):
        A.RandomTranslation(1.5)
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        A.RandomCrop(0)
    with pytest.raises(ValueError, match="padding must be at least 0, got -1"):
        A.RandomCrop(padding=-1)
    with pytest.raises(ValueError, match=r"crop size \(12, 12\) is larger than the padded image"):
        A.RandomCrop(12)(SQUARE, rng=0)
    with pytest.raises(ValueError, match="need 0 < low <= high"):
        A.RandomScale(1.2, 0.8)
    with pytest.raises(ValueError, match="need 0 <= low <= high"):
        A.RandomContrast(-1, 1)
    with pytest.raises(ValueError, match="max_delta must be a number >= 0"):
        A.RandomBrightness(-0.1)
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        A.GaussianNoise(-1)
    with pytest.raises(ValueError, match="size must be at least 1, got 0"):
        A.Cutout(0)
    with pytest.raises(TypeError, match="transform 1 must be callable, got int"):
        A.Compose([A.RandomFlip(), 3])


# ------------------------------------------------------------------ RandomApply
def test_random_apply_with_p_one_is_the_transform():
    x = np.random.default_rng(0).random((6, 1, 10, 10))
    t = A.RandomRotation(30)
    got = A.RandomApply(t, 1.0)(x, np.random.default_rng(4), "NCHW")
    rng = np.random.default_rng(4)
    rng.random(6)  # RandomApply draws one number per image first
    np.testing.assert_array_equal(got, t(x, rng, "NCHW"))
    np.testing.assert_array_equal(A.RandomApply(t, 0.0)(x, 4, "NCHW"), x)


@settings(max_examples=20, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_random_apply_applies_a_fraction_p(p, seed):
    x = np.zeros((2000, 1, 2, 2))
    mark = A.RandomApply(lambda im, rng, layout: im + 1, p)  # adds 1 to the chosen images
    out = mark(x, seed, "NCHW")
    fraction = float(np.mean(out[:, 0, 0, 0] == 1))
    assert abs(fraction - p) < 5 * np.sqrt(p * (1 - p) / 2000)  # 5 standard errors


def test_random_apply_rejects_bad_arguments():
    with pytest.raises(ValueError, match="p must be a probability"):
        A.RandomApply(A.RandomRotation(5), 1.5)
    with pytest.raises(TypeError, match="transform must be callable"):
        A.RandomApply(3, 0.5)
    with pytest.raises(ValueError, match=r"RandomApply works inside Compose.*shape \(4, 4\)"):
        A.RandomApply(A.RandomRotation(5), 0.5)(np.zeros((4, 4)), 0, "HW")
