"""Benchmark rules on crafted responses whose outcome under the upstream scripts is worked out by hand."""

import pytest

from data_zoo.example import Example
from evals import benchmarks
from evals.benchmarks import mathvision, mathvista, wemath


def vista(answer, kind, *, choices=None, letter=None, precision=None, qtype=None, atype=None, **meta):
    qtype = qtype or ("multi_choice" if kind == "choice" else "free_form")
    atype = atype or ("text" if kind == "choice" else kind)
    return Example(
        id="7", source="mathvista", split="testmini", question="<image>q", answer=answer, answer_kind=kind,
        choices=choices, gold_letter=letter, precision=precision,
        metadata={"question_type": qtype, "answer_type": atype, **meta},
    )


MC = vista("5", "choice", choices=["3", "4", "5", "6"], letter="C", skills=["arithmetic reasoning", "logical reasoning"],
           task="math word problem", source="GeoQA+", language="english")


@pytest.mark.parametrize(
    "response,official,strict,path",
    [
        ("5", True, True, "mathvista:fast_choice:choice_text"),
        ('The answer is "(C)".', True, True, "mathvista:answer_is_quoted:letter"),
        ("so the value is \\boxed{C}", True, True, "mathvista:boxed:letter:letter"),
        ("(C) 5", True, True, "mathvista:last_line:letter:letter"),
        ("The closest option is B.", False, False, "mathvista:answer_is:letter:letter"),
        ("答案:C", True, True, "mathvista:answer_is:letter:letter"),
        ("Looking at it...\n**(C)**", True, True, "mathvista:last_line:letter:letter"),
        # A stated value naming no option: official takes the nearest choice by edit distance ("5": 2 edits).
        ("\\boxed{5.0}", True, False, "mathvista:boxed:statement:nearest_choice"),
        # Nothing stated: unextracted, wrong in every mode (never the nearest choice to "").
        ("about 4.9", False, False, "mathvista:unextracted"),
        ("", False, False, "mathvista:empty"),
        ("I cannot determine this from the figure.", False, False, "mathvista:unextracted"),
    ],
)
def test_mathvista_multi_choice(response, official, strict, path):
    g = mathvista.score(MC, response, "official")
    assert (g.correct, g.path) == (official, path)
    assert mathvista.score(MC, response, "strict").correct is strict


def test_mathvista_empty_answer_hits_the_nearest_choice_quirk_only_for_official_extractions():
    yes_no = vista("no", "choice", choices=["yes", "no"], letter="B")
    # Upstream: distance("", "yes") = 3 > distance("", "no") = 2, so an empty EXTRACTION scores as "no".
    assert mathvista.score(yes_no, "", "official", extracted=True).correct is True
    assert mathvista.score(yes_no, "", "strict", extracted=True).correct is False
    assert mathvista.score(yes_no, "", "official", extracted=True).extracted is None
    # A raw response with nothing in it is unextracted, not a guessed choice.
    g = mathvista.score(yes_no, "Sorry, I cannot see the image.", "official")
    assert (g.correct, g.extracted, g.path) == (False, None, "mathvista:unextracted")


@pytest.mark.parametrize(
    "response,correct",
    [
        ("12", True),
        ("12.0", True),  # int("12.0") fails, the last number then str(int(float("12.0"))) == "12"
        ('The answer is "11.9".', False),  # int(11.9) == 11
        ("\\boxed{12 cm}", True),  # the number is read, its unit dropped (an LLM extractor says "12")
        ("\\boxed{12}", True),
        ("The total is 7,873 people, so the answer is 12 apples.", True),
        ("There are 12 red and 3 blue.", False),  # no statement: the last number (3)
    ],
)
def test_mathvista_integer(response, correct):
    assert mathvista.score(vista("12", "integer"), response).correct is correct


def test_mathvista_float_precision_is_cast_to_int():
    ex = vista("0.33", "float", precision=2.0)  # float64 in the hub parquet
    assert mathvista.score(ex, "0.3333").path == "mathvista:fast_float:float"
    assert mathvista.score(ex, "0.3333").correct is True
    assert mathvista.score(ex, "\\boxed{0.333}").correct is True
    assert mathvista.score(ex, "\\boxed{1/3}").correct is False  # float("1/3") fails
    # Python rounds half to even on the binary value: round(1.25, 1) == 1.2.
    assert mathvista.score(vista("1.2", "float", precision=1), "1.25").correct is True


