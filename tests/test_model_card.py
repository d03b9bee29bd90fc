"""dlcv.model_card: the card has Mitchell et al.'s sections, every number in it is a fact
looked up again in its source, no other number appears, a changed source changes the
card, and a damaged or incomplete source is refused with a clear message."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from dlcv import model_card as mc
from dlcv.challenges import FILES as CHALLENGE_FILES
from dlcv.challenges import load_challenges_results
from dlcv.data import asset_path
from dlcv.fairness import FILES as ETHICS_FILES
from dlcv.fairness import load_ethics_results
from dlcv.models import load_lenet_mnist

NUMBER = re.compile(r"-?\d[\d,.]*\d|-?\d")
# Numbers that are words of the text, not measurements: chapter numbers, a citation's
# year, the kernel and image sizes of the architecture and data, the intervals' level
# (dlcv.fairness.disaggregate's default) and the calibration bins (chapter 13's setting).
ALLOWED = [r"chapter \d+", r"Gebru, 2018", r"\b[258]x[258]\b", r"95 % (percentile|interval)",
           r"\(15 bins\)", r"AUC of 0\.5 and an advantage of 0 are"]  # fmt: skip


@pytest.fixture(scope="module")
def sources():
    return load_lenet_mnist().metadata, load_ethics_results(), load_challenges_results()


@pytest.fixture(scope="module")
def card(sources):
    return mc.model_card(*sources)


def _source_value(fact, record, ethics, challenges) -> float:
    if fact.file == mc.RECORD_FILE:
        value = record
        for key in fact.rows:
            value = value[key]
        return float(value)
    tables = {name: ethics.tables[t] for t, (name, _) in ETHICS_FILES.items()}
    tables.update({name: challenges.tables[t] for t, (name, _) in CHALLENGE_FILES.items()})
    rows = [tables[fact.file][i] for i in fact.rows]
    if fact.how == "count":
        return float(len(rows))
    values = [r[fact.column] for r in rows]
    return float(np.mean(values)) if fact.how == "mean" else float(values[0])


def test_the_card_has_mitchell_et_als_sections_in_order(card):
    headings = re.findall(r"^## (.+)$", card.markdown, flags=re.M)
    assert headings == list(mc.SECTIONS)
    assert card._repr_markdown_() == card.markdown


def test_every_number_is_a_fact_found_again_in_its_source(card, sources):
    assert len(card.facts) > 50
    for fact in card.facts:
        value = _source_value(fact, *sources)
        assert fact.value == pytest.approx(value, rel=1e-12, abs=1e-12), fact
        decimals = len(fact.text.split(".")[1]) if "." in fact.text else 0
        printed = float(fact.text.replace(",", ""))
        assert printed == pytest.approx(value * fact.scale, abs=0.5 * 10**-decimals + 1e-9), fact


def test_no_number_appears_that_is_not_a_fact(card, sources):
    record, ethics, _ = sources
    text = card.markdown.replace(ethics.commit, "")
    for field in ("what", "made_by", "data"):
        text = text.replace(record[field], "")
    for version in record["versions"].values():
        text = text.replace(str(version), "")
    for pattern in ALLOWED:
        text = re.sub(pattern, "", text)
    assert NUMBER.findall(text) == [f.text for f in card.facts]


def test_a_changed_source_changes_the_card(sources):
    record, ethics, challenges = sources
    changed = copy.deepcopy(ethics)
    first = changed.tables["subgroups"].index(changed.rows("subgroups", part="test")[0])
    changed.tables["subgroups"][first]["accuracy"] = 0.5
    text = mc.model_card(record, changed, challenges).markdown
    assert "| thickness | thin |" in text and "| 50.0 % |" in text
    other = {**record, "test_accuracy": 0.123}
    assert "**12.3 %**" in mc.model_card(other, ethics, challenges).markdown


def test_a_record_without_what_the_card_needs_is_refused(sources):
    record, ethics, challenges = sources
    with pytest.raises(ValueError, match=r"lacks \['test_accuracy'\].*train_lenet_mnist"):
        mc.model_card({k: v for k, v in record.items() if k != "test_accuracy"}, ethics,
                      challenges)  # fmt: skip
    with pytest.raises(ValueError, match="n_params = 'many' is not a number"):
        mc.model_card({**record, "n_params": "many"}, ethics, challenges)
    with pytest.raises(TypeError, match="record must be the network's metadata dict"):
        mc.model_card([1], ethics, challenges)
    incomplete = copy.deepcopy(ethics)
    incomplete.tables["membership"] = incomplete.rows("membership", model="small LeNet")
    with pytest.raises(ValueError, match="no row matches.*shipped LeNet"):
        mc.model_card(record, incomplete, challenges)


def test_a_damaged_results_file_is_refused_by_name(tmp_path):
    names = [n for n, _ in ETHICS_FILES.values()] + [n for n, _ in CHALLENGE_FILES.values()]
    for name in names:
        (tmp_path / name).write_text(asset_path(name).read_text())
    assert mc.model_card(folder=tmp_path).markdown == mc.model_card().markdown
    shift = tmp_path / "challenges_shift.csv"
    shift.write_text(shift.read_text().replace("\nMNIST test,none,0,0,1000,", "\nMNIST test,"
                                               "none,0,0,many,", 1))  # fmt: skip
    with pytest.raises(ValueError, match="challenges_shift.csv is damaged"):
        mc.model_card(folder=tmp_path)
    (tmp_path / ETHICS_FILES["subgroups"][0]).unlink()
    with pytest.raises(FileNotFoundError, match="scripts/ethics_experiment.py"):
        mc.model_card(folder=tmp_path)


def test_the_card_can_sit_inside_a_section(card):
    inside = card.section(3)
    headings = [line.split(" ", 1) for line in inside.splitlines() if line.startswith("#")]
    assert headings[0][0] == "###" and headings[0][1] == card.markdown.splitlines()[0][2:]
    assert {h[0] for h in headings[1:]} == {"####"}
    body = [line for line in inside.splitlines() if not line.startswith("#")]
    assert body == [line for line in card.markdown.splitlines() if not line.startswith("#")]
    assert card.section(1) == card.markdown
    for bad in (0, 6, 2.0, True, "3"):
        with pytest.raises(ValueError, match="level must be an int from 1 to 5"):
            card.section(bad)
