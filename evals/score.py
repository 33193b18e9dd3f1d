"""Score responses produced elsewhere: `uec-vlm eval score SPEC RESPONSES.jsonl --out DIR`.

RESPONSES.jsonl holds one JSON object per line: `id` (the benchmark's own problem id), optional `sample`
(default: order of appearance per id), `response`, and optionally `tokens` / `finish_reason`. Only the
annotations are needed: images are never decoded. Writes `samples.jsonl` and the report into DIR.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from evals import benchmarks as rules
from evals.report import write_report
from evals.samples import SAMPLES_FILE, write_samples


def read_responses(path: str | os.PathLike, by_id: dict) -> list[dict]:
    """Parsed lines as dicts with `id`, `sample`, `response`, `tokens`, `finish_reason`, `line`.

    Errors name the file and line: invalid JSON, a missing/non-string response, an id not in the dataset,
    a repeated (id, sample).
    """
    out, seen, counter = [], set(), {}
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path} line {line_no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not valid JSON ({e})") from e
            if not isinstance(obj, dict) or "id" not in obj:
                raise ValueError(f"{where}: expected an object with `id` and `response`")
            pid = str(obj["id"])
            if pid not in by_id:
                raise ValueError(f"{where}: id {pid!r} is not a problem of the dataset")
            response = obj.get("response")
            if not isinstance(response, str):
                raise ValueError(f"{where}: `response` must be a string (id {pid!r})")
            if "sample" in obj:
                if not isinstance(obj["sample"], int) or isinstance(obj["sample"], bool) or obj["sample"] < 0:
                    raise ValueError(f"{where}: `sample` must be a non-negative integer (id {pid!r})")
                sample = obj["sample"]
            else:
                sample = counter.get(pid, 0)
            counter[pid] = max(counter.get(pid, 0), sample + 1)
            if (pid, sample) in seen:
                raise ValueError(f"{where}: id {pid!r} sample {sample} appears twice")
            seen.add((pid, sample))
            out.append(
                {
                    "id": pid,
                    "sample": sample,
                    "response": response,
                    "tokens": obj.get("tokens"),
                    "finish_reason": obj.get("finish_reason"),
                    "line": line_no,
                }
            )
    if not out:
        raise ValueError(f"{path}: no responses")
    return out


def score_responses(
    examples: Sequence,
    responses_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    name: str,
    mode: str = "official",
    ks: Sequence[int] = (1,),
    extra_info: dict | None = None,
    judge=None,
    extracted: bool = False,
    timeout_s: float = 5.0,
) -> dict:
    """Grade every response line against `examples` and write samples + report into `out_dir`.

    judge: an optional `mathverse_judge.JudgeClient`; when given, MathVerse items are scored by the
    official two-step LLM pipeline instead of the non-official rules (other sources are unaffected).
    extracted: each `response` is an already-extracted answer (an official pipeline's extraction step):
    only normalisation and comparison apply (with a judge: only its scoring step).
    Every rule runs in the grading workers, at most `timeout_s` per item.
    """
    rules.check_mode(mode)
    by_id = {ex.id: ex for ex in examples}
    lines = read_responses(responses_path, by_id)
    items = [by_id[x["id"]] for x in lines]
    labels = None
    if judge is not None and any(ex.source == "mathverse" for ex in items):
        from evals.benchmarks.mathverse_judge import LABEL

        grades = [
            judge.judge(ex, x["response"], extracted=extracted) if ex.source == "mathverse" else None
            for ex, x in zip(items, lines)
        ]
        rest = [i for i, g in enumerate(grades) if g is None]
        scored = rules.score_many([items[i] for i in rest], [lines[i]["response"] for i in rest], mode,
                                  timeout_s, extracted=extracted)
        for i, g in zip(rest, scored):
            grades[i] = g
        labels = {name: LABEL.format(model=judge.model)}
    else:
        grades = rules.score_many(items, [x["response"] for x in lines], mode, timeout_s, extracted=extracted)
    records = [
        {
            "id": x["id"],
            "sample": x["sample"],
            "response": x["response"],
            "extracted": g.extracted,
            "correct": bool(g.correct),
            "path": g.path,
            "reason": g.reason,
            "tokens": x["tokens"],
            "finish_reason": x["finish_reason"],
        }
        for x, g in zip(lines, grades)
    ]
    os.makedirs(out_dir, exist_ok=True)
    write_samples(os.path.join(out_dir, SAMPLES_FILE), {name: records})
    info = {"responses": os.fspath(responses_path), **(extra_info or {})}
    return write_report(out_dir, {name: (examples, records)}, ks, mode=mode, extra_info=info, scoring_labels=labels)