def test_mathvista_list_is_plain_string_equality():
    ex = vista("[2014, 2016]", "list")
    assert mathvista.score(ex, 'The answer is "[2014, 2016]".').correct is True
    assert mathvista.score(ex, 'The answer is "[2014,2016]".').correct is False


def test_mathvista_levenshtein():
    assert mathvista.levenshtein("kitten", "sitting") == 3
    assert mathvista.levenshtein("", "abc") == 3
    assert mathvista.levenshtein("flaw", "lawn") == 2


def test_mathvista_subsets_and_registry():
    keys = benchmarks.subset_keys(MC)
    assert keys["skills"] == ["arithmetic reasoning", "logical reasoning"]
    assert keys["question_type"] == "multi_choice" and keys["source"] == "GeoQA+"
    assert "grade" not in keys  # absent metadata is not invented
    assert benchmarks.score(MC, "5", "strict").correct is True
    with pytest.raises(ValueError, match="unknown scoring mode"):
        benchmarks.score(MC, "5", "lenient")


def test_mathvista_separators_and_lists():
    assert mathvista.score(vista("7873", "integer"), "The population is 7,873.").correct is True
    ex = vista("[2014, 2016]", "list")
    assert mathvista.score(ex, "The years are [2014, 2016].").correct is True


def vision(answer, *, options=None, letter=None, level=2, subject="algebra"):
    return Example(
        id="v1", source="mathvision", split="testmini", question="<image>q", answer=answer,
        answer_kind="choice" if options else "expression", choices=options, gold_letter=letter,
        metadata={"level": level, "subject": subject},
    )


@pytest.mark.parametrize(
    "gold,response,correct,model_answer",
    [
        ("6", "There are 6 digits.", False, None),  # no phrase, no box: the whole text, not a stated answer
        ("6", "So the answer is 6.", True, "6"),
        ("6", "\\boxed{6}", True, "6"),
        ("6", "The answer is $6.00$", True, "6.00"),  # numeric equality after rounding to 2 decimals
        ("6", "x = 5 so \\boxed{y = 6}", True, "6"),  # text after "=" is kept
        ("\\frac{1}{2}", "\\boxed{0.5}", True, "\\frac{1}{2}"),  # upstream turns "0.5" into \frac{1}{2}
        ("2\\sqrt{3}", "\\boxed{3.46}", True, "3.46"),
        ("2\\sqrt{3}", "\\boxed{3.47}", False, "3.47"),
        ("(0.5,2)", "\\boxed{(\\frac{1}{2}, 2)}", True, "(\\frac{1}{2},2)"),  # tuple-wise numeric
        ("6", "first \\boxed{5} then \\boxed{6}", True, "6"),  # the last box
    ],
)
def test_mathvision_free_form(gold, response, correct, model_answer):
    g = mathvision.score(vision(gold), response)
    assert (g.correct, g.extracted) == (correct, model_answer)


@pytest.mark.parametrize(
    "response,correct",
    [
        ("Counting the sides, the answer is C.", True),  # trailing " C."
        ("(C)\nbecause the sides match", True),
        ("\\boxed{5}", True),  # the gold option TEXT also counts
        ("The answer is 5", True),
        ("\\boxed{D}", False),
        ("I am not sure", False),
    ],
)
def test_mathvision_choice_letter_or_option_text(response, correct):
    ex = vision("5", options=["3", "4", "5", "6", "7"], letter="C")
    assert mathvision.score(ex, response).correct is correct


def test_mathvision_is_equal_never_evaluates_python():
    assert mathvision.is_equal("__import__('os').getcwd()", "1") is False
    assert mathvision.is_equal("x+1", "1+x") is False  # symbols are not numbers
    assert benchmarks.subset_keys(vision("6")) == {"level": "2", "subject": "algebra",
                                                   "level_subject": "level2_algebra"}


@pytest.mark.parametrize(
    "response,letter,path",
    [
        ("Answer: B", "B", "official_answer"),
        ("reasoning...\n<Answer>: C.", "C", "official_answer"),
        ("The answer is B", None, "none"),  # "answer" is case-sensitive upstream: the text starts with "T"
        ("Answer: (B)", None, "none"),  # the first character is "(", not a letter
        ("Answer: H", "H", "official_answer"),
        ("Answer: I", None, "none"),
        ("so \\boxed{D}", "D", "boxed"),
        ("Answer: A, but checking again \\boxed{B}", "B", "boxed"),  # our boxed letter is read first
    ],
)
def test_wemath_letter(response, letter, path):
    assert wemath.extract_letter(response, "boxed") == (letter, path)


