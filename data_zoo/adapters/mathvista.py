"""MathVista (testmini 1000, test 5141): the hub parquet and the GitHub `data/testmini.json` + `images/`.

Choice answers are the option TEXT (as MathVista grades), `precision` is an int (float64 in the parquet).
"""

from __future__ import annotations

import math

from data_zoo.example import IMAGE_PLACEHOLDER, LETTERS, DataError, Example
from data_zoo.records import guarded, origin_of, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

HUB_ID = "AI4Math/MathVista"
KINDS = {"integer": "integer", "float": "float", "list": "list", "text": "text"}


def _precision(value, where: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if float(value) != int(float(value)):
        raise DataError(f"precision {value!r} is not a whole number ({where})")
    return int(float(value))


def convert(row: dict, split: str, bases: list, json_file: str) -> Example:
    pid = str(require(row, "pid", json_file))
    where = f"pid {pid} in {origin_of(row, json_file)}"
    answer = row.get("answer")
    if split == "test" and (answer is None or not str(answer).strip()):
        raise DataError(f"MathVista test answers are not public ({where}); score on testmini")
    answer = str(require(row, "answer", where))
    qtype = require(row, "question_type", where)
    choices = row.get("choices")
    if qtype == "multi_choice":
        if not choices:
            raise DataError(f"multi_choice question without choices ({where})")
        choices = [str(c) for c in choices]
        if answer not in choices:
            raise DataError(f"gold answer {answer!r} is not one of the choices {choices} ({where})")
        kind, letter = "choice", LETTERS[choices.index(answer)]
    else:
        atype = require(row, "answer_type", where)
        if atype not in KINDS:
            raise DataError(f"unknown answer_type {atype!r} ({where})")
        kind, letter, choices = KINDS[atype], None, None
    meta = dict(row.get("metadata") or {})
    meta.update(question_type=qtype, answer_type=row.get("answer_type"))
    if row.get("query"):
        meta["query"] = row["query"]
    return Example(
        id=pid, source="mathvista", split=split,
        question=IMAGE_PLACEHOLDER + str(require(row, "question", where)), answer=answer, answer_kind=kind,
        choices=choices, gold_letter=letter, precision=_precision(row.get("precision"), where),
        unit=row.get("unit") or None, images=[row_image(row, ("decoded_image", "image"), bases, where)],
        metadata=meta,
    )


@register_adapter("mathvista", splits=("testmini", "test"), hub_id=HUB_ID, role="eval", licence="CC BY-SA 4.0",
                  kinds=("choice", "integer", "float", "list"),
                  subsets=("question_type", "answer_type", "task", "context", "grade", "skills", "source", "category"),
                  needs="hub parquet, or GitHub data/{split}.json + images/ (images come from the hub copy)")
def load(split: str, root: str | None, options: dict):
    """MathVista: 1000 testmini / 5141 test problems; MC answers are option texts."""
    rows, bases = upstream_rows(root, split, [f"data/{split}.json", f"{split}.json"], HUB_ID,
                                f"mathvista:{split}@DIR")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where), lambda r, i: r.get("pid") or r.get("_key"))
