"""dlcv.privacy: the loss-threshold membership attack against scikit-learn's ROC AUC and a
brute-force threshold search, the disjoint splits, the losses, and the readers of chapter
10's anonymisation and detection tables (damaged files refused)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dlcv import privacy as pr
from dlcv.challenges import mnist_parts
from dlcv.data import asset_path
from dlcv.models import load_lenet_mnist
from dlcv.train import predict_proba


def _random_losses(rng):
    m = rng.exponential(rng.uniform(0.1, 1), int(rng.integers(1, 60)))
    n = rng.exponential(rng.uniform(0.1, 1), int(rng.integers(1, 60)))
    if rng.random() < 0.5:  # ties, within and across the two sets
        m, n = m.round(1), n.round(1)
    return m, n


def test_the_auc_is_scikit_learns_on_many_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m, n = _random_losses(rng)
        labels = np.r_[np.ones(len(m)), np.zeros(len(n))]
        expected = roc_auc_score(labels, -np.r_[m, n])
        assert pr.membership_auc(m, n) == pytest.approx(expected, abs=1e-12)
    assert pr.membership_auc([0.0, 0.1], [1.0, 2.0]) == 1.0
    assert pr.membership_auc([1.0], [1.0]) == 0.5


def test_attack_at_counts_members_and_non_members_under_the_threshold():
    rng = np.random.default_rng(1)
    for _ in range(100):
        m, n = _random_losses(rng)
        t = float(rng.choice(np.r_[m, n]))
        at = pr.attack_at(m, n, t)
        tpr = sum(v <= t for v in m) / len(m)
        fpr = sum(v <= t for v in n) / len(n)
        assert at == pytest.approx({"tpr": tpr, "fpr": fpr, "advantage": tpr - fpr})


def test_the_chosen_threshold_has_the_largest_advantage_of_any():
    rng = np.random.default_rng(2)
    for _ in range(100):
        m, n = _random_losses(rng)
        t = pr.choose_threshold(m, n)
        best = max(pr.attack_at(m, n, c)["advantage"] for c in np.r_[m, n, -np.inf])
        assert pr.attack_at(m, n, t)["advantage"] == pytest.approx(max(best, 0.0))
    assert pr.attack_at([0.1, 0.2], [0.5, 0.9], pr.choose_threshold([0.1, 0.2], [0.5, 0.9])) == {
        "tpr": 1.0,
        "fpr": 0.0,
        "advantage": 1.0,
    }
    # members no easier to fit than others: no threshold helps, no one is accused
    assert pr.choose_threshold([0.5, 0.9], [0.1, 0.2]) == -np.inf


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pr.membership_auc([], [1.0]), "member_losses must be a non-empty 1-d"),
        (lambda: pr.attack_at([1.0], [[1.0]], 0.5), "nonmember_losses must be a non-empty 1-d"),
        (lambda: pr.choose_threshold([np.nan], [1.0]), "member_losses must not hold NaN"),
        (lambda: pr.attack_at([1.0], [1.0], float("nan")), "threshold must be a number"),
        (lambda: pr.membership_split(88, 0), "per_class must be at most 87"),
        (lambda: pr.membership_split(0, 0), "per_class"),
    ],
)
def test_bad_input_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_four_sets_are_disjoint_and_balanced():
    y = mnist_parts().y_train
    sets = pr.membership_split(30, 0)
    union = np.concatenate(list(sets.values()))
    assert len(np.unique(union)) == len(union) == 4 * 300
    for idx in sets.values():
        assert np.bincount(y[idx], minlength=10).tolist() == [30] * 10
    again = pr.membership_split(30, 0)
    assert all(np.array_equal(sets[k], again[k]) for k in sets)
    assert not np.array_equal(pr.membership_split(30, 1)["target_in"], sets["target_in"])


def test_the_loss_is_minus_the_log_probability_of_the_label():
    parts, model = mnist_parts(), load_lenet_mnist()
    x, y = parts.x_val[:40], parts.y_val[:40]
    p = predict_proba(model, x)
    np.testing.assert_allclose(pr.per_example_loss(model, x, y), -np.log(p[np.arange(40), y]))
    with pytest.raises(ValueError, match=r"y must have shape \(40,\)"):
        pr.per_example_loss(model, x, y[:39])


def test_a_tiny_membership_run_has_every_column():
    row = pr.membership_run(2, seed=0, steps=2)
    assert list(row) == pr.MEMBERSHIP_COLUMNS
    assert row["n_members"] == row["n_nonmembers"] == 20 and 0 <= row["auc"] <= 1
    assert row["advantage"] == pytest.approx(row["tpr"] - row["fpr"])


# --------------------------------------------------------------------- anonymisation
def test_chapter_10s_tables_are_read_and_summarised():
    rows = pr.load_anonymisation()
    summary = pr.anonymisation_summary(rows)
    blur = {r["measure"]: r for r in summary if r["method"] == "blur"}
    strongest = max((r for r in rows if r["method"] == "blur"), key=lambda r: r["strength"])
    assert blur["re-identified"]["share_at_strongest"] == strongest["re-identified"] / 100
    weakest = blur["re-identified"]["weakest_strength"]
    below = [r["strength"] for r in rows if r["method"] == "blur" and r["re-identified"] <= 5]
    assert weakest == min(below)
    handmade = [
        {"method": "none", "strength": 0, "faces": 10, "found X": 10, "re-identified": 10},
        {"method": "blur", "strength": 2, "faces": 10, "found X": 4, "re-identified": 0},
        {"method": "blur", "strength": 1, "faces": 10, "found X": 9, "re-identified": 3},
    ]
    assert pr.anonymisation_summary(handmade) == [
        {"method": "blur", "measure": "found X", "weakest_strength": "", "share_at_strongest": 0.4},
        {"method": "blur", "measure": "re-identified", "weakest_strength": 2,
         "share_at_strongest": 0.0},
    ]  # fmt: skip
    unprotected = pr.unprotected_faces()
    assert all(r["unprotected"] + 0 <= r["faces"] for r in unprotected)
    upright = {r["detector"]: r["unprotected"] for r in unprotected if r["condition"] == "upright"}
    assert upright["BlazeFace"] == 0 and upright["Haar cascade"] == 5  # 100 - found in the file


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda t: t.replace("re-identified", "reid"), "expected the columns"),
        (lambda t: t.replace("\nblur,8,100,8,", "\nblur,8,100,-3,", 1), "row 5: found Haar"),
        (lambda t: t.replace("\nblur,8,100,8,", "\nblur,8,100,800,", 1), "row 5: found Haar"),
        (lambda t: t.replace("\nblur,", "\n,", 1), "row 2: method = ''"),
    ],
)
def test_a_damaged_anonymisation_table_is_refused(tmp_path, damage, match):
    path = tmp_path / pr.ANONYMISATION_FILE
    path.write_text(damage(asset_path(pr.ANONYMISATION_FILE).read_text()))
    with pytest.raises(ValueError, match=match):
        pr.load_anonymisation(tmp_path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="scripts/face_experiment.py"):
        pr.load_anonymisation(tmp_path)
    (tmp_path / "face_detection.csv").write_text("detector,condition,faces,found\nHaar,up,10,11\n")
    with pytest.raises(ValueError, match="face_detection.csv is damaged at row 1"):
        pr.unprotected_faces(tmp_path)
