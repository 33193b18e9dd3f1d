"""MathVerse testmini (788 problems x 5 versions = 3940 rows) and testmini_text_only (788, no image).

Choices are embedded in the question text ("Choices:\\nA:40°\\nB:..."); when they parse, the answer is the
option text and `gold_letter` the letter, else (choices drawn in the image) the answer is the letter.
"""

from __future__ import annotations

from data_zoo.adapters.answers import block_choices
from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example
from data_zoo.records import guarded, infer_answer_kind, letter_choice, origin_of, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import hub_rows, upstream_rows

HUB_ID = "AI4Math/MathVerse"


def embedded_choices(question: str) -> list[str] | None:
    """Option texts from a trailing "Choices:" block (consecutive letters from A), else None."""
    head, sep, block = question.rpartition("Choices:")
    return block_choices(block) if sep else None


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


VERSIONS = ("Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only")


def _versions(options: dict) -> set[str] | None:
    """The `?versions=vision_dominant,vision_only` filter as upstream version names (None = all)."""
    raw = options.pop("versions", "")
    if not raw:
        return None
    by_key = {v.lower().replace(" ", "_"): v for v in VERSIONS}
    wanted = [w.strip().lower().replace(" ", "_").replace("-", "_") for w in raw.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        raise DataError(f"mathverse option versions={raw!r}: unknown {unknown}; known: {sorted(by_key)}")
    return {by_key[w] for w in wanted}


@register_adapter("mathverse", splits=("testmini", "testmini_text_only"), hub_id=HUB_ID, role="eval",
                  licence="MIT", kinds=("choice", "integer", "float", "expression", "text"),
                  subsets=("problem_version", "subject", "subfield"),
                  needs="hub parquet (configs testmini, testmini_text_only) or GitHub {split}.json + images; "
                        "option versions=vision_dominant,vision_only keeps those versions")
def load(split: str, root: str | None, options: dict):
    """MathVerse: one problem in five versions (Text Dominant ... Vision Only) plus a text-only set."""
    keep = _versions(options)
    if root is None:  # on the hub both sets are configs whose only split is "testmini"
        rows, bases = hub_rows(HUB_ID, "testmini", f"mathverse:{split}@DIR", config=split), []
    else:
        rows, bases = upstream_rows(root, split, [f"data/{split}.json", f"{split}.json"], HUB_ID, "")
    if keep is not None:  # filter raw rows, so that a bad row of another version never stops the load
        rows = (r for r in rows if r.get("problem_version") in keep)
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where), lambda r, i: r.get("sample_index") or f"row {i}")
