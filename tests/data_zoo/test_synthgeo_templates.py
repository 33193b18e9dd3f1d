"""synthgeo's `templates` option: a stream restricted to chosen problem types, still deterministic."""

from __future__ import annotations

import pytest

from data_zoo.example import DataError
from data_zoo.registry import load_dataset
from data_zoo.synthgeo import generate, template_names


def test_templates_filter_the_stream_deterministically():
    assert "largest" in template_names() and "sides" in template_names()
    a = load_dataset("synthgeo:train?n=40&seed=3&templates=largest,sides")
    b = generate(40, 3, "train", templates=["sides", "largest"])
    assert {ex.metadata["template"] for ex in a} == {"largest", "sides"}
    assert [(ex.id, ex.question, ex.answer) for ex in a] == [(ex.id, ex.question, ex.answer) for ex in b]
    assert all(ex.answer_kind == "choice" and ex.choices and ex.gold_letter for ex in a
               if ex.metadata["template"] == "largest")


def test_unknown_or_impossible_templates_are_named():
    with pytest.raises(DataError, match=r"unknown synthgeo template\(s\) \['circles'\]"):
        load_dataset("synthgeo:train?n=4&templates=circles")
    with pytest.raises(DataError, match=r"templates \['largest'\] do not occur at difficulty"):
        load_dataset("synthgeo:train?n=4&templates=largest&difficulty=1")


def test_level_zero_is_opt_in_perception():
    default = generate(60, 0, "train")
    assert {ex.metadata["difficulty"] for ex in default} == {1, 2, 3}
    zero = load_dataset("synthgeo:test?n=30&seed=0&difficulty=0")
    assert {ex.metadata["template"] for ex in zero} == {"colour", "shape"}
    for ex in zero:
        assert ex.answer_kind == "choice" and ex.choices[ord(ex.gold_letter) - 65] == ex.answer
        assert ex.answer not in ex.question  # only the picture tells
