"""Optional: real MathVista / MathVision gold answers graded against themselves (skips without ../shared)."""

import json
from pathlib import Path

import pytest

from data_zoo.example import LETTERS, Example
from uec_vlm.rewards import grade_many

SHARED = Path(__file__).resolve().parents[3] / "shared" / "real-samples"
KINDS = {"integer": "integer", "float": "float", "list": "list", "text": "text"}


def mathvista_examples() -> list[Example]:
    records = json.loads((SHARED / "mathvista" / "data" / "testmini.json").read_text())
    out = []
    for pid, r in records.items():
        choices = r["choices"]
        kind = "choice" if r["question_type"] == "multi_choice" else KINDS[r["answer_type"]]
        letter = LETTERS[choices.index(r["answer"])] if choices else None
        precision = None if r["precision"] is None else int(r["precision"])
        out.append(
            Example(
                pid, "mathvista", "testmini", r["question"], r["answer"], kind, choices, letter, precision
            )
        )
    return out


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/real-samples")
def test_mathvista_gold_answers_grade_as_correct_boxed_and_as_letters():
    examples = mathvista_examples()
    boxed = grade_many([f"\\boxed{{{e.answer}}}" for e in examples], examples)
    assert [e.uid for e, g in zip(examples, boxed) if not g.correct] == []
    choice = [e for e in examples if e.answer_kind == "choice"]
    letters = grade_many([f"The answer is ({e.gold_letter})." for e in choice], choice)
    assert len(choice) == 540
    assert all(g.correct and g.path == "answer_is/choice" for g in letters)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/real-samples")
def test_mathvision_gold_answers_grade_as_correct():
    examples = []
    for line in (SHARED / "mathvision" / "data" / "testmini.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["options"]:
            letter = r["answer"]
            text = r["options"][LETTERS.index(letter)]
            examples.append(
                Example(str(r["id"]), "mathvision", "testmini", "q", text, "choice", r["options"], letter)
            )
        else:
            examples.append(Example(str(r["id"]), "mathvision", "testmini", "q", r["answer"], "expression"))
    responses = [f"\\boxed{{{e.gold_letter or e.answer}}}" for e in examples]
    grades = grade_many(responses, examples)
    assert len(examples) == 304
    assert [(e.uid, e.answer) for e, g in zip(examples, grades) if not g.correct] == []