def test_wemath_score_against_gold_letter():
    ex = Example(id="2steps_1/2steps_1", source="wemath", split="testmini", question="<image>q", answer="400",
                 answer_kind="choice", choices=["300", "400"], gold_letter="B",
                 metadata={"ID": "2steps_1", "key": "2steps_1"})
    assert wemath.score(ex, "Answer: B").correct is True
    assert wemath.score(ex, "Answer: A").correct is False


# Hand-computed 4-D example (N = 6 complete problems, P7 incomplete):
#   P1 2-step  T T | multi T  -> CM strict, CM loose
#   P2 2-step  T F | multi T  -> RM strict, CM loose
#   P3 2-step  F F | multi T  -> RM strict, RM loose
#   P4 2-step  T T | multi F  -> IG
#   P5 3-step  F T T | multi F -> IK
#   P6 3-step  T T T | multi T -> CM strict, CM loose
#   P7 3-step  T T T | (no multi row) -> not counted
GROUPS = {
    "P1": (2, [True, True], True), "P2": (2, [True, False], True), "P3": (2, [False, False], True),
    "P4": (2, [True, True], False), "P5": (3, [False, True, True], False), "P6": (3, [True, True, True], True),
}


def wemath_rows():
    rows = []
    for pid, (steps, step_ok, multi_ok) in GROUPS.items():
        rows += [(pid, steps, str(i + 1), ok) for i, ok in enumerate(step_ok)] + [(pid, steps, "multi", multi_ok)]
    return rows + [("P7", 3, "1", True), ("P7", 3, "2", True), ("P7", 3, "3", True)]


def test_wemath_four_dimensional_hand_computed():
    m = wemath.four_dimensional(wemath_rows())
    assert (m["problems"], m["incomplete_problems"]) == (6, 1)
    assert (m["IK"], m["IG"], m["CM_strict"], m["CM_loose"], m["RM_strict"], m["RM_loose"]) == (1, 1, 2, 3, 2, 1)
    assert m["score_strict"] == pytest.approx((6 - 0.5 * 1 - 2 - 1) / 6)  # 0.41667
    assert m["score_loose"] == pytest.approx((6 - 0.5 * 1 - 1 - 1) / 6)  # 0.58333
    assert m["RM_strict_rate"] == pytest.approx(2 / 4) and m["RM_loose_rate"] == pytest.approx(1 / 4)
    assert m["IK_rate"] == pytest.approx(1 / 6) and m["CM_loose_rate"] == pytest.approx(3 / 6)


def test_wemath_aggregate_averages_over_samples_and_labels_row_accuracy():
    rows = wemath_rows()
    exs = [
        Example(id=f"{p}/{s}steps_{r}", source="wemath", split="testmini", question="<image>q", answer="x",
                answer_kind="choice", choices=["x", "y"], gold_letter="A", metadata={"ID": p, "key": f"{s}steps_{r}"})
        for p, s, r, _ in rows
    ]
    correct = [[ok, True] for *_, ok in rows]  # sample 0 as above, sample 1 all right
    out = wemath.aggregate(exs, correct)
    four = out["four_dimensional (official, mean over samples)"]
    assert four["score_strict"] == pytest.approx(((6 - 3.5) / 6 + 1.0) / 2)
    assert four["CM_strict"] == pytest.approx((2 + 6) / 2)
    n_right = sum(ok for *_, ok in rows) + len(rows)
    assert out["row_accuracy (plain accuracy over rows, not the official score)"] == pytest.approx(n_right / (2 * len(rows)))
    bad = Example(id="x", source="wemath", split="testmini", question="q", answer="x", metadata={"ID": "1"})
    with pytest.raises(ValueError, match="wemath record x"):
        wemath.aggregate([bad], [[True]])


REAL_WEMATH = "/work/shared/real-samples/wemath/data/testmini.json"


@pytest.mark.skipif(not __import__("os").path.exists(REAL_WEMATH), reason="shared real samples absent")
def test_wemath_four_dimensional_on_the_real_testmini_layout():
    import json
    import random

    rows_json = json.load(open(REAL_WEMATH))
    rng = random.Random(0)
    rows = []
    for r in rows_json:
        steps, role = r["key"].split("steps_")
        rows.append((r["ID"], int(steps), role, rng.random() < 0.6))
    m = wemath.four_dimensional(rows)
    assert (m["problems"], m["incomplete_problems"]) == (525, 0)  # the official denominator
    assert m["IK"] + m["IG"] + m["CM_strict"] + m["RM_strict"] == 525
    assert m["CM_loose"] + m["RM_loose"] == m["CM_strict"] + m["RM_strict"]
