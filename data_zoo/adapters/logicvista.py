"""LogicVista: 448 visual logical-reasoning questions (inductive, deductive, numerical, spatial,
mechanical) from the GitHub release `data/dataset.json` + `data/images/`.

`dataset.json` is an object keyed by id (`v1_0`) with `imagename`, `question`, `answer`, `reasoning`,
`skill` (list), `capability` (list), `imagesource`. The options are drawn in the image: a lone letter
answer is a choice question whose gold is the letter; several letters ("A, C") must all be named and
are kept as a `list` answer; a number is free-form.
"""

from __future__ import annotations

import re

from data_zoo.example import IMAGE_PLACEHOLDER, DataError, Example
from data_zoo.records import guarded, image_ref, infer_answer_kind, letter_choice, require, resolve_image_path
from data_zoo.registry import register_adapter
from data_zoo.sources import upstream_rows

_LETTERS = re.compile(r"^[A-I](\s*,\s*[A-I])+$")


def convert(row: dict, bases: list, source: str) -> Example:
    rid = str(require(row, "_key", source))
    where = f"{rid} in {source}"
    gold = str(require(row, "answer", where)).strip()
    choices = letter = None
    if len(gold) == 1 and gold.isalpha():
        answer, letter = letter_choice(gold, None, where)
        kind = "choice"
    elif _LETTERS.match(gold):
        answer, kind = "[" + ", ".join(x.strip() for x in gold.split(",")) + "]", "list"
    else:
        answer, kind = gold, infer_answer_kind(gold)
    image = image_ref(resolve_image_path(str(require(row, "imagename", where)), bases), where)
    skills, caps = row.get("skill") or [], row.get("capability") or []
    if not isinstance(skills, list) or not isinstance(caps, list):
        raise DataError(f"skill / capability must be lists ({where})")
    return Example(id=rid, source="logicvista", split="test",
                   question=IMAGE_PLACEHOLDER + str(require(row, "question", where)), answer=answer, answer_kind=kind,
                   choices=choices, gold_letter=letter, images=[image],
                   metadata={"skill": skills[0] if skills else None, "skills": skills, "capability": caps,
                             "imagesource": row.get("imagesource"), "reasoning": row.get("reasoning")})


@register_adapter("logicvista", splits=("test",), role="eval", licence="see upstream repo",
                  kinds=("choice", "list", "integer", "text"), subsets=("skill", "capability"),
                  needs="GitHub data/dataset.json + data/images/ (Yijia-Xiao/LogicVista)")
def load(split: str, root: str | None, options: dict):
    """LogicVista: logical reasoning in visual contexts, 5 skills x 9 capabilities, options in the image."""
    if root is None:
        raise DataError("LogicVista has no hub copy in its release layout: `git clone "
                        "https://github.com/Yijia-Xiao/LogicVista` and use the spec `logicvista:test@CLONE`")
    rows, bases = upstream_rows(root, split, ["data/dataset.json", "dataset.json"], "", "")
    bases = [b / "images" for b in bases] + list(bases) + [b / "data" / "images" for b in bases]
    return guarded(rows, lambda r: convert(r, bases, f"{root}"), lambda r, i: r.get("_key") or f"row {i}")
