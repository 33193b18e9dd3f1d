"""ViRL39K (VL-Rethinker): 38,870 verifiable RL problems, some with several images, some text-only.

Published as one `39Krelease.parquet` (columns `qid`, `question` with one `<image>` per image in order,
`answer` as `\\boxed{...}`, `image`: a list of paths like `images/<qid>-0.jpg`, `category`, `source`,
`PassRate_32BTrained`, `PassRate_7BUntrained`) next to `images.zip`. The images are not in the parquet
(`datasets.load_dataset` on the repo would build an image folder without any text), so without `@DIR` the
adapter fetches the parquet and the zip once and unzips it beside the parquet (`hub_files.hub_release`).
"""

from __future__ import annotations

from pathlib import Path

from data_zoo.adapters.answers import classify
from data_zoo.adapters.hub_files import hub_release
from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example
from data_zoo.records import guarded, image_ref, origin_of, require, resolve_image_path
from data_zoo.registry import register_adapter
from data_zoo.sources import read_parquet_rows

HUB_ID = "TIGER-Lab/ViRL39K"
PARQUET = "39Krelease.parquet"


def unbox(answer: str) -> str:
    """The content of an answer that is exactly one `\\boxed{...}` (braces balanced), else the answer."""
    text = answer.strip()
    if not text.startswith("\\boxed{"):
        return text
    depth = 0
    for i in range(len("\\boxed"), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[len("\\boxed{"):i].strip() if i == len(text) - 1 else text
    return text


def convert(row: dict, split: str, base: Path, source: str) -> Example:
    rid = str(require(row, "qid", source))
    where = f"qid {rid} in {origin_of(row, source)}"
    paths = row.get("image")
    paths = [] if paths is None else ([paths] if isinstance(paths, str) else list(paths))
    question = str(require(row, "question", where))
    if IMAGE_PLACEHOLDER not in question:  # a question without tags but with images: images first, in order
        question = IMAGE_PLACEHOLDER * len(paths) + question
    answer, kind, choices, letter = classify(question, unbox(str(require(row, "answer", where))), where)
    images = [image_ref(resolve_image_path(str(p), [base]), f"{where} image {k}") for k, p in enumerate(paths)]
    meta = {k: row.get(k) for k in ("category", "source", "PassRate_32BTrained", "PassRate_7BUntrained")}
    return Example(id=rid, source="virl39k", split=split, question=question, answer=answer, answer_kind=kind,
                   choices=choices, gold_letter=letter, images=images, metadata=meta)


@register_adapter("virl39k", splits=("train",), hub_id=HUB_ID, role="train", licence="MIT (card)",
                  kinds=("choice", "integer", "float", "expression", "list", "text"), subsets=("category", "source"),
                  needs=f"{PARQUET} + images/ unzipped from images.zip in the same folder (multi-image rows); "
                        "without @DIR both are fetched once into $UEC_VLM_DATA")
def load(split: str, root: str | None, options: dict):
    """ViRL39K: 38,870 curated verifiable problems (8 categories, pass-rate annotations), multi-image."""
    path = Path(root) if root is not None else hub_release(HUB_ID, [PARQUET, "images.zip"], "virl39k:train@DIR")
    parquet = path if path.is_file() else path / PARQUET
    if not parquet.is_file():
        raise DataError(f"ViRL39K file not found: {parquet} (the release's {PARQUET})")
    where = f"{parquet} ({split})"
    return guarded(read_parquet_rows([parquet]), lambda r: convert(r, split, parquet.parent, where),
                   lambda r, i: r.get("qid") or f"row {i}")
