"""dlcv.lights: the HSV rule on hand-made lamps, its fitting, the light CNN and its shipped
weights, accuracy by lighting, and every bad input."""

import numpy as np
import pytest

from dlcv.lights import (
    CROP_SIZE,
    HUE_BANDS,
    RULE_DEFAULTS,
    accuracy_by_condition,
    as_cnn_input,
    check_crops,
    fit_hsv_rule,
    hsv_rule,
    light_cnn,
    load_light_cnn,
    load_light_results,
    predict_states,
)
from dlcv.scenes import LIGHT_STATES, light_crops, random_scene

RED, AMBER, GREEN, OFF = range(4)
LAMPS = {RED: (1.0, 0.12, 0.08), AMBER: (1.0, 0.62, 0.05), GREEN: (0.1, 1.0, 0.6)}
ROWS = {RED: slice(2, 8), AMBER: slice(9, 15), GREEN: slice(16, 22)}  # top, middle, bottom
# the shipped network (commit c5971c5) reads all 45 lights of validation scenes 5000-5079
# (100 %; 99.3 % on the 754 of the script's validation part); untrained networks of seeds
# 0-5 read 13-29 %. The floor lies far below the one and far above the other.
SHIPPED_FLOOR = 0.8


def housing(n=1):
    """Dark housings on a grey background, every lamp unlit."""
    crops = np.full((n, *CROP_SIZE, 3), 0.5, np.float32)
    crops[:, 1:23, 2:10] = 0.08
    return crops


def lit(state, colour=None):
    crop = housing()
    crop[0, ROWS[state], 4:8] = LAMPS[state] if colour is None else colour
    return crop


@pytest.fixture(scope="module")
def fresh_validation():
    """Lights of validation scenes 5000-5079: never seen by the script (it uses 0-1499)."""
    return light_crops([random_scene(s, "validation") for s in range(5000, 5080)])


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [RED, AMBER, GREEN])
def test_rule_reads_a_lit_lamp_on_a_dark_housing(state):
    assert hsv_rule(lit(state)).tolist() == [state]


def test_rule_reads_lamps_saturated_by_a_long_exposure():
    # at dusk the camera's exposure clips lamps: amber turns yellow, green turns cyan
    assert hsv_rule(lit(AMBER, (1.0, 1.0, 0.1))).tolist() == [AMBER]
    assert hsv_rule(lit(GREEN, (0.2, 1.0, 0.9))).tolist() == [GREEN]


def test_rule_says_off_for_a_dark_housing_and_for_black():
    crops = np.concatenate([housing(), np.zeros((1, *CROP_SIZE, 3), np.float32)])
    assert hsv_rule(crops).tolist() == [OFF, OFF]


def test_rule_needs_a_bright_and_saturated_lamp():
    dim = lit(RED, (0.3, 0.04, 0.02))  # value 0.3 < 0.5
    pale = lit(RED, (1.0, 0.8, 0.8))  # saturation 0.2 < 0.4
    assert hsv_rule(np.concatenate([dim, pale])).tolist() == [OFF, OFF]
    assert hsv_rule(dim, value=0.2).tolist() == [RED]
    assert hsv_rule(pale, saturation=0.1).tolist() == [RED]


def test_rule_off_threshold_and_majority_vote():
    crop = housing()
    crop[0, 2, 4] = LAMPS[GREEN]  # one lit pixel of 288
    assert hsv_rule(crop, min_fraction=0.0).tolist() == [GREEN]
    assert hsv_rule(crop, min_fraction=0.01).tolist() == [OFF]
    crop = lit(RED)
    crop[0, 20, 4:6] = LAMPS[GREEN]  # 2 green pixels against 24 red ones
    assert hsv_rule(crop).tolist() == [RED]


def test_hue_bands_cover_the_lamps_and_not_the_sky():
    from skimage.color import rgb2hsv

    for state, colour in LAMPS.items():
        start, end = HUE_BANDS[LIGHT_STATES[state]]
        hue = rgb2hsv(np.array([[colour]]))[0, 0, 0]
        assert (start <= hue < end) if start < end else (hue >= start or hue < end)
    sky = rgb2hsv(np.array([[(0.45, 0.62, 0.9)]]))[0, 0, 0]
    assert sky >= HUE_BANDS["green"][1]


def test_fit_keeps_or_improves_validation_accuracy():
    crops, states, _ = light_crops([random_scene(s, "validation") for s in range(60)])
    fitted = fit_hsv_rule(crops, states)
    assert set(fitted) == set(RULE_DEFAULTS)
    before = np.mean(hsv_rule(crops) == states)
    after = np.mean(hsv_rule(crops, **fitted) == states)
    assert after >= before
    # a grid of one setting returns that setting
    one = {"saturation": [0.3], "value": [0.6], "min_fraction": [0.02], "red_end": [0.05]}
    got = fit_hsv_rule(crops, states, {**one, "green_end": [0.5]})
    assert (got["saturation"], got["value"], got["min_fraction"]) == (0.3, 0.6, 0.02)
    assert got["hues"]["red"] == (0.9, 0.05) and got["hues"]["green"] == (0.25, 0.5)


# --- the network ---------------------------------------------------------------------------


def test_cnn_shapes_and_seeding():
    model = light_cnn(rng=0)
    x = as_cnn_input(housing(5))
    assert x.shape == (5, 3, *CROP_SIZE) and x.dtype == np.float32
    assert model.forward(x).shape == (5, len(LIGHT_STATES))
    assert model.n_params == 2548
    same, other = light_cnn(rng=0), light_cnn(rng=1)
    w = model.layers[0].params["weight"]
    assert np.array_equal(w, same.layers[0].params["weight"])
    assert not np.array_equal(w, other.layers[0].params["weight"])
    assert predict_states(model, housing(3)).shape == (3,)


