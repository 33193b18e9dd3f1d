"""R1-V's training sets on the hub: GeoQA-R1V (8K geometry) and CLEVR-CoGenT-A counting (70K).

Both are hub parquet with columns `image` (Image), `problem` (the question, no `<image>` tag) and
`solution` (`<answer> 3 </answer>`: the gold inside answer tags). Rows carry no id: the id is the row
number over the split's files in order (stable for a given download).
"""

from __future__ import annotations

from data_zoo.adapters.answers import answer_tag, classify
from data_zoo.example import DataError, Example
from data_zoo.records import guarded, origin_of, prefix_placeholders, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

GEOQA_HUB = "leonardPKU/GEOQA_R1V_Train_8K"
CLEVR_HUB = "leonardPKU/clevr_cogen_a_train"


def _records(name: str, hub_id: str, split: str, root: str | None, counting: bool):
    rows, bases = upstream_rows(root, split, [], hub_id, f"{name}:{split}@DIR")
    where = f"{root or hub_id} ({split})"

    def convert(item) -> Example:
        i, row = item
        at = f"row {i} of {origin_of(row, where)}"
        question = str(require(row, "problem", at))
        gold = answer_tag(str(require(row, "solution", at)))
        if not gold:
            raise DataError(f"empty <answer> in solution {row['solution']!r} ({at})")
        if counting:
            if not gold.lstrip("-").isdigit():
                raise DataError(f"count {gold!r} is not an integer ({at})")
            answer, kind, choices, letter = gold, "integer", None, None
        else:
            answer, kind, choices, letter = classify(question, gold, at)
        return Example(id=str(i), source=name, split=split, question=prefix_placeholders(question, 1),
                       answer=answer, answer_kind=kind, choices=choices, gold_letter=letter,
                       images=[row_image(row, ("image",), bases, at)], metadata={"solution": row["solution"]})

    return guarded(enumerate(rows), convert, lambda item, i: str(i))


@register_adapter("geoqa_r1v", splits=("train",), hub_id=GEOQA_HUB, role="train", licence="Apache-2.0 (card)",
                  kinds=("choice", "integer", "float", "expression", "text"),
                  needs="hub parquet data/train-*.parquet (image, problem, solution with <answer> tags)")
def load_geoqa(split: str, root: str | None, options: dict):
    """GeoQA-R1V train: 8K GeoQA+ geometry problems R1-V rewrote to free-form answers (e.g. 140°)."""
    return _records("geoqa_r1v", GEOQA_HUB, split, root, counting=False)


@register_adapter("clevr_count", splits=("train",), hub_id=CLEVR_HUB, role="train", licence="not stated (CLEVR images: CC BY 4.0)",
                  kinds=("integer",),
                  needs="hub parquet data/train-*.parquet (image, problem, solution with <answer> tags)")
def load_clevr(split: str, root: str | None, options: dict):
    """CLEVR-CoGenT-A counting (R1-V clevr_cogen_a_train, 70K): how many objects, integer answers."""
    return _records("clevr_count", CLEVR_HUB, split, root, counting=True)
