"""dlcv.future: chapter 14's runs (few-shot episodes of unseen digits, self-supervised
pretraining with linear probes), their determinism and checks, and the loader of the
script's files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dlcv import future as fu
from dlcv.challenges import mnist_parts
from dlcv.fewshot import mean_confidence_interval

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "future_experiment.py"
QUICK = {"lrs": (1e-3,), "episode_choices": (2,), "steps": 2, "n_episodes": 5}


def _without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """The script's ``--quick`` run, written to a temporary folder (in this process)."""
    spec = importlib.util.spec_from_file_location("future_experiment", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path_factory.mktemp("ch14")
    assert script.main(["--quick", "--jobs", "1", "--out", str(out)]) == 0
    return out


def test_episodes_hold_only_unseen_digits_and_disjoint_support_and_query():
    parts = mnist_parts()
    for k in fu.SHOTS:
        x, y, episodes = fu.fewshot_episodes(k, 50)
        assert set(np.unique(y)) == set(fu.TEST_CLASSES) and len(x) == len(y) == 500
        train_images = {
            im.tobytes() for im in parts.x_train[np.isin(parts.y_train, fu.TRAIN_CLASSES)]
        }
        assert not train_images & {im.tobytes() for im in x}  # no image of the training digits
        for ep in episodes:
            assert len(ep.support) == 5 * k and len(ep.query) == 5 * fu.N_QUERY
            assert not set(ep.support) & set(ep.query)
            assert set(y[ep.support]) | set(y[ep.query]) <= set(fu.TEST_CLASSES)
            # an episode label means one digit, in support and queries alike
            assert (ep.classes[ep.support_labels] == y[ep.support]).all()
            assert (ep.classes[ep.query_labels] == y[ep.query]).all()
    _, yv, val = fu.fewshot_episodes(5, 10, part="val", classes=fu.TRAIN_CLASSES)
    assert set(np.unique(yv)) == set(fu.TRAIN_CLASSES)
    assert all(set(yv[ep.query]) <= set(fu.TRAIN_CLASSES) for ep in val)
    # the same seed gives the same episodes, and a shorter run is the start of a longer one
    first = fu.fewshot_episodes(1, 3)[2]
    longer = fu.fewshot_episodes(1, 6)[2]
    for a, b in zip(first, longer[:3], strict=True):
        np.testing.assert_array_equal(a.query, b.query)


def test_the_learners_train_on_digits_zero_to_four_only(monkeypatch):
    seen = []
    real = fu._subset

    def spy(part, classes):
        seen.append((part, tuple(classes)))
        return real(part, classes)

    monkeypatch.setattr(fu, "_subset", spy)
    fu.train_protonet(0, lrs=(1e-3,), episode_choices=(1,))
    fu.train_classifier(0, lrs=(1e-3,), steps=1)
    assert ("train", fu.TRAIN_CLASSES) in seen and ("val", fu.TRAIN_CLASSES) in seen
    assert all(classes == fu.TRAIN_CLASSES for part, classes in seen if part != "test")
    assert not any(part == "test" for part, _ in seen)


def test_pixel_baseline_is_a_direct_nearest_prototype_computation():
    x, y, episodes = fu.fewshot_episodes(5, 1)
    ep = episodes[0]
    pixels = x.reshape(len(x), -1).astype(np.float64)
    protos = np.stack([pixels[ep.support][ep.support_labels == c].mean(0) for c in range(5)])
    nearest = np.argmin(((pixels[ep.query][:, None] - protos[None]) ** 2).sum(2), axis=1)
    direct = float(np.mean(nearest == ep.query_labels))
    assert fu.episode_accuracies(fu.embed("pixels", x), episodes)[0] == direct
    assert fu.fewshot_cell("pixels", 5, 1) == (direct, 0.0)
    row = fu.fewshot_run("pixels", shots=(5,), n_episodes=1)[0]
    assert row["accuracy"] == direct and row["ci95"] == 0.0


@pytest.mark.parametrize("method", fu.FEWSHOT_METHODS)
def test_fewshot_run_gives_its_columns_and_the_same_numbers_for_the_same_seed(method):
    rows = fu.fewshot_run(method, 0, **QUICK)
    assert [r["shots"] for r in rows] == list(fu.SHOTS)
    assert all(list(r) == fu.FEWSHOT_COLUMNS for r in rows)
    assert all(0 <= r["accuracy"] <= 1 and r["ci95"] >= 0 and r["episodes"] == 5 for r in rows)
    learnt = method in ("classifier", "prototypical")
    assert (rows[0]["lr"] == "") != learnt
    assert _without_seconds(fu.fewshot_run(method, 0, **QUICK)) == _without_seconds(rows)
    if learnt:
        assert _without_seconds(fu.fewshot_run(method, 1, **QUICK)) != _without_seconds(rows)
    if not learnt:
        x, _, episodes = fu.fewshot_episodes(1, 5)
        accuracies = fu.episode_accuracies(fu.embed(method, x), episodes)
        assert (rows[0]["accuracy"], rows[0]["ci95"]) == mean_confidence_interval(accuracies)


def test_the_protonet_is_chosen_on_validation_and_saved_with_its_record(tmp_path):
    model, lr, episodes, val = fu.train_protonet(0, lrs=(1e-4, 1e-3), episode_choices=(1, 3))
    assert lr in (1e-4, 1e-3) and episodes in (1, 3) and 0 < val <= 1
    assert fu._val_accuracy("prototypical", model) == val
    path = tmp_path / "net.npz"
    rows = fu.fewshot_run("prototypical", 0, lrs=(1e-4, 1e-3), episode_choices=(1, 3),
                          n_episodes=5, save_to=path)  # fmt: skip
    from dlcv.models import load

    saved = load(path)
    assert saved.metadata["settings"]["train_steps"] == episodes == rows[0]["train_steps"]
    assert fu.fewshot_cell("prototypical", 1, 5, model=saved) == (rows[0]["accuracy"],
                                                                  rows[0]["ci95"])  # fmt: skip


@pytest.mark.parametrize("pretraining", ["random", "SimCLR"])
def test_selfsupervised_run_gives_its_columns_and_is_seeded(pretraining):
    rows = fu.selfsupervised_run(pretraining, 0, budgets=(1, 2), steps=2)
    assert [r["per_class"] for r in rows] == [1, 2] and [r["n_train"] for r in rows] == [10, 20]
    assert all(list(r) == fu.SELFSUPERVISED_COLUMNS for r in rows)
    assert rows[0]["pretrain_steps"] == (2 if pretraining == "SimCLR" else 0)
    again = fu.selfsupervised_run(pretraining, 0, budgets=(1, 2), steps=2)
    assert _without_seconds(again) == _without_seconds(rows)
    other = fu.selfsupervised_run(pretraining, 1, budgets=(1,), steps=2)[0]
    assert _without_seconds([other]) != _without_seconds(rows[:1])


def test_simclr_views_differ_and_the_loss_starts_near_chance():
    augment = fu.simclr_augmentation()
    x = mnist_parts().x_train[:8]
    a, b = augment(x, np.random.default_rng(0)), augment(x, np.random.default_rng(1))
    assert a.shape == x.shape and not np.array_equal(a, b) and a.min() >= 0 and a.max() <= 1
    _, loss = fu.simclr_pretrain(0, steps=1, batch_size=16)
    assert abs(loss - np.log(31)) < 1.0


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: fu.fewshot_run("svm"), ValueError, "method"),
        (lambda: fu.fewshot_run("pixels", -1), ValueError, "seed"),
        (lambda: fu.fewshot_run("pixels", 0.5), TypeError, "seed"),
        (lambda: fu.fewshot_run("pixels", n_episodes=0), ValueError, "n_episodes"),
        (lambda: fu.fewshot_run("pixels", shots=(0,)), ValueError, "shots"),
        (lambda: fu.fewshot_run("prototypical", lrs=()), ValueError, "lrs"),
        (lambda: fu.train_protonet(0, episode_choices=(0,)), ValueError, "episode_choices"),
        (lambda: fu.fewshot_episodes(1, part="holdout"), ValueError, "part"),
        (lambda: fu.fewshot_episodes(1.0), TypeError, "k_shot"),
        (lambda: fu.fewshot_episodes(90), ValueError, "class"),
        (lambda: fu.embed("pixels", np.zeros((2, 28, 28))), ValueError, "x"),
        (lambda: fu.embed("prototypical", np.zeros((2, 1, 28, 28))), TypeError, "model"),
        (lambda: fu.episode_accuracies(np.zeros(5), []), ValueError, "embeddings"),
        (lambda: fu.selfsupervised_run("MAE"), ValueError, "pretraining"),
        (lambda: fu.selfsupervised_run("random", budgets=(0,)), ValueError, "budgets"),
        (lambda: fu.simclr_pretrain(0, batch_size=1), ValueError, "batch_size"),
        (lambda: fu.simclr_pretrain(0, steps=0), ValueError, "steps"),
        (lambda: fu.run_cell("speed"), ValueError, "table"),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_the_loader_reads_what_the_script_writes(quick_results):
    results = fu.load_future_results(quick_results)
    assert set(results.tables) == set(fu.FILES)
    assert results.header[0] == (
        f"command: python scripts/future_experiment.py --quick --jobs 1 --out {quick_results}"
    )
    for table, (_, columns) in fu.FILES.items():
        assert results.tables[table] and all(list(r) == columns for r in results.tables[table])
    pixels = results.rows("fewshot", method="pixels", shots=5)[0]
    assert (pixels["accuracy"], pixels["ci95"]) == fu.fewshot_cell("pixels", 5, 20)
    mean, std, n = results.summary("selfsupervised", "test_accuracy", pretraining="random")
    assert n == 1 and std == 0.0 and 0 < mean < 1
    assert (quick_results / fu.PROTONET_FILE).is_file()
    with pytest.raises(ValueError, match="column"):
        results.rows("fewshot", colour=1)
    with pytest.raises(ValueError, match="table"):
        results.rows("speed")


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda text: text.replace(",ci95,", ",interval,"), "expected the columns"),
        (lambda text: text.replace(",15,", ",fifteen,", 1), "row 1: queries = 'fifteen'"),
        (lambda text: text.replace("\npixels,", "\n,", 1), "row 1: method = ''"),
        (lambda text: "\n".join(text.splitlines()[:7]), "expected the columns"),
    ],
)
def test_the_loader_refuses_a_damaged_file(quick_results, tmp_path, damage, match):
    for name, _ in fu.FILES.values():
        (tmp_path / name).write_text((quick_results / name).read_text())
    fewshot = tmp_path / fu.FILES["fewshot"][0]
    fewshot.write_text(damage(fewshot.read_text()))
    with pytest.raises(ValueError, match=match):
        fu.load_future_results(tmp_path)
    fewshot.unlink()
    with pytest.raises(FileNotFoundError, match="scripts/future_experiment.py"):
        fu.load_future_results(tmp_path)