def test_shipped_network_reads_fresh_validation_lights(fresh_validation):
    crops, states, _ = fresh_validation
    assert len(states) >= 25
    model = load_light_cnn()
    assert load_light_cnn() is model  # cached
    accuracy = np.mean(predict_states(model, crops) == states)
    assert accuracy >= SHIPPED_FLOOR, f"{accuracy:.1%} of {len(states)} lights"
    untrained = np.mean(predict_states(light_cnn(rng=0), crops) == states)
    assert untrained < SHIPPED_FLOOR  # the floor tells trained from untrained weights


def test_shipped_metadata_and_results_agree():
    meta = load_light_cnn().metadata
    assert meta["validation_accuracy"] > 0.9
    assert "commit" in meta["library"]
    rows, header = load_light_results()
    assert header[0].startswith("command: python scripts/train_light_cnn.py")
    assert header[2].startswith("library: dlcv at commit")
    chosen = [
        r
        for r in rows
        if (r["split"], r["condition"], r["method"], r["lighting"], r["seed"])
        == ("validation", "mix", "cnn", "all", 0)
        and r["chosen"] == 1
    ]
    assert [r["accuracy"] for r in chosen] == [meta["validation_accuracy"]]
    assert chosen[0]["lr"] == meta["recipe"]["lr"]
    assert chosen[0]["epochs"] == meta["recipe"]["epochs"]
    # the rule stored with the network is a valid setting of hsv_rule
    assert hsv_rule(lit(RED), **meta["hsv_rule"]).tolist() == [RED]


# --- scoring -------------------------------------------------------------------------------


def test_accuracy_by_condition():
    predicted = np.array([0, 1, 2, 3, 0, 0])
    states = np.array([0, 1, 2, 0, 1, 0])
    lightings = np.array(["glare", "day", "day", "dusk", "dusk", "fog"])
    out = accuracy_by_condition(predicted, states, lightings)
    assert list(out) == ["all", "day", "dusk", "glare", "fog"]
    assert out["all"] == {"accuracy": 4 / 6, "n": 6}
    assert out["day"] == {"accuracy": 1.0, "n": 2}
    assert out["dusk"] == {"accuracy": 0.0, "n": 2}


# --- bad input -----------------------------------------------------------------------------

GOOD = housing(2)
BAD = [
    (lambda: hsv_rule(GOOD.tolist()), TypeError, "crops must be a NumPy array"),
    (lambda: hsv_rule((GOOD * 255).astype(np.uint8)), TypeError, "crops must hold floats"),
    (lambda: hsv_rule(GOOD[0]), ValueError, r"shape \(N, H, W, 3\).*crop\[None\]"),
    (lambda: hsv_rule(GOOD[..., :1]), ValueError, r"shape \(N, H, W, 3\)"),
    (lambda: hsv_rule(GOOD[:0]), ValueError, "at least one crop"),
    (
        lambda: hsv_rule(GOOD * 255),
        ValueError,
        r"crops must lie in \[0, 1\].*127.5 \(8-bit levels\? divide by 255\)",
    ),
    (lambda: hsv_rule(GOOD + np.nan), ValueError, "NaN"),
    (lambda: hsv_rule(GOOD, saturation=1.5), ValueError, "saturation must be between 0 and 1"),
    (lambda: hsv_rule(GOOD, value="0.5"), TypeError, "value must be a number"),
    (lambda: hsv_rule(GOOD, min_fraction=-0.1), ValueError, "min_fraction"),
    (lambda: hsv_rule(GOOD, hues={"red": (0.9, 0.05)}), ValueError, "hues must be a dict"),
    (lambda: hsv_rule(GOOD, hues=[(0.9, 0.05)]), TypeError, "hues must be a dict of hue"),
    (
        lambda: hsv_rule(GOOD, hues={**HUE_BANDS, "green": (0.3,)}),
        ValueError,
        r"hues\['green'\] must be a pair",
    ),
    (lambda: fit_hsv_rule(GOOD, [0, 1, 2]), ValueError, "states has 3 entries for 2 crops"),
    (lambda: fit_hsv_rule(GOOD, [0.0, 1.0]), TypeError, "states must be a 1-D array of int"),
    (lambda: fit_hsv_rule(GOOD, [0, 4]), ValueError, r"states must index .* from 0 to 4"),
    (lambda: fit_hsv_rule(GOOD, [0, 1], grid={"value": [0.5]}), ValueError, "grid must be"),
    (lambda: as_cnn_input(housing(1)[:, :20]), ValueError, r"24x12 pixels.*\(1, 20, 12, 3\)"),
    (lambda: predict_states("net", GOOD), TypeError, "model must be a dlcv.layers.Sequential"),
    (
        lambda: accuracy_by_condition([0, 1], [0, 1], ["day"]),
        ValueError,
        "lightings must have one entry per crop",
    ),
    (lambda: accuracy_by_condition([0], [0, 1], ["a", "b"]), ValueError, "predicted has 1"),
    (lambda: accuracy_by_condition([], [], []), TypeError, "states must be a 1-D array"),
]


@pytest.mark.parametrize("call, error, match", BAD, ids=[m for *_, m in BAD])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_crop_errors_name_the_argument():
    with pytest.raises(ValueError, match="frames must lie in"):
        check_crops(GOOD + 2, "frames")
