"""The municipality's word lists: one list of challenges for contacts, tallies and the
monitoring; an administrator's change refused when it would make a word mean two names,
touch the catalogue's fixed lists or take the reports' bucket; the file replaced whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from client.commands.anonymous import counts
from core import vocabularies
from core.errors import InvalidInput, UnknownReference
from core.monitoring import challenge, challenge_index
from core.vocabularies import CATEGORIES, CHALLENGES, CONTACT_KINDS, DEFAULT, with_name, without_name

GAMBLING = with_name(DEFAULT, CHALLENGES, "gambling", "ludomani", "gambling")


def test_a_challenge_category_added_is_typed_by_its_danish_label_and_counted_under_its_name() -> None:
    assert counts(["Ludomani=3", "økonomi=2"], GAMBLING) == {"gambling": 3, "finances": 2}
    assert challenge("Ludomani ", challenge_index(GAMBLING)) == "gambling"
    assert challenge("gambling", challenge_index(DEFAULT)) == "other"  # a name the list does not know
    with pytest.raises(InvalidInput, match="not a challenge category"):
        counts(["ludomani=3"], DEFAULT)
    with pytest.raises(InvalidInput, match="counted twice"):
        counts(["ludomani=3", "gambling=1"], GAMBLING)


def test_a_change_that_would_make_one_word_mean_two_names_is_refused() -> None:
    for name, da, en in (
        ("gambling", "økonomi", "gambling"),  # finances' Danish label
        ("gambling", "ludomani", "Housing"),  # housing's name, another case
        ("Gambling", "ludomani", "gambling"),  # not a name: upper case
        ("other", "andet", "other"),  # the monitoring's bucket
        ("gambling", " ", "gambling"),
        ("gambling", "x" * 81, "gambling"),
    ):
        with pytest.raises(InvalidInput):
            with_name(DEFAULT, CHALLENGES, name, da, en)
    assert "gambling" not in DEFAULT.names(CHALLENGES)


def test_the_catalogues_lists_take_new_labels_but_no_new_names() -> None:
    relabelled = with_name(DEFAULT, CONTACT_KINDS, "drop-in", "værestedsbesøg", "drop-in visit")
    assert relabelled.name_of(CONTACT_KINDS, "drop-in visit") == "drop-in"
    with pytest.raises(InvalidInput):
        with_name(DEFAULT, CATEGORIES, "gossip", "sladder", "gossip")
    with pytest.raises(InvalidInput):
        without_name(DEFAULT, CATEGORIES, "health")
    with pytest.raises(UnknownReference):
        without_name(DEFAULT, CHALLENGES, "gambling")
    with pytest.raises(InvalidInput, match="a list is one of"):
        with_name(DEFAULT, "moods", "calm", "rolig", "calm")


def test_the_lists_are_written_whole_and_read_back_as_written(tmp_path: Path) -> None:
    vocabularies.write_default(tmp_path)
    vocabularies.save(tmp_path, without_name(GAMBLING, CHALLENGES, "dental"))
    read = vocabularies.load(tmp_path)
    assert "gambling" in read.names(CHALLENGES) and "dental" not in read.names(CHALLENGES)
    assert os.listdir(tmp_path) == [vocabularies.FILE]  # no half-written file left beside it
    assert json.loads((tmp_path / vocabularies.FILE).read_text(encoding="utf-8")) == read.as_json()
