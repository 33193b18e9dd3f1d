"""Reading rows from where datasets live: JSON / JSONL files, parquet files, `save_to_disk` folders, the hub.

Every reader yields plain dicts; image columns stay undecoded (`{"bytes", "path"}` structs) so that
loading a large set costs encoded bytes, not decoded pixels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from data_zoo.example import DataError


def read_json_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a `.json` (list of objects, or object keyed by id) or `.jsonl` file.

    For an object keyed by id the key is kept as `_key`. Raises DataError naming the file (and line).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte offset {e.start}: {e.reason}); "
                        "re-save the file as UTF-8") from None
    if path.suffix == ".jsonl":
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(f"invalid JSON at {path}:{lineno}: {e}") from e
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"invalid JSON in {path}: {e}") from e
    if isinstance(data, dict):
        return [dict(v, _key=k) if isinstance(v, dict) else {"_key": k, "_value": v} for k, v in data.items()]
    if isinstance(data, list):
        return data
    raise DataError(f"{path}: expected a JSON list or object of records, got {type(data).__name__}")


def read_parquet_rows(paths: list[Path]) -> Iterator[dict[str, Any]]:
    """Rows of parquet files in order, one record batch at a time; each row gets `_file` and `_row`."""
    import pyarrow.parquet as pq

    for path in paths:
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for a truncated / non-parquet file
            raise DataError(f"unreadable parquet file {path}: {e}") from e
        row = 0
        for batch in pf.iter_batches(batch_size=256):
            for rec in batch.to_pylist():
                rec["_file"], rec["_row"] = str(path), row
                row += 1
                yield rec


def table_metadata(path: Path) -> dict[bytes, bytes]:
    """Key-value schema metadata of a parquet file (empty dict when none)."""
    import pyarrow.parquet as pq

    return dict(pq.read_schema(path).metadata or {})


def is_saved_dataset(path: Path) -> bool:
    """True for a folder written by `datasets.Dataset.save_to_disk` / `DatasetDict.save_to_disk`."""
    return path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file())


def _rows_of(ds, origin: str) -> Iterator[dict[str, Any]]:
    """Rows of a `datasets.Dataset` with images left encoded (read from its arrow table, not decoded)."""
    table = ds.with_format("arrow")[:]
    row = 0
    for batch in table.to_batches(max_chunksize=256):
        for rec in batch.to_pylist():
            rec["_file"], rec["_row"] = origin, row
            row += 1
            yield rec


def saved_dataset_rows(path: Path, split: str | None) -> Iterator[dict[str, Any]]:
    """Rows of a `save_to_disk` folder; a DatasetDict needs `split` (DataError listing the splits otherwise)."""
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"unknown split {split!r} in {path}; available: {sorted(ds)}")
        ds = ds[split]
    return _rows_of(ds, str(path))


def download_hint(hub_id: str, local_spec: str) -> str:
    """The sentence telling a user what to download and which spec to use afterwards."""
    return (f"download it once with `huggingface-cli download --repo-type dataset {hub_id} --local-dir DIR` "
            f"and then use the spec `{local_spec}`")


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE or HF_DATASETS_OFFLINE asks for no network."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_rows(hub_id: str, split: str, local_spec: str, config: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a hub dataset split; offline (HF_HUB_OFFLINE=1 or no connection) a DataError says what to do."""
    if hub_offline():
        raise DataError(f"cannot load {hub_id} from the Hugging Face Hub: offline mode is set "
                        f"(HF_HUB_OFFLINE); {download_hint(hub_id, local_spec)}")
    import datasets

    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except ValueError as e:  # datasets reports an unknown split as ValueError
        if "split" in str(e).lower():
            raise DataError(f"unknown split {split!r} for {hub_id}: {e}") from e
        raise
    except Exception as e:  # connection errors come from requests, httpx and huggingface_hub alike
        raise DataError(f"cannot load {hub_id} from the Hugging Face Hub ({type(e).__name__}: {e}); "
                        f"{download_hint(hub_id, local_spec)}") from e
    return _rows_of(ds, f"{hub_id}:{split}")


def split_parquet_files(root: Path, split: str) -> list[Path]:
    """Parquet files of `split` under `root` in hub layout (`data/test-00000-of-00001.parquet`,
    `test.parquet`, `test/*.parquet`), sorted; empty when there are none."""
    found = []
    for p in sorted(root.rglob("*.parquet")):
        stem = p.name[: -len(".parquet")]
        if stem == split or stem.startswith(split + "-") or p.parent.name == split:
            found.append(p)
    return found


def upstream_rows(root: str | None, split: str, json_names: list[str], hub_id: str, local_spec: str,
                  config: str | None = None) -> tuple[Iterator[dict[str, Any]], list[Path]]:
    """(rows, image base folders) for a benchmark split: the hub when `root` is None, else the GitHub
    JSON release (first of `json_names` under root that exists) or the hub parquet layout under root."""
    if root is None:
        return hub_rows(hub_id, split, local_spec, config), []
    base = Path(root)
    if base.is_file():
        rows = read_parquet_rows([base]) if base.suffix == ".parquet" else iter(read_json_records(base))
        return rows, [base.parent, base.parent / "images"]
    if not base.is_dir():
        raise DataError(f"data folder not found: {base}")
    for name in json_names:
        if (base / name).is_file():
            return iter(read_json_records(base / name)), [(base / name).parent, base, base / "images"]
    files = split_parquet_files(base, split)
    if not files:
        raise DataError(f"no {split!r} data under {base}: expected one of {json_names} or hub parquet files "
                        f"named {split}-*.parquet (unknown split, or the wrong folder)")
    return read_parquet_rows(files), [base, base / "images"]
