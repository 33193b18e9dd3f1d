"""MathVerse testmini (788 problems x 5 versions = 3940 rows) and testmini_text_only (788, no image).

Choices are embedded in the question text ("Choices:\\nA:40°\\nB:..."); when they parse, the answer is the
option text and `gold_letter` the letter, else (choices drawn in the image) the answer is the letter.
"""

from __future__ import annotations

import re

from data_zoo.example import IMAGE_PLACEHOLDER, Example
from data_zoo.records import guarded, infer_answer_kind, letter_choice, origin_of, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import hub_rows, upstream_rows

HUB_ID = "AI4Math/MathVerse"
_CHOICE_LINE = re.compile(r"^\s*\(?([A-H])\)?\s*[:：.]\s*(.*?)\s*$")


def embedded_choices(question: str) -> list[str] | None:
    """Option texts from a trailing "Choices:" block (consecutive letters from A), else None."""
    head, sep, block = question.rpartition("Choices:")
    if not sep:
        return None
    found = []
    for line in block.strip().splitlines():
        m = _CHOICE_LINE.match(line)
        if not m or m[1] != "ABCDEFGH"[len(found)]:
            return None
        found.append(m[2])
    return found or None


def convert(row: dict, split: str, bases: list, source_file: str) -> Example:
    rid = str(require(row, "sample_index", source_file))
    where = f"sample_index {rid} in {origin_of(row, source_file)}"
    if "question" not in row:  # Vision Only rows have an empty question on purpose, so only absence is bad
        raise KeyError(f"missing field 'question' in {where}")
    question, answer = str(row["question"] or ""), str(require(row, "answer", where)).strip()
    qtype = require(row, "question_type", where)
    choices = letter = None
    # A few upstream "multi-choice" rows have a free-form gold (e.g. a bearing "090^\\circ T"): graded as such.
    if qtype == "multi-choice" and len(answer) == 1:
        choices = embedded_choices(question)
        answer, letter = letter_choice(answer, choices, where)
        kind = "choice"
    else:
        kind = infer_answer_kind(answer)
    images = [] if split == "testmini_text_only" else [row_image(row, ("image",), bases, where)]
    meta = dict(row.get("metadata") or {})
    meta.update({k: row.get(k) for k in ("problem_index", "problem_version", "question_type", "query_wo",
                                         "query_cot", "question_for_eval")})
    return Example(id=rid, source="mathverse", split=split, question=IMAGE_PLACEHOLDER * len(images) + question,
                   answer=answer, answer_kind=kind, choices=choices, gold_letter=letter, images=images,
                   metadata=meta)


@register_adapter("mathverse", splits=("testmini", "testmini_text_only"), hub_id=HUB_ID,
                  needs="hub parquet (configs testmini, testmini_text_only) or GitHub {split}.json + images")
def load(split: str, root: str | None, options: dict):
    """MathVerse: one problem in five versions (Text Dominant ... Vision Only) plus a text-only set."""
    if root is None:  # on the hub both sets are configs whose only split is "testmini"
        rows, bases = hub_rows(HUB_ID, "testmini", f"mathverse:{split}@DIR", config=split), []
    else:
        rows, bases = upstream_rows(root, split, [f"data/{split}.json", f"{split}.json"], HUB_ID, "")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where), lambda r, i: r.get("sample_index") or f"row {i}")
