"""Official-rule semantics worked out from the upstream scripts, and the rule readers' policy."""

import pytest

from data_zoo.example import Example
from evals import benchmarks
from evals.benchmarks import mathvision, mathvista, readers, upstream_eval, wemath


def vision(answer, *, options=None, letter=None):
    return Example(id="v", source="mathvision", split="test", question="q", answer=answer,
                   answer_kind="choice" if options else "expression", choices=options, gold_letter=letter,
                   metadata={"level": 3, "subject": "algebra"})


@pytest.mark.parametrize(
    "gold,candidate,equal",
    [
        ("(6,2,1)", "(6, 2, 1)", True),  # tuple-wise after upstream's eval_tuple
        ("(6,2,1)", "(6,2,2)", False),
        ("2.72", "e", False),  # latex2sympy reads "e" as E, which math's namespace does not define: NameError
        ("e", "e", True),  # an option letter "E" lower-cased: exact match
        ("12", "12)", True),  # no EOF anchor upstream: the valid prefix "12" is read
        ("69", "69.c", True),
        ("6", "3\\frac{1}{2}", False),  # 3 * 1/2 upstream, not a mixed number 3.5
        ("1.5", "3\\frac{1}{2}", True),
        ("120", "$120^{\\circ}$", False),  # upstream's grammar refuses \circ
        ("\\frac{3}{4}", "$\\boxed{\\frac{3}{4}}$", False),  # and \boxed
        ("0.69", "\\ln 2", False),  # log(2, E): E is a NameError upstream
        ("0.69", "\\log_{2} 1.61", True),  # math.log(1.61, 2)
        ("1", "\\log_{2} 2", True),
        ("3", "|-3|", False),  # Abs is not a math name
        ("0.33", "\\frac{3^{1008}-1}{3^{1009}}", True),  # int / int is exact where int ** -1 overflows
        ("50", "50%", False),  # a bare % is no token of upstream's lexer
        ("0.5", "50\\%", True),
        ("2", "x+1", False),  # free symbols are not numbers
    ],
)
def test_mathvision_is_equal_matches_upstream_eval(gold, candidate, equal):
    assert mathvision.is_equal(candidate, gold) is equal


def test_mathvision_tuple_answers_never_crash_and_letters_are_not_euler():
    tup = vision("(6,2,1)")
    assert mathvision.score(tup, "so \\boxed{(6,2,1)}").correct is True
    # Crashed with AttributeError before; upstream: "e" is a NameError, so the tuple stays a string and
    # "(\\pi,e)" (spaces removed by find_math_answer) differs from the gold "(\\pi, e)".
    g = mathvision.score(vision("(\\pi, e)"), "\\boxed{(\\pi, e)}")
    assert (g.correct, g.extracted, g.path) == (False, "(\\pi,e)", "mathvision:boxed")
    assert mathvision.score(vision("2"), "\\boxed{(\\pi, e)}").correct is False
    opts = ["1", "2", "3", "4", "5"]
    assert mathvision.score(vision("5", options=opts, letter="E"), "The answer is E").correct is True
    assert mathvision.score(vision("5", options=opts, letter="E"), "\\boxed{e}").correct is True


def test_mathvision_degree_option_text_is_refused_like_upstream():
    ex = vision("$120^{\\circ}$", options=["$60^{\\circ}$", "$120^{\\circ}$", "$90^{\\circ}$", "A", "B"], letter="B")
    assert mathvision.score(ex, "\\boxed{120}").correct is False  # official verdict for such items
    assert mathvision.score(ex, "\\boxed{B}").correct is True


def test_mathvision_whole_response_fallback_is_not_a_format_success():
    g = mathvision.score(vision("6"), "six, I think 6")
    assert (g.extracted, g.path) == (None, "mathvision:whole_response")
    g = mathvision.score(vision("6"), "The answer is 6")
    assert (g.correct, g.extracted, g.path) == (True, "6", "mathvision:is_number")


def test_mathvision_extracted_answers_and_level_subject_cells():
    assert mathvision.score(vision("6"), "6.00", extracted=True).correct is True
    assert mathvision.score(vision("6"), "The answer is 6", extracted=True).correct is False  # compared as is
    assert benchmarks.subset_keys(vision("6"))["level_subject"] == "level3_algebra"


