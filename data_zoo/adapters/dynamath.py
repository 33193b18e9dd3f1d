"""DynaMath: 501 seed questions, each drawn as 10 generated variants (`sample_variant1` ... `10`).

Hub parquet `data/sample_variantK-*.parquet` with columns `id` (the seed question, shared by its 10
variants), `question`, `image` (path string), `decoded_image` (Image), `ground_truth`, `answer_type`
(`multiple choice`, `float`, `free form`), `subject`, `knowledge_level`. Split `all` reads the ten variants
as one set (ids `SEED@vK`), which is what worst-case accuracy needs: a seed counts only when all its
variants are right (`evals.benchmarks.dynamath` groups records by `metadata["seed_id"]`).
"""

from __future__ import annotations

from pathlib import Path

from data_zoo.adapters.answers import classify
from data_zoo.example import DataError, Example
from data_zoo.records import guarded, infer_answer_kind, origin_of, prefix_placeholders, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import split_parquet_files, upstream_rows

HUB_ID = "DynaMath/DynaMath_Sample"
SPLITS = tuple(f"sample_variant{k}" for k in range(1, 11))


def convert(row: dict, split: str, variant: int, bases: list, source: str) -> Example:
    seed = str(require(row, "id", source))
    rid = f"{seed}@v{variant}" if split == "all" else seed
    where = f"id {rid} in {origin_of(row, source)}"
    question = str(require(row, "question", where))
    gold = str(require(row, "ground_truth", where)).strip()
    atype = str(require(row, "answer_type", where))
    if atype == "multiple choice":
        answer, kind, choices, letter = classify(question, gold, where)
        if kind != "choice":
            raise DataError(f"multiple choice gold {gold!r} is not an option letter ({where})")
    elif atype == "float":
        answer, kind, choices, letter = gold, "float", None, None
    elif atype == "free form":
        answer, kind, choices, letter = gold, infer_answer_kind(gold), None, None
    else:
        raise DataError(f"unknown answer_type {atype!r} ({where})")
    return Example(id=rid, source="dynamath", split=split, question=prefix_placeholders(question, 1), answer=answer,
                   answer_kind=kind, choices=choices, gold_letter=letter,
                   images=[row_image(row, ("decoded_image", "image"), bases, where)],
                   metadata={"seed_id": seed, "variant": variant, "answer_type": atype,
                             "subject": row.get("subject"), "knowledge_level": row.get("knowledge_level")})


@register_adapter("dynamath", splits=SPLITS + ("all",), hub_id=HUB_ID, role="eval", licence="Apache-2.0 (card)",
                  kinds=("choice", "integer", "float", "expression", "text"),
                  subsets=("subject", "knowledge_level", "answer_type", "variant"),
                  needs="hub parquet data/sample_variantK-*.parquet (decoded_image embedded); split all = the 10 variants")
def load(split: str, root: str | None, options: dict):
    """DynaMath: 501 visual math seeds x 10 program-generated variants, for worst-case robustness."""
    names = (split,)
    if split == "all":  # a local copy may hold some variants only: the report states variants_per_seed
        names = SPLITS if root is None else tuple(n for n in SPLITS if split_parquet_files(Path(root), n))
        if not names:
            raise DataError(f"no DynaMath variant files under {root}: expected data/sample_variantK-*.parquet")
    for name in names:
        variant = int(name.removeprefix("sample_variant"))
        rows, bases = upstream_rows(root, name, [], HUB_ID, f"dynamath:{split}@DIR")
        where = f"{root or HUB_ID} ({name})"
        yield from guarded(rows, lambda r, v=variant, b=bases, w=where: convert(r, split, v, b, w),
                           lambda r, i: r.get("id") or f"row {i}")
