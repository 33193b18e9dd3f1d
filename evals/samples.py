"""The per-sample JSONL of a run folder: one JSON object per line, one line per (benchmark, problem, sample).

Fields: `benchmark`, `id` (the benchmark's own problem id), `sample` (index within the problem),
`response`, `extracted` (None when no answer was found), `correct`, `path` (grader path), `reason`,
`tokens` (completion length in tokens or None), `finish_reason` ("stop", "length", ... or None).
The generation harness appends to it as samples finish; scoring and `eval compare` read it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

SAMPLES_FILE = "samples.jsonl"
REQUIRED = ("benchmark", "id", "sample", "correct")


def sample_line(benchmark: str, record: dict) -> str:
    """One JSONL line (with newline) for a record; the benchmark name is stored on every line."""
    return json.dumps({"benchmark": benchmark, **record}, ensure_ascii=False) + "\n"


def write_samples(path: str | os.PathLike, records: dict[str, Iterable[dict]]) -> None:
    """Write {benchmark: records} to `path` (replacing it), via a temporary file so a crash leaves no half file."""
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for name, recs in records.items():
            for rec in recs:
                fh.write(sample_line(name, rec))
    os.replace(tmp, path)


def read_samples(path: str | os.PathLike) -> dict[str, list[dict]]:
    """{benchmark: [records]} in file order. A torn last line (killed writer) is an error naming the line."""
    out: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} line {line_no}: not valid JSON ({e})") from e
            if not isinstance(rec, dict):
                raise ValueError(f"{path} line {line_no}: expected a JSON object")
            missing = [k for k in REQUIRED if k not in rec]
            if missing:
                raise ValueError(f"{path} line {line_no}: missing field(s) {', '.join(missing)}")
            rec["id"] = str(rec["id"])
            out.setdefault(str(rec.pop("benchmark")), []).append(rec)
    return out
