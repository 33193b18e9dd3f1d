"""GeoQA and SuperCLEVR counting in the R1-V jsonl layout: `{"image_path", "question", "ground_truth"}`.

Image paths (`./Geo170K/images/test/0.png`) are relative to the jsonl's folder; ids are line numbers.
"""

from __future__ import annotations

from pathlib import Path

from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example
from data_zoo.records import guarded, image_ref, infer_answer_kind, require, resolve_image_path
from data_zoo.registry import register_adapter
from data_zoo.sources import read_json_records

DEFAULT_FILES = {"geoqa": "geoqa_test_prompts.jsonl", "superclevr": "superclevr_test200_counting_problems.jsonl"}


def _jsonl(name: str, root: str | None) -> Path:
    if root is None:
        raise DataError(f"{name} has no hub copy in the R1-V layout: use `{name}:test@FILE.jsonl` or a folder "
                        f"holding {DEFAULT_FILES[name]}")
    path = Path(root)
    if path.is_dir():
        candidates = [path / DEFAULT_FILES[name]] + sorted(path.glob("*.jsonl"))
        path = next((p for p in candidates if p.is_file()), path / DEFAULT_FILES[name])
    return path


def _records(name: str, split: str, root: str | None):
    path = _jsonl(name, root)
    rows = list(enumerate(read_json_records(path)))

    def convert(item) -> Example:
        i, row = item
        where = f"line {i + 1} of {path}"
        answer = str(require(row, "ground_truth", where)).strip()
        image = image_ref(resolve_image_path(str(require(row, "image_path", where)), [path.parent]), where)
        kind = "integer" if name == "superclevr" else infer_answer_kind(answer)
        if kind == "integer" and not answer.lstrip("-").isdigit():
            raise DataError(f"superclevr count {answer!r} is not an integer ({where})")
        return Example(id=str(i), source=name, split=split,
                       question=IMAGE_PLACEHOLDER + str(require(row, "question", where)), answer=answer,
                       answer_kind=kind, images=[image], metadata={"image_path": row["image_path"]})

    return guarded(rows, convert, lambda item, i: str(i))


@register_adapter("geoqa", splits=("test",), role="eval", licence="Apache-2.0 (R1-V)",
                  kinds=("integer", "float", "expression", "text"), needs="R1-V geoqa_test_prompts.jsonl + Geo170K images")
def load_geoqa(split: str, root: str | None, options: dict):
    """GeoQA test (754) in the R1-V layout; answers like "140°" (graded with math-verify)."""
    return _records("geoqa", split, root)


@register_adapter("superclevr", splits=("test",), role="eval", licence="Apache-2.0 (R1-V)", kinds=("integer",),
                  needs="R1-V superclevr_test200_counting_problems.jsonl + images")
def load_superclevr(split: str, root: str | None, options: dict):
    """SuperCLEVR counting (200) in the R1-V layout; integer answers."""
    return _records("superclevr", split, root)
