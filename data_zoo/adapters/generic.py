"""A user's own data: parquet / jsonl / json files, `save_to_disk` folders, image folders, hub ids.

Columns are found by common names or given as spec options, e.g.
`/data/mine.jsonl?question=prompt&answer=solution&images=img&image_root=/data/imgs`. Images may be paths
(relative to `image_root`, default the file's folder), bytes, or HF image structs; one value or a list.
An image folder is a folder with `metadata.jsonl` whose `file_name` column names the images.
"""

from __future__ import annotations

import math
from pathlib import Path

from data_zoo.example import ANSWER_KINDS, LETTERS, DataError, Example
from data_zoo.records import guarded, image_ref, infer_answer_kind, origin_of, prefix_placeholders
from data_zoo.registry import register_adapter
from data_zoo.sources import (
    hub_rows,
    is_saved_dataset,
    read_json_records,
    read_parquet_rows,
    saved_dataset_rows,
)

DEFAULT_COLUMNS = {
    "question": ("question", "problem", "prompt", "query"),
    "answer": ("answer", "ground_truth", "solution", "label"),
    "images": ("images", "image", "decoded_image", "image_path", "file_name"),
    "choices": ("choices", "options"),
    "id": ("id", "pid", "idx", "_key"),
}
OPTION_KEYS = {"question", "answer", "images", "choices", "id", "answer_kind", "image_root", "split", "hub_id",
               "source"}


def _column(row: dict, role: str, options: dict) -> str | None:
    """The column holding `role` in this row: the user's mapping if given, else the first default present."""
    if role in options:
        return options[role]
    return next((c for c in DEFAULT_COLUMNS[role] if c in row), None)


def _rows(root: Path | None, options: dict):
    """(rows, image folder, name) for any local form or a hub id."""
    split = options.get("split", "train")
    if root is None:
        hub_id = options["hub_id"]
        return hub_rows(hub_id, split, f"DIR?split={split}"), None, hub_id
    if is_saved_dataset(root):
        return saved_dataset_rows(root, split), root, str(root)
    if root.is_dir():
        if (root / "metadata.jsonl").is_file():
            return iter(read_json_records(root / "metadata.jsonl")), root, str(root)
        files = sorted(root.rglob("*.parquet"))
        if not files:
            raise DataError(f"{root}: no metadata.jsonl, parquet files or save_to_disk data in this folder")
        return read_parquet_rows(files), root, str(root)
    if root.suffix == ".parquet":
        return read_parquet_rows([root]), root.parent, str(root)
    if root.suffix in (".jsonl", ".json"):
        return iter(read_json_records(root)), root.parent, str(root)
    raise DataError(f"{root}: unsupported file type {root.suffix!r} (use .parquet, .jsonl, .json or a folder)")


def convert(row: dict, index: int, options: dict, image_root, name: str, split: str) -> Example:
    where = f"row {index} of {origin_of(row, name)}"
    cols = {role: _column(row, role, options) for role in DEFAULT_COLUMNS}
    for role in ("question", "answer"):
        if cols[role] is None or row.get(cols[role]) is None:
            raise DataError(f"missing {role} column {cols[role] or DEFAULT_COLUMNS[role]} in {where}")
    raw_images = row.get(cols["images"]) if cols["images"] else None
    values = raw_images if isinstance(raw_images, list) else ([] if raw_images is None else [raw_images])
    base = options.get("image_root", image_root)
    images = [image_ref(v, f"{where} image {i}", base) for i, v in enumerate(values)]
    answer = _answer_text(row[cols["answer"]], where)
    choices = _choices(row.get(cols["choices"]) if cols["choices"] else None, where)
    letter = None
    kind = options.get("answer_kind")
    if kind is not None and kind not in ANSWER_KINDS:
        raise DataError(f"answer_kind option {kind!r} not in {ANSWER_KINDS}")
    if choices and (kind in (None, "choice")):
        if answer in choices:
            letter = LETTERS[choices.index(answer)]
        elif len(answer) == 1 and answer.upper() in LETTERS[: len(choices)]:
            letter, answer = answer.upper(), choices[LETTERS.index(answer.upper())]
        elif len(answer) == 1 and answer.upper() in LETTERS:
            raise DataError(f"gold letter {answer!r} but only {len(choices)} choices "
                            f"({', '.join(LETTERS[: len(choices)])}) in {where}")
        else:
            raise DataError(f"answer {answer!r} is not one of the choices {choices} nor an option letter in {where}; "
                            "fix the record, or pass answer_kind=KIND in the spec for a free-form answer")
        kind = "choice"
    rid = row.get(cols["id"]) if cols["id"] else None
    return Example(
        id=str(index if rid is None else rid), source=options.get("source", "generic"), split=split,
        question=prefix_placeholders(str(row[cols["question"]]), len(images)), answer=answer,
        answer_kind=kind or infer_answer_kind(answer), choices=choices, gold_letter=letter, images=images,
        metadata={},
    )


def _answer_text(value, where: str) -> str:
    """The gold answer as text: strings and finite numbers; anything else names the record."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, list)):
        raise DataError(f"answer must be a text or a number, got {type(value).__name__} {value!r} in {where}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"answer must be a finite number, got {value!r} in {where}")
    return str(value).strip()


def _choices(value, where: str) -> list[str] | None:
    """Option texts in letter order, or None. A string is refused: `"ABCD"` is not four options."""
    if value is None or (hasattr(value, "__len__") and not isinstance(value, (str, dict)) and len(value) == 0):
        return None
    if isinstance(value, str):
        raise DataError(f"choices must be a list of option texts, got the string {value[:60]!r} in {where}")
    if not isinstance(value, (list, tuple)):
        raise DataError(f"choices must be a list of option texts, got {type(value).__name__} in {where}")
    bad = [c for c in value if isinstance(c, bool) or not isinstance(c, (str, int, float))]
    if bad:
        raise DataError(f"choices must be texts or numbers, got {bad[0]!r} in {where}")
    texts = [str(c).strip() for c in value]
    if len(texts) < 2 or not all(texts):
        raise DataError(f"choices must be at least 2 non-empty option texts, got {texts} in {where}")
    return texts


@register_adapter("generic", role="any", kinds=("choice", "integer", "float", "expression", "list", "text"),
                  needs="a parquet/jsonl/json file, image folder (metadata.jsonl), save_to_disk "
                  "folder or hub id; options map columns: question, answer, images, choices, id, image_root")
def load(split: str, root: str | None, options: dict):
    """Your own data with a column mapping (question, answer, images, choices, id)."""
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise DataError(f"unknown generic options {sorted(unknown)}; known: {sorted(OPTION_KEYS)}")
    options = dict(options, split=split)
    rows, image_root, name = _rows(Path(root) if root else None, options)
    return guarded(enumerate(rows), lambda item: convert(item[1], item[0], options, image_root, name, split),
                   lambda item, i: _record_id(item[1], i, options))


def _record_id(row, index: int, options: dict) -> str:
    """The id a bad row is reported under: its own id when it has a usable one, else `row N`."""
    col = _column(row, "id", options) if isinstance(row, dict) else None
    value = row.get(col) if col else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else f"row {index}"
