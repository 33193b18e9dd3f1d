"""GeoQA / generic equivalences: √ and sqrt spellings, π, latin and CJK units (policy in docs/rewards.md)."""

import pytest

from data_zoo.example import Example
from uec_vlm.rewards import extract_answer, grade
from uec_vlm.rewards.normalize import canonical_math


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("2√{3}", "2\\sqrt{3}"), ("2√3", "2\\sqrt{3}"), ("2sqrt(3)", "2\\sqrt{3}"), ("sqrt{5}", "\\sqrt{5}"),
        ("10米", "10"), ("8厘米", "8"), ("40海里", "40"), ("(√{3}+1)小时", "(\\sqrt{3}+1)"), ("3π平方米", "3\\pi"),
        ("4√{3}cm²", "4\\sqrt{3}"), ("9πcm^{2}", "9\\pi"), ("12 \\mathrm{~cm}^{2}", "12"), ("5\\text{ cm}", "5"),
        ("2m+1", "2m+1"), ("米", "米"), ("m", "m"),  # a unit alone, or a variable inside an expression, stays
    ],
)
def test_canonical_math(text, canonical):
    assert canonical_math(text) == canonical


def geoqa(gold):
    return Example(id="1", source="geoqa", split="test", question="q", answer=gold, answer_kind="expression")


@pytest.mark.parametrize(
    "gold,pred,correct",
    [
        ("2√{3}", "2\\sqrt{3}", True), ("2√{3}", "2sqrt(3)", True), ("10", "10米", True), ("8厘米", "8", True),
        ("40海里", "40", True), ("4√{3}cm²", "4\\sqrt{3}", True), ("9πcm^{2}", "9\\pi", True),
        ("2√{3}", "3.46", False),  # no numeric tolerance for irrational golds (as math-verify and mathruler)
        ("8厘米", "9厘米", False), ("2√{3}", "2√{2}", False),
    ],
)
def test_geoqa_equivalences(gold, pred, correct):
    g = grade(f"\\boxed{{{pred}}}", geoqa(gold))
    assert (g.correct, g.extracted) == (correct, pred)


@pytest.mark.parametrize(
    "response,text",
    [("The closest option is B.", "B"), ("答案:D", "D"), ("答案是 C。", "C"), ("so\n**(E)**", "E")],
)
def test_letters_where_a_person_reads_them(response, text):
    assert extract_answer(response).text == text
