"""The digit inspector of chapter 06: controls redraw, mistakes filter, errors shown."""

import numpy as np
import pytest

from dlcv.layers import Sequential
from dlcv.models import lenet
from dlcv.widgets.training import DigitInspector, digit_inspector


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    images = rng.random((12, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, size=12)
    return lenet(rng=0), images, labels


def test_moving_the_slider_redraws_picture_and_bars(setup):
    model, images, labels = setup
    w = digit_inspector(model, images, labels)
    assert w.picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    before = (w.picture.value, w.bars.value, w.status.value)
    w.index.value = 5
    assert w.current() == 5
    assert w.picture.value != before[0] and w.status.value != before[2]
    assert f"true {labels[5]}" in w.bars.value
    assert w.message.value == ""


def test_mistakes_only_walks_through_the_wrong_predictions(setup):
    model, images, labels = setup
    w = DigitInspector(model, images, labels)
    wrong = np.flatnonzero(w.probs.argmax(axis=1) != labels)
    assert len(wrong) > 0  # an untrained network errs
    w.show.value = "mistakes only"
    assert w.index.max == len(wrong) - 1
    seen = []
    for k in range(len(wrong)):
        w.index.value = k
        seen.append(w.current())
        assert "wrong" in w.bars.value
    assert seen == list(wrong)


def test_no_mistakes_shows_a_message_instead_of_raising(setup):
    model, images, _ = setup
    labels = model.forward(images).argmax(axis=1)  # the network's own answers: no mistake
    w = DigitInspector(model, images, labels)
    w.show.value = "mistakes only"
    assert "no mistake" in w.error and "no mistake" in w.message.value
    w.show.value = "all images"
    assert w.error is None and w.current() == 0


def test_bad_arguments_raise_at_creation(setup):
    model, images, labels = setup
    with pytest.raises(TypeError, match="model must be a dlcv.layers.Sequential"):
        DigitInspector(object(), images, labels)
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\)"):
        DigitInspector(model, images[:, 0], labels)
    assert isinstance(model, Sequential)
