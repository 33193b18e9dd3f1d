"""MathVision (test 3040, testmini 304): the hub parquet and the GitHub `data/*.jsonl` + `images/`.

Each record has ONE image (a composite); questions refer to parts of it as `<image1>`, `<image2>`, ...
When the only tag is a single `<image1>` it becomes the `<image>` placeholder in place; otherwise one
`<image>` is put in front and the numbered tags stay as text (they name panels of that one image).
"""

from __future__ import annotations

import re

from data_zoo.example import IMAGE_PLACEHOLDER, Example
from data_zoo.records import guarded, infer_answer_kind, letter_choice, origin_of, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

HUB_ID = "MathLLMs/MathVision"
_TAG = re.compile(r"<image\d+>")


def place_image(question: str) -> str:
    tags = _TAG.findall(question)
    if tags == ["<image1>"]:
        return question.replace("<image1>", IMAGE_PLACEHOLDER)
    return IMAGE_PLACEHOLDER + question


def convert(row: dict, split: str, bases: list, source_file: str) -> Example:
    rid = str(require(row, "id", source_file))
    where = f"id {rid} in {origin_of(row, source_file)}"
    answer = str(require(row, "answer", where)).strip()
    options = [str(o) for o in (row.get("options") or [])]
    if options:
        text, letter = letter_choice(answer, options, where)
        kind, choices = "choice", options
    else:
        text, letter, kind, choices = answer, None, infer_answer_kind(answer), None
    return Example(
        id=rid, source="mathvision", split=split, question=place_image(str(require(row, "question", where))),
        answer=text, answer_kind=kind, choices=choices, gold_letter=letter,
        images=[row_image(row, ("decoded_image", "image"), bases, where)],
        metadata={"level": row.get("level"), "subject": row.get("subject"), "solution": row.get("solution")},
    )


@register_adapter("mathvision", splits=("test", "testmini"), hub_id=HUB_ID, role="eval", licence="MIT",
                  kinds=("choice", "integer", "float", "expression", "text"), subsets=("level", "subject"),
                  needs="hub parquet, or GitHub data/{split}.jsonl + images/")
def load(split: str, root: str | None, options: dict):
    """MathVision (MATH-V): competition problems, 5 levels x 16 subjects; MC letters A-E or free-form."""
    rows, bases = upstream_rows(root, split, [f"data/{split}.jsonl", f"{split}.jsonl"], HUB_ID,
                                f"mathvision:{split}@DIR")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where), lambda r, i: r.get("id") or f"row {i}")
