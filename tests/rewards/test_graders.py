"""Graders by answer kind, in process (`grade`): exact verdicts and the path that decided each one."""

import pytest
from mathruler.grader import grade_answer

from data_zoo.example import Example
from uec_vlm.rewards import Grade, grade


def ex(answer, kind, **kw):
    return Example(
        id="7", source="unit", split="test", question="<image>q", answer=answer, answer_kind=kind, **kw
    )


GEO = ex("48", "choice", choices=["24", "48", "60", "72"], gold_letter="B")
LETTER_ONLY = ex("C", "choice")  # MathVerse-style: options only inside the question text


@pytest.mark.parametrize(
    "response, example, expected",
    [
        # choice: letter or option text, either way round
        ("\\boxed{B}", GEO, Grade(True, "B", "boxed/choice")),
        ("\\boxed{(A)}", GEO, Grade(False, "(A)", "boxed/choice")),
        ("\\boxed{48}", GEO, Grade(True, "48", "boxed/choice")),
        ("\\boxed{60}", GEO, Grade(False, "60", "boxed/choice")),
        ("\\boxed{48.0}", GEO, Grade(True, "48.0", "boxed/choice")),
        ("The answer is (C).", LETTER_ONLY, Grade(True, "(C)", "answer_is/choice")),
        ("B", LETTER_ONLY, Grade(False, "B", "option_letter/choice")),
        # integer: exact value
        ("\\boxed{1,024}", ex("1024", "integer"), Grade(True, "1,024", "boxed/number")),
        ("\\boxed{1023}", ex("1024", "integer"), Grade(False, "1023", "boxed/number")),
        ("\\boxed{\\frac{10}{2}}", ex("5", "integer"), Grade(True, "\\frac{10}{2}", "boxed/number")),
        ("\\boxed{45^\\circ}", ex("45", "integer"), Grade(True, "45^\\circ", "boxed/number")),
        # float: the item's precision, else a relative tolerance of 1e-4
        ("\\boxed{3.14159}", ex("3.14", "float", precision=2), Grade(True, "3.14159", "boxed/number")),
        ("\\boxed{3.15}", ex("3.14", "float", precision=2), Grade(False, "3.15", "boxed/number")),
        ("\\boxed{2.0003}", ex("2", "float"), Grade(False, "2.0003", "boxed/number")),
        ("\\boxed{2.00019}", ex("2", "float"), Grade(True, "2.00019", "boxed/number")),
        ("\\boxed{\\pi}", ex("3.14", "float", precision=2), Grade(True, "\\pi", "boxed/number")),
        # expression: spelling, then math-verify, then mathruler
        (
            "\\boxed{2 \\sqrt { 221 }}",
            ex("2\\sqrt{221}", "expression"),
            Grade(True, "2 \\sqrt { 221 }", "boxed/exact"),
        ),
        (
            "\\boxed{\\sqrt{884}}",
            ex("2\\sqrt{221}", "expression"),
            Grade(True, "\\sqrt{884}", "boxed/math_verify"),
        ),
        ("\\boxed{x^2+2x+1}", ex("(x+1)^2", "expression"), Grade(True, "x^2+2x+1", "boxed/math_verify")),
        ("\\boxed{2\\sqrt{3}}", ex("3.46", "expression"), Grade(False, "2\\sqrt{3}", "boxed/math_verify")),
        ("\\boxed{\\dfrac{1}{3}}", ex("1/3", "expression"), Grade(True, "\\dfrac{1}{3}", "boxed/number")),
        # list / tuple: in order, element-wise
        ("\\boxed{(1, 2)}", ex("[1, 2]", "list"), Grade(True, "(1, 2)", "boxed/list")),
        ("\\boxed{(2, 1)}", ex("[1, 2]", "list"), Grade(False, "(2, 1)", "boxed/list")),
        ("\\boxed{(1, 2, 3)}", ex("[1, 2]", "list"), Grade(False, "(1, 2, 3)", "boxed/list")),
        ("\\boxed{(\\sqrt{4}, 3)}", ex("(2, 3)", "list"), Grade(True, "(\\sqrt{4}, 3)", "boxed/list")),
        # words compare as text (math parsing reads "blue" as b*l*u*e, equal to its anagram "eulb");
        # case-insensitive; all-capital names (segments) keep the math path, where AB = BA
        ("\\boxed{red, eulb}", ex("red, blue", "list"), Grade(False, "red, eulb", "boxed/list")),
        ("\\boxed{Red, BLUE}", ex("red, blue", "list"), Grade(True, "Red, BLUE", "boxed/list")),
        ("\\boxed{BA, CD}", ex("AB, CD", "list"), Grade(True, "BA, CD", "boxed/list")),
        # text: case and spacing ignored
        (
            "The answer is The  Circle.",
            ex("the circle", "text"),
            Grade(True, "The  Circle", "answer_is/text"),
        ),
        ("\\boxed{square}", ex("circle", "text"), Grade(False, "square", "boxed/text")),
        # extracted but not math: scored 0 with the reason
        (
            "\\boxed{@@}",
            ex("1", "expression"),
            Grade(False, "@@", "boxed/math_verify", reason="math-verify could not parse the answer"),
        ),
        # nothing extracted
        ("I give up", ex("5", "integer"), Grade(False, None, "none", reason="no answer found")),
    ],
)
def test_grade_exact(response, example, expected):
    assert grade(response, example) == expected


def test_mathruler_is_the_second_opinion():
    # math-verify reads plain "pi/2" as i*p/2; mathruler's normaliser knows pi, so it accepts.
    example = ex("\\frac{\\pi}{2}", "expression")
    assert grade_answer("pi/2", "\\frac{\\pi}{2}") is True
    assert grade("\\boxed{pi/2}", example) == Grade(True, "pi/2", "boxed/mathruler")
    assert grade("\\boxed{pi/3}", example) == Grade(False, "pi/3", "boxed/math_verify")


def test_paths_restrict_extraction():
    example = ex("5", "integer")
    assert grade("The answer is 5", example, paths=("boxed",)) == Grade(
        False, None, "none", reason="no answer found"
    )


@pytest.mark.parametrize(
    "example, culprit",
    [
        (ex("five", "integer"), "gold answer 'five' is not a valid integer"),
        (ex("2.5", "integer"), "gold answer '2.5' is not a valid integer"),
        (ex("1", "number"), "unknown answer_kind 'number'"),
        (ex("48", "choice", choices=["24", "48"], gold_letter="C"), "gold_letter 'C' is not an option"),
    ],
)
def test_bad_gold_names_the_record(example, culprit):
    with pytest.raises(ValueError, match="record unit/test/7: " + culprit):
        grade("\\boxed{5}", example)


def test_injection_in_process_is_never_executed(tmp_path):
    target = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {target}')"
    for response in (f"\\boxed{{{payload}}}", f"<answer>{payload}</answer>", f"The answer is {payload}"):
        verdict = grade(response, ex("1", "expression"))
        assert verdict.correct is False
    assert not target.exists()
