"""We-Math testmini (1740 rows = 525 problems): hub parquet and GitHub `data/testmini.json` + image folders.

A row's id is `ID/key` (rows of one problem share `ID`; `key` is the step, e.g. 2steps_1, 2steps_multi),
and both are kept in metadata for the 4-D metrics. `option` is ONE string ("A. ...;B. ...") that
upstream does not always separate cleanly, so options are found as consecutive letter markers.
"""

from __future__ import annotations

import re

from data_zoo.example import IMAGE_PLACEHOLDER, LETTERS, DataError, Example
from data_zoo.records import guarded, letter_choice, origin_of, require, row_image
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

HUB_ID = "We-Math/We-Math"


def split_options(option: str, where: str) -> list[str]:
    """Option texts of a We-Math `option` string, in letter order.

    A marker is the next expected letter followed by "." or "．", at the start or after ";" / a space,
    and not followed by only spaces and ";" (which is how stray ";C.;" fragments inside options look).
    """
    starts: list[tuple[int, int]] = []
    pos = 0
    for letter in LETTERS[:8]:
        pat = re.compile(rf"(?:^|(?<=[;\s])){letter}[.．](?!\s*;)")
        m = pat.search(option, pos)
        if not m:
            break
        starts.append((m.start(), m.end()))
        pos = m.end()
    if len(starts) < 2 or option[: starts[0][0]].strip(" ;"):
        raise DataError(f"cannot split option string {option!r} into lettered options ({where})")
    ends = [s for s, _ in starts[1:]] + [len(option)]
    return [option[e0:e1].strip().strip(";").strip() for (_, e0), e1 in zip(starts, ends)]


def convert(row: dict, split: str, bases: list, source_file: str) -> Example:
    pid, key = str(require(row, "ID", source_file)), str(require(row, "key", source_file))
    where = f"ID {pid} key {key} in {origin_of(row, source_file)}"
    choices = split_options(str(require(row, "option", where)), where)
    answer, letter = letter_choice(str(require(row, "answer", where)), choices, where)
    return Example(
        id=f"{pid}/{key}", source="wemath", split=split,
        question=IMAGE_PLACEHOLDER + str(require(row, "question", where)), answer=answer, answer_kind="choice",
        choices=choices, gold_letter=letter, images=[row_image(row, ("image_path",), bases, where)],
        metadata={"ID": pid, "key": key, "question number": row.get("question number"),
                  "knowledge concept": row.get("knowledge concept")},
    )


@register_adapter("wemath", splits=("testmini",), hub_id=HUB_ID, role="eval", licence="CC BY-NC 4.0",
                  kinds=("choice",), subsets=("knowledge concept", "key"),
                  needs="hub parquet, or GitHub data/testmini.json + 2steps/ 3steps/ image folders")
def load(split: str, root: str | None, options: dict):
    """We-Math: multi-step problems grouped by ID with step keys, for the 4-D (IK/IG/CM/RM) metrics."""
    rows, bases = upstream_rows(root, split, [f"data/{split}.json", f"{split}.json"], HUB_ID,
                                f"wemath:{split}@DIR")
    where = f"{root or HUB_ID} ({split})"
    return guarded(rows, lambda r: convert(r, split, bases, where),
                   lambda r, i: f"{r.get('ID')}/{r.get('key')}" if r.get("ID") else f"row {i}")
