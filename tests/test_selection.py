"""dlcv.selection: settings chosen on validation, and the shipped selection files."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv.data import ThreeWaySplit, load_mnist_splits
from dlcv.grid import provenance, write_csv
from dlcv.models import LENET_MNIST_RECIPE
from dlcv.selection import (
    COLUMNS,
    GRIDS,
    MAX_EPOCHS,
    SEEDS,
    choose,
    load_selection,
    make_model,
    test_accuracy,
    train_chosen,
    validation_run,
)


@pytest.fixture(scope="module")
def small():
    """200 training and 100 validation digits (and the real test part, never used)."""
    p = load_mnist_splits()
    return ThreeWaySplit(p.x_train[:200], p.y_train[:200], p.x_val[:100], p.y_val[:100],
                         p.x_test, p.y_test)  # fmt: skip


def row(model="cnn", lr=0.002, width="8x16", C="", seed=0, epoch=1, acc=0.9):
    return {"model": model, "lr": lr, "width": width, "C": C, "seed": seed, "epoch": epoch,
            "val_accuracy": acc, "val_loss": 0.0, "seconds": 0.0}  # fmt: skip


def test_choose_takes_the_best_mean_over_seeds_not_the_best_single_run():
    rows = [
        row(lr=0.01, seed=0, acc=0.99), row(lr=0.01, seed=1, acc=0.80),  # mean 0.895
        row(lr=0.002, seed=0, acc=0.92), row(lr=0.002, seed=1, acc=0.92),  # mean 0.92
    ]  # fmt: skip
    chosen = choose(rows, "cnn")
    assert chosen["lr"] == 0.002 and chosen["width"] == (8, 16) and chosen["epochs"] == 1
    assert chosen["val_mean"] == pytest.approx(0.92) and chosen["val_std"] == 0.0
    assert chosen["n_seeds"] == 2


def test_choose_breaks_ties_towards_fewer_epochs_then_the_smaller_model():
    rows = [row(epoch=5, acc=0.95), row(epoch=3, acc=0.95), row(width="16x32", epoch=3, acc=0.95)]
    chosen = choose(rows, "cnn")
    assert (chosen["epochs"], chosen["width"]) == (3, (8, 16))
    rows = [row("logreg", "", "", C=c, seed="", epoch=0, acc=0.9) for c in (10.0, 0.1, 1.0)]
    assert choose(rows, "logreg")["C"] == 0.1


def test_choose_errors():
    with pytest.raises(ValueError, match="no run of model 'mlp'"):
        choose([row()], "mlp")
    with pytest.raises(ValueError, match="model must be one of"):
        choose([row()], "svm")


def test_a_network_run_scores_every_epoch_and_epoch_e_is_an_e_epoch_run(small):
    rows = validation_run(small, "cnn", 1, lr=2e-3, width=(4, 8))
    assert [r["epoch"] for r in rows] == list(range(1, MAX_EPOCHS + 1))
    assert all(set(r) == set(COLUMNS) for r in rows)
    again = validation_run(small, "cnn", 1, lr=2e-3, width=(4, 8))
    assert [r["val_accuracy"] for r in again] == [r["val_accuracy"] for r in rows]  # seeded
    chosen = {"model": "cnn", "lr": 2e-3, "width": (4, 8), "C": None, "epochs": 3}
    model, history = train_chosen(small, chosen, seed=1)
    assert history.epochs == 3
    assert history.val_accuracy == [r["val_accuracy"] for r in rows[:3]]
    assert test_accuracy(model, small.x_val, small.y_val) == rows[2]["val_accuracy"]


def test_logistic_regression_run_is_one_row_and_matches_its_chosen_model(small):
    (only,) = validation_run(small, "logreg", C=0.1)
    assert only["epoch"] == 0 and 0.5 < only["val_accuracy"] <= 1
    model, history = train_chosen(small, {"model": "logreg", "C": 0.1})
    assert history is None
    assert test_accuracy(model, small.x_val, small.y_val) == pytest.approx(only["val_accuracy"])


def test_make_model_shapes_and_errors():
    x = np.zeros((2, 1, 28, 28), np.float32)
    assert make_model("cnn", (4, 8), 0).forward(x).shape == (2, 10)
    assert make_model("mlp", 32, 0).forward(x).shape == (2, 10)
    with pytest.raises(TypeError, match="width must be an integer"):
        make_model("mlp", 32.0, 0)
    with pytest.raises(ValueError, match="model must be one of"):
        make_model("logreg", 1, 0)


def test_load_selection_missing_files_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/mnist_selection.py"):
        load_selection(tmp_path)


def test_load_selection_reads_what_write_csv_wrote(tmp_path):
    rows = [row(seed=s, acc=a) for s, a in ((0, 0.9), (1, 0.8))]
    header = provenance("python scripts/mnist_selection.py", 1, 3.0)
    write_csv(tmp_path / "mnist_selection.csv", rows, COLUMNS, header)
    write_csv(tmp_path / "mnist_final.csv", [{"model": "cnn", "test_accuracy": 0.5}],
              ["model", "test_accuracy"], header)  # fmt: skip
    sel = load_selection(tmp_path)
    assert sel.header[0] == "command: python scripts/mnist_selection.py"
    assert sel.rows[1]["seed"] == 1 and sel.rows[1]["val_accuracy"] == 0.8
    assert sel.curve("cnn", 0.002, (8, 16), 1) == [0.8]
    assert sel.chosen("cnn")["val_mean"] == pytest.approx(0.85)
    assert sel.final == [{"model": "cnn", "test_accuracy": 0.5}]


def test_the_shipped_selection_covers_the_grid_and_the_recipe_is_its_choice():
    sel = load_selection()
    assert any(line.startswith("library: dlcv at commit ") for line in sel.header)
    for model, axes in GRIDS.items():
        seeds = [""] if model == "logreg" else list(SEEDS)
        n_settings = int(np.prod([len(v) for v in axes.values()]))
        per_run = 1 if model == "logreg" else MAX_EPOCHS
        got = [r for r in sel.rows if r["model"] == model]
        assert len(got) == n_settings * len(seeds) * per_run, model
    cnn = sel.chosen("cnn")
    recipe = {k: LENET_MNIST_RECIPE[k] for k in ("lr", "epochs", "channels", "lr_decay")}
    assert recipe == {"lr": cnn["lr"], "epochs": cnn["epochs"], "channels": cnn["width"],
                      "lr_decay": 0.7}  # fmt: skip
    finals = {r["model"] for r in sel.final}
    assert finals == set(GRIDS)