def test_the_shipped_files_load_and_a_cell_re_runs_exactly():
    results = fu.load_future_results()
    assert {r["method"] for r in results.tables["fewshot"]} == set(fu.FEWSHOT_METHODS)
    assert {r["episodes"] for r in results.tables["fewshot"]} == {fu.N_EPISODES}
    pixels = results.rows("fewshot", method="pixels", shots=5)[0]
    assert fu.fewshot_cell("pixels", 5, fu.N_EPISODES) == (pixels["accuracy"], pixels["ci95"])
    net = fu.load_protonet()
    row = results.rows("fewshot", method="prototypical", shots=1, seed=0)[0]
    assert net.metadata["test"]["1-shot"] == [row["accuracy"], row["ci95"]]
    assert fu.fewshot_cell("prototypical", 1, fu.N_EPISODES, model=net) == (
        row["accuracy"],
        row["ci95"],
    )


# ------------------------------------------------------- the hand-built episodes of the widget
def test_the_pool_keeps_support_candidates_and_queries_apart():
    pool = fu.fewshot_pool(n_candidates=6, n_queries=10, seed=3)
    assert pool.candidates.shape == (5, 6) and pool.queries.shape == (50,)
    assert not set(pool.candidates.ravel()) & set(pool.queries)
    for k, digit in enumerate(fu.TEST_CLASSES):
        assert (pool.y[pool.candidates[k]] == digit).all()
    assert set(pool.y) == set(fu.TEST_CLASSES)
    again = fu.fewshot_pool(n_candidates=6, n_queries=10, seed=3)
    np.testing.assert_array_equal(pool.queries, again.queries)
    with pytest.raises(ValueError, match="fewer than n_candidates"):
        fu.fewshot_pool(n_candidates=150, n_queries=100)


