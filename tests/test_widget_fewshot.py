"""The few-shot explorer of chapter 14 (dlcv.widgets.fewshot.FewShotExplorer)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv.future import TEST_CLASSES, embed, fewshot_pool, pool_predictions
from dlcv.widgets.fewshot import FewShotExplorer


@pytest.fixture(scope="module")
def pool():
    return fewshot_pool(n_candidates=6, n_queries=10)


@pytest.fixture()
def explorer(pool):
    return FewShotExplorer(pool, {m: embed(m, pool.x) for m in ("pixels", "HOG")})


def test_the_answers_are_the_librarys_for_the_chosen_support(explorer, pool):
    explorer.shots.value = 2
    explorer.starts[1].value, explorer.starts[4].value = 3, 4
    for space in ("pixels", "HOG"):
        explorer.space.value = space
        result = explorer.compute()
        support = [[0, 1], [3, 4], [0, 1], [0, 1], [4, 5]]
        distances, predicted = pool_predictions(explorer.spaces[space], pool, support)
        np.testing.assert_array_equal(result.predicted, predicted)
        np.testing.assert_allclose(result.distances, distances)
        assert result.support[1] == list(pool.candidates[1, [3, 4]])
    right = (predicted == pool.y[pool.queries]).sum()
    assert f"{right} of {len(pool.queries)}" in explorer.report.value


def test_the_support_sliders_follow_the_shots(explorer, pool):
    explorer.starts[0].value = 5
    explorer.shots.value = 4
    n = pool.candidates.shape[1]
    assert all(s.max == n - 4 for s in explorer.starts)
    assert explorer.starts[0].value == n - 4 and explorer.error is None
    explorer.shots.value = 1
    assert all(s.max == n - 1 for s in explorer.starts)


def test_the_report_and_alt_say_what_is_shown(explorer, pool):
    explorer.query.value = 7
    label = int(pool.y[pool.queries[7]])
    assert explorer.query_picture.alt == f"query 7: a handwritten {label}"
    before = explorer.support_picture.alt
    explorer.starts[2].value = 2
    assert explorer.support_picture.alt != before and "digit 7: candidates 2-2" in (
        explorer.support_picture.alt
    )
    assert "nearest" in explorer.distances.value
    assert all(f">{d}" in explorer.distances.value for d in TEST_CLASSES)


def test_bad_construction_is_named(pool):
    with pytest.raises(TypeError, match="FewShotPool"):
        FewShotExplorer((pool.x, pool.y), {"pixels": embed("pixels", pool.x)})
    with pytest.raises(TypeError, match="spaces"):
        FewShotExplorer(pool, {})
    with pytest.raises(ValueError, match="one row per pool digit"):
        FewShotExplorer(pool, {"pixels": np.zeros((3, 4))})
