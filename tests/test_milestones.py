"""Tests of dlcv.milestones (loading, selecting, label layout) and of chapter 01's data files."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcv.data import asset_path
from dlcv.milestones import (
    CATEGORIES,
    assign_levels,
    layout_timeline,
    load_milestones,
    milestone_label,
    select_milestones,
    year_span,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = asset_path("milestones.csv").parent
MILESTONES = DATA / "milestones.csv"


@pytest.fixture(scope="module")
def milestones():
    return load_milestones(MILESTONES)


# --- assign_levels -------------------------------------------------------------------


def _check_layout(x, w, levels, gap):
    """The two promises of assign_levels, checked pair by pair."""
    assert levels.shape == x.shape and np.all(levels != 0)
    for i in range(len(x)):
        for j in range(len(x)):
            if i == j or np.sign(levels[i]) != np.sign(levels[j]):
                continue
            if levels[i] == levels[j]:  # same level: the intervals (plus gap) are disjoint
                assert x[i] + w[i] + gap < x[j] or x[j] + w[j] + gap < x[i]
            if x[i] < x[j] <= x[i] + w[i] + gap:  # j's stem stands under i's label
                assert abs(levels[j]) < abs(levels[i])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1950, 2030), st.floats(0.0, 20.0, allow_nan=False)),
        min_size=0,
        max_size=30,
    ),
    st.floats(0.0, 2.0),
)
def test_assign_levels_no_overlap_and_no_stem_crossing(items, gap):
    x = np.array([a for a, _ in items], dtype=float)
    w = np.array([b for _, b in items], dtype=float)
    _check_layout(x, w, assign_levels(x, w, gap), gap)


def test_assign_levels_spreads_isolated_labels_on_level_one():
    levels = assign_levels([0, 10, 20, 30], [1, 1, 1, 1])
    assert set(np.abs(levels)) == {1}
    assert set(np.sign(levels)) == {-1, 1}  # ties alternate sides


def test_assign_levels_stacks_labels_of_one_year():
    levels = assign_levels([5, 5, 5, 5], [2, 2, 2, 2])
    assert sorted(np.abs(levels)) == [1, 1, 2, 2]


@pytest.mark.parametrize(
    ("x", "w", "gap", "match"),
    [
        ([0, 1], [1], 0, r"1-D of one length, got shapes \(2,\) and \(1,\)"),
        ([[0, 1]], [[1, 1]], 0, "1-D"),
        ([0, 1], [1, -1], 0, "widths must be finite and >= 0"),
        ([0, np.nan], [1, 1], 0, "x finite"),
        ([0, 1], [1, 1], -1, "gap must be >= 0"),
    ],
)
def test_assign_levels_rejects_bad_input(x, w, gap, match):
    with pytest.raises(ValueError, match=match):
        assign_levels(x, w, gap)


# --- loading and selecting -----------------------------------------------------------


def test_load_milestones_reads_sorted_rows(milestones):
    assert len(milestones) >= 12
    years = [m["year"] for m in milestones]
    assert years == sorted(years) and all(isinstance(y, int) for y in years)
    assert {m["category"] for m in milestones} == set(CATEGORIES)


def _write(tmp_path, text):
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_milestones_rejects_missing_column(tmp_path):
    path = _write(tmp_path, "year,label,category,what\n2012,AlexNet,deep,x\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['source'\]"):
        load_milestones(path)


def test_load_milestones_rejects_bad_year_and_category(tmp_path):
    path = _write(tmp_path, "year,label,category,what,source\ntwenty,A,deep,x,k\n")
    with pytest.raises(ValueError, match="line 2: year 'twenty' is not an integer"):
        load_milestones(path)
    path = _write(tmp_path, "year,label,category,what,source\n2012,A,magic,x,k\n")
    with pytest.raises(ValueError, match="line 2: category 'magic' is not one of"):
        load_milestones(path)


def test_select_milestones_filters_by_category_and_years(milestones):
    deep = select_milestones(milestones, ["deep"], (2012, 2016))
    assert deep and all(m["category"] == "deep" and 2012 <= m["year"] <= 2016 for m in deep)
    expected = sum(m["category"] == "deep" and 2012 <= m["year"] <= 2016 for m in milestones)
    assert len(deep) == expected
    assert select_milestones(milestones) == list(milestones)
    with pytest.raises(ValueError, match=r"unknown \['magic'\]"):
        select_milestones(milestones, ["magic"])
    with pytest.raises(ValueError, match="first year 2020 is after the last year 2000"):
        select_milestones(milestones, years=(2020, 2000))


def test_layout_timeline_extends_the_range_for_the_last_label(milestones):
    levels, (x0, x1) = layout_timeline(milestones, 10.0, (1950, 2023))
    assert x0 == 1950 and x1 > 2023 and len(levels) == len(milestones)
    with pytest.raises(ValueError, match="axes_width_in must be > 0"):
        layout_timeline(milestones, 0.0, (1950, 2023))
    with pytest.raises(ValueError, match="too narrow"):
        layout_timeline(milestones, 0.2, (1950, 2023))


def test_year_span_and_labels(milestones):
    assert year_span(milestones) == (milestones[0]["year"] - 3, milestones[-1]["year"] + 1)
    assert year_span([]) == (1950, 2030)
    assert milestone_label({"year": 2012, "label": "AlexNet"}) == "2012 AlexNet"


# --- chapter 01's data files ---------------------------------------------------------


def _bib_keys():
    return set(
        re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"))
    )


@pytest.mark.parametrize("name", ["milestones.csv", "ilsvrc_top5.csv", "human_top5.csv"])
def test_every_row_of_the_chapter_data_cites_a_bibtex_entry(name):
    with open(DATA / name, newline="", encoding="utf-8") as f:
        sources = [row["source"] for row in csv.DictReader(f)]
    assert sources and set(sources) <= _bib_keys()


def test_ilsvrc_winners_improve_every_year():
    with open(DATA / "ilsvrc_top5.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["outside_data"] == "no"]
    years = [int(r["year"]) for r in rows]
    errors = [float(r["top5_error_pct"]) for r in rows]
    assert years == list(range(2010, 2018))
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False))