def test_pool_predictions_are_the_nearest_mean_of_the_chosen_support():
    pool = fu.fewshot_pool(n_candidates=5, n_queries=8, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        e = rng.normal(size=(len(pool.x), 7))
        support = [sorted(rng.choice(5, rng.integers(1, 4), replace=False)) for _ in range(5)]
        distances, predicted = fu.pool_predictions(e, pool, support)
        protos = np.stack([e[pool.candidates[k, s]].mean(axis=0) for k, s in enumerate(support)])
        direct = ((e[pool.queries][:, None] - protos[None]) ** 2).sum(axis=2)
        np.testing.assert_allclose(distances, direct, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(predicted, np.array(fu.TEST_CLASSES)[direct.argmin(axis=1)])


@pytest.mark.parametrize(
    ("support", "match"),
    [([[0]] * 4, "5 lists"), ([[0], [], [0], [0], [0]], "digit 6"), ([[9]] * 5, "below 5")],
)
def test_pool_predictions_name_a_bad_support(support, match):
    pool = fu.fewshot_pool(n_candidates=5, n_queries=8, seed=1)
    with pytest.raises(ValueError, match=match):
        fu.pool_predictions(pool.x.reshape(len(pool.x), -1), pool, support)
    with pytest.raises(TypeError, match="FewShotPool"):
        fu.pool_predictions(pool.x.reshape(len(pool.x), -1), (pool.x, pool.y), [[0]] * 5)
    with pytest.raises(ValueError, match="one row per digit"):
        fu.pool_predictions(np.zeros((3, 2)), pool, [[0]] * 5)


# ---------------------------------------------------------------------------- the concept
def _ring(size=28, r_out=8, r_in=4):
    yy, xx = np.mgrid[:size, :size] - size // 2
    d = np.hypot(yy, xx)
    return ((d <= r_out) & (d >= r_in)).astype(float)


def test_loop_concept_finds_holes_and_only_holes():
    ring, bar = _ring(), np.zeros((28, 28))
    bar[4:24, 12:15] = 1.0
    open_ring = ring.copy()
    open_ring[:, 14:16] = 0.0  # cut through: no enclosed background
    tiny = _ring(r_out=3, r_in=1)  # encloses one background pixel
    x = np.stack([ring, bar, open_ring, tiny])[:, None]
    np.testing.assert_array_equal(fu.loop_concept(x), [True, False, False, False])
    np.testing.assert_array_equal(fu.loop_concept(x, min_area=1), [True, False, False, True])
    assert not fu.loop_concept(x, min_area=100)[0]
    parts = mnist_parts()
    share = [fu.loop_concept(parts.x_test[parts.y_test == c]).mean() for c in (0, 1, 7, 8)]
    assert share[0] > 0.7 and share[3] > 0.7 and share[1] < 0.05 and share[2] < 0.05
    with pytest.raises(ValueError, match="grey images"):
        fu.loop_concept(ring)


def test_unit_aucs_are_sklearns_and_name_bad_input():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for _ in range(10):
        concept = rng.random(40) < 0.4
        a = rng.normal(size=(40, 3)) + concept[:, None] * rng.normal(size=3)
        expected = [roc_auc_score(concept, a[:, j]) for j in range(3)]
        np.testing.assert_allclose(fu.unit_aucs(a, concept), expected)
    with pytest.raises(ValueError, match="both True and False"):
        fu.unit_aucs(np.zeros((4, 1)), np.ones(4, bool))
    with pytest.raises(ValueError, match="bool"):
        fu.unit_aucs(np.zeros((4, 1)), np.array([0, 1, 0, 1]))


def test_the_concept_test_chooses_on_training_digits_and_reads_the_test_once():
    from dlcv.models import load_lenet_mnist
    from dlcv.transfer import features

    model, parts = load_lenet_mnist(), mnist_parts()
    result = fu.concept_test(model)
    train_concept = fu.loop_concept(parts.x_train)
    aucs = fu.unit_aucs(features(model, parts.x_train, "dense"), train_concept)
    assert result.unit == int(np.argmax(np.abs(aucs - 0.5)))
    assert result.train_auc == pytest.approx(max(aucs[result.unit], 1 - aucs[result.unit]))
    share = [train_concept[parts.y_train == c].mean() for c in range(10)]
    assert result.within_class == int(np.argmin(np.abs(np.array(share) - 0.5)))
    assert all(0.5 <= v <= 1 for v in (result.train_auc, result.class_auc))
    with pytest.raises(TypeError, match="Sequential"):
        fu.concept_test("lenet")
