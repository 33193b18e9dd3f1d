"""Geo170K (G-LLaVA): geometry QA in LLaVA conversation form, `qa_tuning` (117K) and `alignment` (60K).

Published as `qa_tuning.json` / `alignment.json` (lists of `{"image": "geoqa_plus/12.png", "conversations":
[{"from": "human", "value": "<image>\\n...Question: ...\\nChoices:\\nA:40°\\n..."}, {"from": "gpt",
"value": "... Answer:C"}]}`) next to `images.zip` (unzipped: `images/geo3k/`, `images/geoqa_plus/`), and as
hub parquet with the same two columns (image paths only: the pictures exist only in `images.zip`). Without
`@DIR` the adapter fetches `{split}.json` + `images.zip` once and unzips them (`hub_files.hub_release`). The first human turn is the question with the G-LLaVA answer-format
instruction removed (the prompt template says how to answer); the gold is the final `Answer:` of the
first gpt turn, an option letter turned into its option text when the question lists the options.
Alignment rows are captions without a checkable answer: only `qa_tuning` is a split here.
"""

from __future__ import annotations

import re
from pathlib import Path

from data_zoo.adapters.answers import classify
from data_zoo.adapters.hub_files import hub_release
from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example
from data_zoo.records import guarded, image_ref, origin_of, prefix_placeholders, require, resolve_image_path
from data_zoo.registry import register_adapter
from data_zoo.sources import read_json_records, read_parquet_rows, split_parquet_files

HUB_ID = "Luckyjhg/Geo170K"
_FINAL = re.compile(r"Answer\s*[:：]\s*(.+?)\s*\.?\s*$", re.IGNORECASE)
_OPTION = re.compile(r"answer is (?:option )?\(?([A-E])\)?\b")


def final_answer(reply: str) -> str | None:
    """The gold of a G-LLaVA reply: the text after its last `Answer:`, else "the answer is (option) X"."""
    last = reply.strip().splitlines()[-1] if reply.strip() else ""
    m = _FINAL.search(last)
    if m:
        return m[1].strip()
    found = _OPTION.findall(reply)
    return found[-1] if found else None


def _question(text: str) -> tuple[str, bool]:
    """(question without G-LLaVA's answer-format instruction, whether one was removed)."""
    body = text.replace(IMAGE_PLACEHOLDER, "").strip()
    head, sep, rest = body.partition("Question:")
    if sep and "format" in head.lower():
        return rest.strip(), True
    return body, False


def _rows(root: str | None, split: str):
    base = Path(root) if root is not None else hub_release(HUB_ID, [f"{split}.json", "images.zip"],
                                                           f"geo170k:{split}@DIR")
    if base.is_file():
        return iter(read_json_records(base)), [base.parent, base.parent / "images"]
    if (base / f"{split}.json").is_file():
        return iter(read_json_records(base / f"{split}.json")), [base / "images", base]
    files = split_parquet_files(base, split)
    if not files:
        raise DataError(f"no Geo170K {split!r} data under {base}: expected {split}.json or data/{split}-*.parquet")
    return read_parquet_rows(files), [base / "images", base]


@register_adapter("geo170k", splits=("qa_tuning",), hub_id=HUB_ID, role="train", licence="not stated on card",
                  kinds=("choice", "integer", "float", "expression", "text"), subsets=("image_set",),
                  needs="qa_tuning.json (or hub data/qa_tuning-*.parquet) + images/ unzipped from images.zip; without @DIR "
                        "both are fetched once into $UEC_VLM_DATA")
def load(split: str, root: str | None, options: dict):
    """Geo170K (G-LLaVA) QA tuning: 117K geometry QA pairs built from GeoQA+ and Geometry3K."""
    rows, bases = _rows(root, split)
    where = f"{root or HUB_ID} ({split})"

    def convert(item) -> Example:
        i, row = item
        at = f"row {i} of {origin_of(row, where)}"
        turns = require(row, "conversations", at)
        human = next((t["value"] for t in turns if t.get("from") == "human"), None)
        reply = next((t["value"] for t in turns if t.get("from") == "gpt"), None)
        if human is None or reply is None:
            raise DataError(f"conversation without a human and a gpt turn ({at})")
        gold = final_answer(reply)
        if not gold:
            raise DataError(f"no final 'Answer:' in the gpt turn ({at})")
        question, dropped = _question(human)
        answer, kind, choices, letter = classify(question, gold, at)
        rel = str(require(row, "image", at))
        image = image_ref(resolve_image_path(rel, bases), at)
        return Example(id=str(row.get("id", i)), source="geo170k", split=split,
                       question=prefix_placeholders(question, 1), answer=answer, answer_kind=kind, choices=choices,
                       gold_letter=letter, images=[image],
                       metadata={"image_set": rel.split("/")[0], "image": rel, "instruction_removed": dropped})

    return guarded(enumerate(rows), convert, lambda item, i: str(i))
