"""Extraction: each path, the priority order between them, and the edge cases that fool naive code."""

import pytest
from mathruler.grader import extract_boxed_content

from uec_vlm.rewards import PATHS, Extraction, extract_answer, last_boxed
from uec_vlm.rewards.extract import option_letter


@pytest.mark.parametrize(
    "response, expected",
    [
        # answer tags win over everything, and a box inside them is unwrapped
        ("<think>\\boxed{1}</think><answer>\\boxed{2}</answer>", Extraction("2", "answer_tag")),
        ("<answer> first </answer> then <answer>  B </answer>", Extraction("B", "answer_tag")),
        # the LAST box, nested braces balanced
        ("\\boxed{1} so \\boxed{\\frac{1}{2}} done", Extraction("\\frac{1}{2}", "boxed")),
        ("\\boxed{ 2 \\sqrt { 221 } }", Extraction("2 \\sqrt { 221 }", "boxed")),
        ("The answer is: **42**.", Extraction("42", "answer_is")),
        ('Final answer: "(C) 7".', Extraction("(C) 7", "answer_is")),
        ("so the answer is\n  x = 3\nthanks", Extraction("x = 3", "answer_is")),
        ("reasoning line\n(B)", Extraction("B", "option_letter")),
        ("C.", Extraction("C", "option_letter")),
        ("Option d", Extraction(None, "none")),
        ("Option D", Extraction("D", "option_letter")),
        ("3 apples and 1,250.5 pears", Extraction("1,250.5", "last_number")),
        ("no digits here", Extraction(None, "none")),
        ("", Extraction(None, "none")),
    ],
)
def test_each_path_exact(response, expected):
    assert extract_answer(response) == expected


def test_truncated_last_box_extracts_nothing_even_after_a_closed_one():
    # EasyR1/mathruler semantics: only the last \boxed{ counts, and an unclosed one is no answer.
    response = "\\boxed{3} wait, actually \\boxed{4"
    assert last_boxed(response) is None
    assert extract_answer(response, ("boxed",)) == Extraction(None, "none")
    assert extract_answer(response) == Extraction("4", "last_number")


def test_mathruler_returns_the_string_none_where_we_return_none():
    assert extract_boxed_content("no box at all") == "None"
    assert last_boxed("no box at all") is None
    # ...so a gold answer of "None" could be matched by a box-less response if it were trusted blindly.
    assert extract_answer("no box at all", ("boxed",)).text is None


def test_empty_tag_and_empty_box_fall_through_to_later_paths():
    assert extract_answer("<answer> </answer> \\boxed{5}") == Extraction("5", "boxed")
    assert extract_answer("\\boxed{} the answer is 6") == Extraction("6", "answer_is")


def test_paths_restrict_and_reorder():
    response = "<answer>A</answer> \\boxed{B}"
    assert extract_answer(response, ("boxed", "answer_tag")) == Extraction("B", "boxed")
    assert extract_answer(response, ("answer_tag",)) == Extraction("A", "answer_tag")
    assert PATHS == ("answer_tag", "boxed", "answer_is", "option_letter", "last_number")
    with pytest.raises(ValueError, match="'boxes'"):
        extract_answer(response, ("boxes",))


@pytest.mark.parametrize(
    "text, letter",
    [
        ("B", "B"),
        ("(b)", None),
        ("B: 48", "B"),
        ("(B) 48", "B"),
        ("E)", "E"),
        ("A triangle", None),
        ("AB", None),
    ],
)
def test_option_letter(text, letter):
    # Upper case only: a lone lower-case "a" is far more often the article than an option.
    assert option_letter(text) == letter


def test_multiline_reasoning_starting_with_a_letter_is_not_an_option():
    assert extract_answer("A. First we note\nthat the angles sum to 180") == Extraction("180", "last_number")


def test_megabyte_response_is_linear():
    # Many unclosed tags and phrases: a backtracking pattern would take minutes here.
    response = ("<answer> \\boxed{ the answer is " * 20000) + "x" * 1_000_000 + "\nthe answer is 7"
    assert extract_answer(response) == Extraction("7", "answer_is")
