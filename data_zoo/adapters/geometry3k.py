"""Geometry3K: the hub parquet (`hiyouga/geometry3k`) and the raw Inter-GPS release, to the same records.

Both become free-form problems graded against the VALUE of the right choice (as EasyR1 and the hub copy
do); the four choices and the gold letter, when known, stay in metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from data_zoo.example import IMAGE_PLACEHOLDER, LETTERS, DataError, Example
from data_zoo.records import (
    guarded,
    image_ref,
    infer_answer_kind,
    letter_choice,
    origin_of,
    prefix_placeholders,
    require,
)
from data_zoo.registry import register_adapter
from data_zoo.sources import hub_rows, read_parquet_rows, split_parquet_files

HUB_ID = "hiyouga/geometry3k"
RAW_SPLIT_DIRS = {"train": "train", "validation": "val", "test": "test"}


def _example(rid: str, split: str, question: str, answer: str, images, choices, extra: dict) -> Example:
    meta = dict(extra)
    if choices:
        meta["choices"] = list(choices)
        if answer in choices:
            meta["gold_letter"] = LETTERS[list(choices).index(answer)]
    return Example(id=rid, source="geometry3k", split=split, question=question, answer=answer,
                   answer_kind=infer_answer_kind(answer), images=images, metadata=meta)


def _from_hub_row(row: dict, split: str) -> Example:
    where = origin_of(row, "geometry3k")
    rid = str(row["id"]) if row.get("id") is not None else str(row["_row"])
    images = require(row, "images", where)
    refs = [image_ref(v, f"{where} image {i}") for i, v in enumerate(images if isinstance(images, list) else [images])]
    question = prefix_placeholders(str(require(row, "problem", where)), len(refs))
    return _example(rid, split, question, str(require(row, "answer", where)).strip(), refs, row.get("choices"), {})


def _from_raw_dir(folder: Path, split: str) -> Example:
    data_file = folder / "data.json"
    if not data_file.is_file():
        raise DataError(f"missing {data_file}")
    try:
        data = json.loads(data_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"invalid JSON in {data_file}: {e}") from e
    where = str(data_file)
    choices = [str(c) for c in require(data, "choices", where)]
    answer, _ = letter_choice(str(require(data, "answer", where)), choices, where)
    question = IMAGE_PLACEHOLDER + str(require(data, "annotat_text", where)).strip()
    image = image_ref(str(folder / "img_diagram.png"), where)
    extra = {k: data[k] for k in ("problem_type_graph", "problem_type_goal") if k in data}
    return _example(str(data.get("id", folder.name)), split, question, answer, [image], choices, extra)


def _raw_folders(root: Path, split: str) -> list[Path]:
    base = root / RAW_SPLIT_DIRS[split]
    folders = [p for p in base.iterdir() if p.is_dir()]
    return sorted(folders, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


@register_adapter("geometry3k", splits=tuple(RAW_SPLIT_DIRS), default_split="test", hub_id=HUB_ID,
                  role="train/eval", licence="MIT (Inter-GPS)", kinds=("integer", "float", "expression"),
                  needs="hub parquet (images, problem, answer) or Inter-GPS {train,val,test}/<id>/data.json + img_diagram.png")
def load(split: str, root: str | None, options: dict):
    """Geometry3K (2101/300/601 geometry problems, free-form value answers)."""
    if root is None:
        rows = hub_rows(HUB_ID, split, f"geometry3k:{split}@DIR")
        return guarded(rows, lambda r: _from_hub_row(r, split), lambda r, i: r.get("id", f"row {i}"))
    base = Path(root)
    if (base / RAW_SPLIT_DIRS[split]).is_dir() and not split_parquet_files(base, split):
        return guarded(_raw_folders(base, split), lambda f: _from_raw_dir(f, split), lambda f, i: f.name)
    files = [base] if base.suffix == ".parquet" else split_parquet_files(base, split)
    if not files:
        raise DataError(f"no geometry3k {split!r} data under {base}: expected {RAW_SPLIT_DIRS[split]}/<id>/data.json "
                        f"(Inter-GPS) or {split}-*.parquet (hub layout)")
    return guarded(read_parquet_rows(files), lambda r: _from_hub_row(r, split), lambda r, i: r.get("id", f"row {i}"))
