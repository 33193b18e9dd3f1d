"""MMK12 (MM-Eureka): K-12 multimodal problems, train 15,616 (math) and test 2,000 (math, physics,
chemistry, biology).

Hub parquet `data/{train,test}-*.parquet` with columns `id`, `question`, `answer`, `subject`, `image`
(Image). Multiple-choice questions carry their options in the question text and a letter as answer.
"""

from __future__ import annotations

from data_zoo.adapters.answers import classify
from data_zoo.example import Example
from data_zoo.records import guarded, origin_of, prefix_placeholders, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

HUB_ID = "FanqingM/MMK12"


def convert(row: dict, split: str, bases: list, origin: str, name: str = "mmk12", question_key: str = "question",
            meta_keys: tuple[str, ...] = ("subject",)) -> Example:
    """One single-image row with `id`, a question column, `answer` and `image` (also ThinkLite's layout)."""
    rid = str(require(row, "id", origin))
    where = f"id {rid} in {origin_of(row, origin)}"
    question = str(require(row, question_key, where))
    answer, kind, choices, letter = classify(question, str(require(row, "answer", where)), where)
    return Example(id=rid, source=name, split=split, question=prefix_placeholders(question, 1), answer=answer,
                   answer_kind=kind, choices=choices, gold_letter=letter,
                   images=[row_image(row, ("image",), bases, where)], metadata={k: row.get(k) for k in meta_keys})


@register_adapter("mmk12", splits=("train", "test"), hub_id=HUB_ID, role="train/eval", licence="Apache-2.0 (card)",
                  kinds=("choice", "integer", "float", "expression", "text"), subsets=("subject",),
                  needs="hub parquet data/{split}-*.parquet (id, question, answer, subject, image)")
def load(split: str, root: str | None, options: dict):
    """MMK12: real K-12 exam problems with images; train math, test 4 subjects x 500."""
    rows, bases = upstream_rows(root, split, [], HUB_ID, f"mmk12:{split}@DIR")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where), lambda r, i: r.get("id") or f"row {i}")
