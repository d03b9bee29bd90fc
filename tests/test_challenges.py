"""dlcv.challenges: chapter 13's runs (data hunger, shift, adversarial examples and
training), their determinism and checks, and the loader of the script's files."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from dlcv import challenges as ch
from dlcv.models import LENET_MNIST_RECIPE, load_lenet_mnist
from dlcv.optim import Adam
from dlcv.selection import load_selection
from dlcv.train import evaluate, fit
from dlcv.transfer import budget_indices, prepare

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "challenges_experiment.py"


def _without_seconds(row: dict) -> dict:
    return {k: v for k, v in row.items() if "seconds" not in k}


@pytest.fixture(scope="module")
def parts():
    return ch.mnist_parts()


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """The script's ``--quick`` run, written to a temporary folder (in this process)."""
    spec = importlib.util.spec_from_file_location("challenges_experiment", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path_factory.mktemp("ch13")
    assert script.main(["--quick", "--jobs", "1", "--out", str(out)]) == 0
    return out


def test_settings_agree_with_the_recipe_and_chapter_06():
    per_epoch = math.ceil(3500 / LENET_MNIST_RECIPE["batch_size"])
    assert ch.STEPS == LENET_MNIST_RECIPE["epochs"] * per_epoch
    assert ch.recipe_schedule(3500) == (32, 5, 0.7)
    assert ch.LOGREG_C == load_selection().chosen("logreg")["C"]
    batch, epochs, decay = ch.recipe_schedule(10)  # one step per epoch: the decay per step
    assert (batch, epochs) == (10, ch.STEPS)
    assert decay**per_epoch == pytest.approx(0.7)
    assert max(ch.BUDGETS) == np.bincount(ch.mnist_parts().y_train).min()


@pytest.mark.parametrize("method", ch.HUNGER_METHODS)
def test_hunger_run_gives_its_columns_and_the_same_numbers_for_the_same_seed(method):
    kwargs = {"steps": 5, "lrs": (1e-3,)} if method == "CNN" else {}
    row = ch.hunger_run(method, 1, 0, **kwargs)
    assert list(row) == ch.HUNGER_COLUMNS
    assert row["n_train"] == 10 and 0 <= row["test_accuracy"] <= 1
    assert (row["C"] == "") == (method == "CNN") and (row["lr"] == "") == (method != "CNN")
    assert _without_seconds(ch.hunger_run(method, 1, 0, **kwargs)) == _without_seconds(row)
    other = ch.hunger_run(method, 1, 1, **kwargs)
    assert other["val_accuracy"] != row["val_accuracy"] or other["C"] != row["C"]


def test_hunger_run_chooses_the_learning_rate_on_validation(parts):
    row = ch.hunger_run("CNN", 1, 0, steps=5, lrs=(1e-4, 5e-3))
    idx = budget_indices(parts.y_train, 1, 0)
    vals = []
    for lr in (1e-4, 5e-3):
        model = prepare("scratch", seed=0)
        fit(model, parts.x_train[idx], parts.y_train[idx], epochs=5, batch_size=10,
            optimizer=Adam(lr), lr_decay=ch.recipe_schedule(10, 5)[2], verbose=False)  # fmt: skip
        vals.append(evaluate(model, parts.x_val, parts.y_val)[1])
    assert row["val_accuracy"] == max(vals) and row["lr"] == (1e-4, 5e-3)[int(np.argmax(vals))]


def test_shift_run_on_clean_digits_is_evaluate_on_the_same_images(parts):
    row = ch.shift_run("MNIST test", n_images=100)
    assert list(row) == ch.SHIFT_COLUMNS and row["n_images"] == 100
    model = load_lenet_mnist()
    assert row["accuracy"] == evaluate(model, parts.x_test[:100], parts.y_test[:100])[1]
    x, y = ch.shifted_images("digits", n_images=50)
    assert x.shape == (50, 1, 28, 28)
    assert ch.shift_run("digits", n_images=50)["accuracy"] == evaluate(model, x, y)[1]
    assert 0 <= row["ece"] <= 1 and 0.1 <= row["mean_confidence"] <= 1


def test_shift_run_is_seeded_and_severity_zero_is_clean():
    clean = _without_seconds(ch.shift_run("MNIST test", n_images=60))
    same = _without_seconds(ch.shift_run("MNIST test", "blur", 0.0, n_images=60))
    assert {**same, "corruption": "none", "severity": 0} == clean
    noisy = [_without_seconds(ch.shift_run("MNIST test", "noise", 0.6, s, 60)) for s in (0, 0, 1)]
    assert noisy[0] == noisy[1] and noisy[0]["ece"] != noisy[2]["ece"]
    cells = ch.shift_cells()
    assert len(cells) == 2 + 6 + 6 + 3 * 6 + 5 + 5
    assert len({tuple(c.values()) for c in cells}) == len(cells)


def test_adversarial_run_at_epsilon_zero_is_clean_accuracy(parts):
    idx = budget_indices(parts.y_test, 2, seed=0)
    x, y = parts.x_test[idx], parts.y_test[idx]
    clean = {
        "LeNet": evaluate(load_lenet_mnist(), x, y)[1],
        "logistic regression": ch.pixel_logreg().score(x.reshape(len(x), -1), y),
    }
    for model in ch.MODELS:
        for attack in ch.ATTACKS:
            row = ch.adversarial_run(model, attack, 0.0, per_class=2)
            assert list(row) == ch.ADVERSARIAL_COLUMNS and row["n_images"] == 20
            assert row["accuracy"] == pytest.approx(clean[model], abs=0)
            assert row["linf"] == row["l2"] == 0.0


def test_adversarial_run_is_seeded_and_stays_in_the_ball():
    row = ch.adversarial_run("LeNet", "PGD", 0.2, per_class=2, steps=3)
    assert _without_seconds(ch.adversarial_run("LeNet", "PGD", 0.2, per_class=2, steps=3)) == (
        _without_seconds(row)
    )
    assert row["linf"] <= 0.2 + 1e-6 and row["steps"] == 3
    fgsm = ch.adversarial_run("logistic regression", "FGSM", 0.2, per_class=2)
    assert fgsm["steps"] == 1 and fgsm["accuracy"] < 0.5  # a linear model falls at once


def test_adversarial_fit_standard_is_fit_bit_for_bit(parts):
    x, y = parts.x_train[:40], parts.y_train[:40]
    ours, theirs = prepare("scratch", seed=3), prepare("scratch", seed=3)
    ch.adversarial_fit(ours, x, y, training="standard", steps=4, seed=3)
    batch, epochs, decay = ch.recipe_schedule(40, 4)
    fit(theirs, x, y, epochs=epochs, batch_size=batch, lr_decay=decay, seed=3, verbose=False,
        optimizer=Adam(LENET_MNIST_RECIPE["lr"]))  # fmt: skip
    for (_, a, _), (_, b, _) in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    attacked = prepare("scratch", seed=3)
    ch.adversarial_fit(attacked, x, y, training="FGSM", steps=4, seed=3)
    assert not np.array_equal(attacked.layers[0].params["weight"], ours.layers[0].params["weight"])


def test_adversarial_training_run_gives_its_columns_and_is_seeded():
    kwargs = {"per_class": 3, "steps": 2, "eval_per_class": 1}
    row = ch.adversarial_training_run("PGD-3", 0, **kwargs)
    assert list(row) == ch.TRAINING_COLUMNS and row["steps"] == 2 and row["epsilon"] == 0.1
    assert _without_seconds(ch.adversarial_training_run("PGD-3", 0, **kwargs)) == (
        _without_seconds(row)
    )


def test_warmup_epsilon_grows_over_the_first_fifth_of_the_steps():
    values = [ch.warmup_epsilon(0.1, t, 550) for t in (1, 55, 110, 111, 550)]
    assert values == pytest.approx([0.1 / 110, 0.05, 0.1, 0.1, 0.1])
    assert ch.warmup_epsilon(0.2, 1, 4) == 0.2  # fewer than 5 steps: no warm-up
    kwargs = {"per_class": 1, "steps": 1, "eval_per_class": 1}  # one step: the same radius
    assert _without_seconds(ch.adversarial_training_run("PGD-3 warm-up", 0, **kwargs)) == {
        **_without_seconds(ch.adversarial_training_run("PGD-3", 0, **kwargs)),
        "training": "PGD-3 warm-up",
    }


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: ch.hunger_run("svm", 1, 0), ValueError, "method"),
        (lambda: ch.hunger_run("HOG", 0, 0), ValueError, "per_class"),
        (lambda: ch.hunger_run("HOG", 351, 0), ValueError, "per_class must be at most 350"),
        (lambda: ch.hunger_run("HOG", 1.5, 0), TypeError, "per_class"),
        (lambda: ch.hunger_run("HOG", 1, -1), ValueError, "seed"),
        (lambda: ch.hunger_run("CNN", 1, 0, lrs=()), ValueError, "lrs"),
        (lambda: ch.hunger_run("CNN", 1, 0, steps=0), ValueError, "steps"),
        (lambda: ch.shift_run("cifar"), ValueError, "data"),
        (lambda: ch.shift_run("digits", "sharpen", 1), ValueError, "corruption"),
        (lambda: ch.shift_run("MNIST test", "blur", -1.0), ValueError, "severity"),
        (lambda: ch.shift_run("MNIST test", n_images=0), ValueError, "n_images"),
        (lambda: ch.adversarial_run("resnet", "FGSM", 0.1), ValueError, "model"),
        (lambda: ch.adversarial_run("LeNet", "CW", 0.1), ValueError, "attack"),
        (lambda: ch.adversarial_run("LeNet", "FGSM", -0.1), ValueError, "epsilon"),
        (lambda: ch.adversarial_run("LeNet", "FGSM", "0.1"), TypeError, "epsilon"),
        (lambda: ch.adversarial_run("LeNet", "PGD", 0.1, steps=0), ValueError, "steps"),
        (lambda: ch.adversarial_run("LeNet", "PGD", 0.1, per_class=2.0), TypeError, "per_class"),
        (lambda: ch.adversarial_training_run("mixup", 0), ValueError, "training"),
        (lambda: ch.adversarial_training_run("FGSM", 0, epsilon=2), ValueError, "epsilon"),
        (lambda: ch.run_cell("speed", seed=0), ValueError, "table"),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_the_loader_reads_what_the_script_writes(quick_results):
    results = ch.load_challenges_results(quick_results)
    assert set(results.tables) == set(ch.FILES)
    assert results.header[0] == (
        f"command: python scripts/challenges_experiment.py --quick --jobs 1 --out {quick_results}"
    )
    for table, (_, columns) in ch.FILES.items():
        assert results.tables[table] and all(list(r) == columns for r in results.tables[table])
    cnn = results.rows("hunger", method="CNN", per_class=1)[0]
    again = ch.hunger_run("CNN", 1, 0, steps=20)  # a stored cell, re-run
    assert _without_seconds(cnn) == _without_seconds(again)
    xs, mean, std = results.curve("adversarial", "epsilon", "accuracy", model="LeNet", attack="PGD")
    assert xs.tolist() == [0.0, 0.1] and mean[0] > mean[1] and std.tolist() == [0.0, 0.0]
    assert results.time_ratio("PGD-3").shape == (1,)
    assert results.values("shift", "n_images").tolist() == [100, 100, 100]
    with pytest.raises(ValueError, match="column"):
        results.values("shift", "colour")
    with pytest.raises(ValueError, match="table"):
        results.rows("speed")


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda text: text.replace(",ece,", ",calibration,"), r"columns \['ece'\] missing"),
        (lambda text: text.replace(",100,", ",a hundred,", 1), "row 1, column 'n_images'"),
        (lambda text: "\n".join(text.splitlines()[:6]), "holds no rows"),
    ],
)
def test_the_loader_refuses_a_damaged_file(quick_results, tmp_path, damage, match):
    for name, _ in ch.FILES.values():
        (tmp_path / name).write_text((quick_results / name).read_text())
    shift = tmp_path / ch.FILES["shift"][0]
    shift.write_text(damage(shift.read_text()))
    with pytest.raises(ValueError, match=match):
        ch.load_challenges_results(tmp_path)
    shift.unlink()
    with pytest.raises(FileNotFoundError, match="scripts/challenges_experiment.py"):
        ch.load_challenges_results(tmp_path)