def test_upstream_eval_refuses_huge_powers_and_non_math_names():
    import sympy

    with pytest.raises(ValueError, match="too large"):
        upstream_eval.value(sympy.Pow(sympy.Integer(10), sympy.Integer(10**8), evaluate=False))
    for expr in (sympy.E, sympy.I, sympy.oo, sympy.Symbol("x"), sympy.cot(1), sympy.Tuple(1, 2)):
        with pytest.raises(ValueError):
            upstream_eval.value(expr)
    assert upstream_eval.value(sympy.sqrt(4, evaluate=False)) == 2.0
    assert upstream_eval.value(sympy.Integer(7)) == 7 and isinstance(upstream_eval.value(sympy.Float("6.0")), int)


def test_wemath_official_mode_is_the_official_script_only():
    assert wemath.extract_letter("so \\boxed{D}") == (None, "none")
    assert wemath.extract_letter("so \\boxed{D}", "boxed") == ("D", "boxed")
    ex = Example(id="1", source="wemath", split="testmini", question="q", answer="D", answer_kind="choice",
                 choices=list("ABCD"), gold_letter="D", metadata={"ID": "1", "key": "2steps_1"})
    assert benchmarks.score(ex, "\\boxed{D}").correct is False
    assert benchmarks.score(ex, "\\boxed{D}", "boxed").correct is True
    assert "NON-OFFICIAL" in benchmarks.label("wemath", "boxed") and "[mode: boxed]" in benchmarks.label("wemath", "boxed")


@pytest.mark.parametrize(
    "response,choices,answer_type,expected",
    [
        ("The closest option is B.", ["1", "2", "3"], "text", ("B", "answer_is:letter")),
        ("推理……\n答案:C", ["1", "2", "3"], "text", ("C", "answer_is:letter")),
        ("So:\n**(C)**", ["1", "2", "3"], "text", ("C", "last_line:letter")),
        ("A bird flies. It is smaller than the tree.", ["bigger", "smaller"], "text", ("smaller", "last_line:choice_text")),
        ("I cannot tell whether it is bigger or smaller. Please provide more details.", ["bigger", "smaller"],
         "text", ("", "none")),
        ("Cannot be determined from the figure.", ["equal to", "smaller"], "text", ("", "none")),
        ("The answer is 7,873 people.", None, "integer", ("7873", "answer_is:number")),
        ("x is 3, so y = 12 cm", None, "integer", ("12", "last_line:number")),
        ("The years are [2014, 2016].", None, "list", ("[2014, 2016]", "last_line:list")),
        ("no number", None, "float", ("", "none")),
    ],
)
def test_readers(response, choices, answer_type, expected):
    assert readers.read_answer(response, choices, answer_type) == expected


def test_mathvista_extracted_path_is_official_normalisation():
    ex = Example(id="1", source="mathvista", split="testmini", question="q", answer="no", answer_kind="choice",
                 choices=["yes", "no"], gold_letter="B", metadata={"question_type": "multi_choice", "answer_type": "text"})
    # An official extraction that names no option: the nearest choice, as calculate_score.py.
    assert mathvista.score(ex, "nope", extracted=True).correct is True  # distance("nope", "no") = 2 < 3
    assert mathvista.score(ex, "nope", "strict", extracted=True).correct is False
    assert mathvista.score(ex, "N/A").path == "mathvista:unextracted"


def test_mathverse_rule_keeps_multi_line_golds_and_reads_unit_bearing_ones():
    from evals.benchmarks import mathverse

    def verse(answer):
        return Example(id="m", source="mathverse", split="testmini", question="q", answer=answer,
                       answer_kind="text" if "\n" in answer else "expression")

    assert mathverse.score(verse("C\nD"), "The answer is C and D").correct is True
    assert mathverse.score(verse("C\nD"), "\\boxed{C}").correct is False  # every line, not the first
    assert mathverse.score(verse("-4.9\n-4.9"), "\\boxed{-4.9, -4.9}").correct is True
    assert mathverse.score(verse("Area $=113.1 \\mathrm{~cm}^{2}$"), "\\boxed{113.1}").correct is True
    assert mathverse.score(verse("Area $=113.1 \\mathrm{~cm}^{2}$"), "\\boxed{113.2}").correct is False
    assert "NON-OFFICIAL" in benchmarks.label("mathverse")
