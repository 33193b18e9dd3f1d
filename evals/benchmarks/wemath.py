"""We-Math (testmini): the official letter rule, the 4-D metrics and plain row accuracy, both labelled.

Letter (mode "official"): the first character after the last "Answer" (all of "<>:." removed, spaces
stripped) when it is one of A-H (upstream `load_and_process_data`), nothing else.
Mode "boxed" (not official, labelled so): a last `\\boxed{X}` (or `<answer>X</answer>`) holding a single
letter A-H is read first, since the project's prompts ask for a boxed answer; then the official rule.

4-D metrics (upstream `four_dimensional_metrics.py`): rows grouped by `ID`; steps are the `*_1/_2/_3` rows,
multi the `*_multi` row of a problem.
  IK: some step wrong and multi wrong;         IG: all steps right and multi wrong
  CM strict: all steps right and multi right;  CM loose: any step right and multi right
  RM strict: some step wrong and multi right;  RM loose: all steps wrong and multi right
  Score = (N - 0.5 IG - RM - IK) / N, strict and loose, with N = 525 problems on the full testmini
  (upstream hard-codes 525; here N = the number of complete problems scored). IK/IG/CM rates are over N,
  RM rates over CM + RM, as upstream.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evals.benchmarks import metadata_subsets

LABEL = "official letter rule; 4-D metrics (official) and plain row accuracy (RL papers), labelled"
BOXED_LABEL = "NON-OFFICIAL reader (boxed / <answer> letter, then the official rule); 4-D metrics and row accuracy"
SUBSET_KEYS = ("key",)
LETTERS = "ABCDEFGH"
_STRIP = re.compile(r"[><:.]")
_KEY = re.compile(r"^(\d)steps_(\d|multi)$")
_SINGLE_LETTER = re.compile(r"\(?([A-H])\)?\.?")


def label(mode: str) -> str:
    return BOXED_LABEL if mode == "boxed" else LABEL


def extract_letter(response: str, mode: str = "official") -> tuple[str | None, str]:
    """(letter or None, path): the official rule; in mode "boxed" a boxed / tagged letter first."""
    if mode == "boxed":
        from uec_vlm.rewards.extract import extract_answer

        ex = extract_answer(response, paths=("answer_tag", "boxed"))
        if ex.text is not None:
            m = _SINGLE_LETTER.fullmatch(ex.text.strip())
            if m:
                return m.group(1), ex.path
    tail = _STRIP.sub("", response.split("Answer")[-1].strip()).strip()
    if tail and tail[0] in LETTERS:
        return tail[0], "official_answer"
    return None, "none"


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    from uec_vlm.rewards import Grade

    gold = example.gold_letter or example.answer
    if extracted:  # an extraction step's output: its letter, read with the same rule as a bare answer
        text = response.strip().strip("()<>:. ")
        letter, path = (text[0], "extracted") if text[:1] in LETTERS and len(text) == 1 else (None, "extracted")
    else:
        letter, path = extract_letter(response, mode)
    correct = letter is not None and letter == gold
    return Grade(correct=correct, extracted=letter, path=f"wemath:{path}", reason=f"letter {letter!r}; gold {gold!r}")


def subset_keys(example) -> dict[str, str | list[str]]:
    return metadata_subsets(example, SUBSET_KEYS)


def _group_key(example) -> tuple[str, int, str]:
    """(problem ID, number of steps, row role "1"/"2"/"3"/"multi") from the metadata; error names the record."""
    problem, key = example.metadata.get("ID"), example.metadata.get("key")
    m = _KEY.match(str(key)) if key is not None else None
    if problem is None or m is None:
        raise ValueError(f"wemath record {example.id}: metadata needs `ID` and a `key` like 2steps_1 / 3steps_multi")
    return str(problem), int(m.group(1)), m.group(2)


def four_dimensional(rows: Sequence[tuple[str, int, str, bool]]) -> dict:
    """4-D counts, rates and scores. rows: (problem ID, steps, role, correct) for one sample per row."""
    groups: dict[str, dict] = {}
    for problem, steps, role, correct in rows:
        g = groups.setdefault(problem, {"steps": steps, "rows": {}})
        if g["steps"] != steps:
            raise ValueError(f"wemath problem {problem}: rows disagree on the number of steps")
        if role in g["rows"]:
            raise ValueError(f"wemath problem {problem}: duplicate row {steps}steps_{role}")
        g["rows"][role] = bool(correct)
    counts = dict.fromkeys(("IK", "IG", "CM_strict", "CM_loose", "RM_strict", "RM_loose"), 0)
    complete = 0
    for g in groups.values():
        needed = [str(i) for i in range(1, g["steps"] + 1)] + ["multi"]
        if any(r not in g["rows"] for r in needed):
            continue
        complete += 1
        step = [g["rows"][str(i)] for i in range(1, g["steps"] + 1)]
        multi = g["rows"]["multi"]
        if multi:
            counts["CM_strict"] += all(step)
            counts["CM_loose"] += any(step)
            counts["RM_strict"] += not all(step)
            counts["RM_loose"] += not any(step)
        else:
            counts["IG"] += all(step)
            counts["IK"] += not all(step)
    n = complete
    out: dict = {"problems": n, "incomplete_problems": len(groups) - complete, **counts}
    if n == 0:
        return out
    for kind in ("strict", "loose"):
        cm, rm = counts[f"CM_{kind}"], counts[f"RM_{kind}"]
        out[f"score_{kind}"] = (n - 0.5 * counts["IG"] - rm - counts["IK"]) / n
        out[f"CM_{kind}_rate"] = cm / n
        out[f"RM_{kind}_rate"] = rm / (cm + rm) if cm + rm else 0.0
    out["IK_rate"] = counts["IK"] / n
    out["IG_rate"] = counts["IG"] / n
    return out


def aggregate(examples: Sequence, correct: Sequence[Sequence[bool]]) -> dict:
    """4-D metrics per sample index, averaged over samples, plus plain row accuracy. correct: [rows][n]."""
    keys = [_group_key(ex) for ex in examples]
    n_samples = min(len(c) for c in correct) if correct else 0
    per_sample = [
        four_dimensional([(*k, c[s]) for k, c in zip(keys, correct)]) for s in range(n_samples)
    ]
    if not per_sample:
        return {}
    mean = {k: sum(p[k] for p in per_sample) / n_samples for k in per_sample[0] if isinstance(per_sample[0][k], (int, float))}
    rows = sum(len(c) for c in correct)
    return {
        "four_dimensional (official, mean over samples)": mean,
        "row_accuracy (plain accuracy over rows, not the official score)": sum(map(sum, correct)) / rows,
        "samples_used_for_4d": n_samples,
    }
