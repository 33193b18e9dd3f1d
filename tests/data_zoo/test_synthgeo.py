from collections import defaultdict

import pytest

from data_zoo.example import DataError
from data_zoo.registry import load_dataset
from data_zoo.synthgeo import generate


def test_deterministic_by_seed_and_sized():
    a, b = generate(12, seed=3), generate(12, seed=3)
    assert [(e.id, e.question, e.answer, e.images[0].data) for e in a] == \
           [(e.id, e.question, e.answer, e.images[0].data) for e in b]
    assert [e.images[0].data for e in generate(12, seed=4)] != [e.images[0].data for e in a]
    img = a[0].load_images()[0]
    assert img.size == (112, 112) and img.mode == "RGB"
    assert generate(2, seed=3, size=160)[0].load_images()[0].size == (160, 160)
    assert a[5].id == "3-5" and a[5].source == "synthgeo" and a[5].split == "train"


def test_train_and_test_share_no_problem_even_with_the_same_seed():
    train = generate(400, seed=0, split="train")
    test = generate(200, seed=0, split="test")
    keys = lambda xs: {(e.question, e.images[0].data) for e in xs}  # noqa: E731
    assert not keys(train) & keys(test)
    assert [e.images[0].data for e in generate(5, 0, "validation")] != [e.images[0].data for e in test[:5]]


def test_answers_follow_the_drawn_values_and_text_alone_does_not_determine_them():
    items = generate(600, seed=1)
    answers_by_question = defaultdict(set)
    for e in items:
        v, t = e.metadata["values"], e.metadata["template"]
        assert e.metadata["difficulty"] in (1, 2, 3)
        answers_by_question[e.question].add(e.answer)
        if t == "square_perimeter":
            assert e.answer == str(4 * v["side"]) and e.answer_kind == "integer"
        elif t == "triangle_angle":
            assert e.answer == str(180 - sum(v["angles"]))
        elif t == "rect_area":
            assert e.answer == str(v["width"] * v["height"])
        elif t == "diameter":
            assert e.answer == str(2 * v["radius"])
        elif t == "largest":
            assert e.answer_kind == "choice" and e.choices[ord(e.gold_letter) - 65] == e.answer == v["colour"]
        elif t == "fraction":
            assert e.answer_kind == "expression" and "/" in e.answer
    # every question wording is shared by items with different answers: the picture decides
    assert all(len(a) >= 3 for a in answers_by_question.values()), answers_by_question
    assert len(answers_by_question) == 11  # 12 templates; the three angle templates share one wording


def test_difficulty_filter_and_spec():
    assert {e.metadata["difficulty"] for e in generate(30, 0, difficulty=1)} == {1}
    ds = load_dataset("synthgeo:test?n=7&seed=1&difficulty=2,3")
    assert len(ds) == 7 and ds.name == "synthgeo:test?n=7&seed=1&difficulty=2,3"
    assert {e.metadata["difficulty"] for e in ds} <= {2, 3} and {e.split for e in ds} == {"test"}
    assert [e.answer for e in ds] == [e.answer for e in generate(7, 1, "test", [2, 3])]
    with pytest.raises(DataError, match="difficulty"):
        generate(3, 0, difficulty=9)
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_dataset("synthgeo:dev?n=3")
    with pytest.raises(DataError, match="other than n, seed"):
        load_dataset("synthgeo:train?n=3&colour=red")
