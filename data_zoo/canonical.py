"""The canonical parquet: every Example field as a column, images as a `datasets` Image list.

`datasets.load_dataset("parquet", data_files=PATH)` reads it (the schema carries the `huggingface`
features metadata), and `load_dataset(PATH)` here gives back the same Examples (images as bytes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from data_zoo.example import DataError, Example
from data_zoo.records import RecordError, guarded, image_ref
from data_zoo.registry import register_adapter
from data_zoo.sources import read_parquet_rows

COLUMNS = ("id", "source", "split", "question", "answer", "answer_kind", "choices", "gold_letter", "precision",
           "unit", "images", "metadata")


def _features():
    from datasets import Features, Image, List, Value

    return Features({
        "id": Value("string"), "source": Value("string"), "split": Value("string"),
        "question": Value("string"), "answer": Value("string"), "answer_kind": Value("string"),
        "choices": List(Value("string")), "gold_letter": Value("string"), "precision": Value("int64"),
        "unit": Value("string"), "images": List(Image()), "metadata": Value("string"),
    })


def _image_struct(ref) -> dict:
    """Encoded bytes of an ImageRef (read from its file, never decoded), as a HF image struct."""
    if ref.data is not None:
        return {"bytes": ref.data, "path": None}
    try:
        return {"bytes": Path(ref.path).read_bytes(), "path": Path(ref.path).name}
    except OSError as e:
        raise DataError(f"image file not found: {ref.path}") from e


def _row(ex: Example) -> dict:
    try:
        images = [_image_struct(r) for r in ex.images]
    except DataError as e:
        raise DataError(f"record {ex.uid}: {e}") from e
    return {"id": str(ex.id), "source": ex.source, "split": ex.split, "question": ex.question,
            "answer": ex.answer, "answer_kind": ex.answer_kind, "choices": ex.choices,
            "gold_letter": ex.gold_letter, "precision": ex.precision, "unit": ex.unit, "images": images,
            "metadata": json.dumps(ex.metadata, ensure_ascii=False, sort_keys=True)}


def export_parquet(examples: Iterable[Example], path: str | Path, batch_size: int = 256) -> int:
    """Write examples to a canonical parquet file, `batch_size` rows at a time; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    features = _features()
    schema = features.arrow_schema.with_metadata(
        {"huggingface": json.dumps({"info": {"features": features.to_dict()}}), "uec_vlm": "canonical-v1"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count, batch = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for ex in examples:
            batch.append(_row(ex))
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def is_canonical(path: Path) -> bool:
    """True for a parquet file written by `export_parquet`."""
    if path.suffix != ".parquet" or not path.is_file():
        return False
    from data_zoo.sources import table_metadata

    try:
        return table_metadata(path).get(b"uec_vlm") == b"canonical-v1"
    except Exception:  # not readable as parquet: let the generic reader report it with its own message
        return False


def _from_row(row: dict) -> Example:
    where = f"{row['_file']}:{row['_row']}"
    missing = [c for c in ("id", "source", "split", "question", "answer", "answer_kind") if row.get(c) is None]
    if missing:
        raise DataError(f"missing fields {missing} at {where}")
    return Example(
        id=row["id"], source=row["source"], split=row["split"], question=row["question"], answer=row["answer"],
        answer_kind=row["answer_kind"], choices=row["choices"], gold_letter=row["gold_letter"],
        precision=row["precision"], unit=row["unit"],
        images=[image_ref(v, f"{where} image {i}") for i, v in enumerate(row["images"] or [])],
        metadata=json.loads(row["metadata"] or "{}"),
    )


@register_adapter("canonical", role="any", kinds=("choice", "integer", "float", "expression", "list", "text"),
                  needs="a parquet file written by `uec-vlm data export`")
def load(split: str, root: str | None, options: dict) -> Iterable[Example | RecordError]:
    """A canonical export; `?split=NAME` keeps only records of that split."""
    if root is None:
        raise DataError("the canonical adapter needs a file: `canonical:@out.parquet` or just `out.parquet`")
    rows = read_parquet_rows([Path(root)])
    return (item for item in guarded(rows, _from_row, lambda r, i: r.get("id") or f"row {i}")
            if not split or isinstance(item, RecordError) or item.split == split)
