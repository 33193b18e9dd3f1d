"""Agreement of our scoring with the benchmarks' official per-item verdicts: `python -m evals.parity`.

Reads official outputs in the layout of `../shared/real-samples/official-outputs/` (MathVista: per pid the raw
`response`, the official GPT `extraction` and `true_false`; MATH-Vision: per item `response`, the official
`model_answer` and `correct`, with the test set's `data/test.jsonl`), scores them with the project's rules
through the grading workers, and reports per benchmark, model and mode the share of items whose verdict
equals the official one, and the disagreements by class with one example each.

    python -m evals.parity --shared ../shared --write docs/evaluation.md     # rewrites the marked section
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from evals import benchmarks

START, END = "<!-- parity:start -->", "<!-- parity:end -->"
MATHVISION_MODELS = ("Gemini-Pro-CoT", "LLaVA-v1.5-13B", "Qwen-VL-Plus", "SPHINX-MoE")
MATHVISTA_MODELS = ("gpt4", "claude_2shot_solution")
_EXCERPT = 70


def _short(text: object) -> str:
    s = " ".join(str(text).split())
    s = s if len(s) <= _EXCERPT else "..." + s[-_EXCERPT:]
    return s.replace("|", "\\|")


def _row(benchmark: str, model: str, mode: str, verdicts: Sequence[tuple[bool, bool, str, str]]) -> dict:
    """verdicts: (ours, official, disagreement class, example) per item."""
    classes: Counter = Counter()
    examples: dict[str, str] = {}
    for ours, official, cls, example in verdicts:
        if ours != official:
            classes[cls] += 1
            examples.setdefault(cls, example)
    agree = sum(o == f for o, f, _, _ in verdicts)
    return {"benchmark": benchmark, "model": model, "mode": mode, "n": len(verdicts), "agree": agree,
            "classes": [(cls, n, examples[cls]) for cls, n in classes.most_common()]}


def mathvision_rows(root: Path, *, timeout_s: float, models: Sequence[str] = MATHVISION_MODELS,
                    extracted_modes: Sequence[bool] = (False, True)) -> list[dict]:
    from data_zoo.registry import load_dataset

    data = {ex.id: ex for ex in load_dataset(f"mathvision:test@{root / 'mathvision'}", require_image_files=False)}
    rows = []
    for model in models:
        lines = [json.loads(x) for x in open(root / "official-outputs" / "mathvision" / f"{model}.jsonl", encoding="utf-8")]
        items = [data[str(x["id"])] for x in lines]
        for extracted in extracted_modes:
            texts = [str(x.get("model_answer") or "") if extracted else x["response"] for x in lines]
            grades = benchmarks.score_many(items, texts, "official", timeout_s, extracted=extracted)
            verdicts = []
            for x, g in zip(lines, grades):
                ours = g.reason.split("model answer ", 1)[-1].split("; gold", 1)[0] if g.reason else ""
                same = ours == repr(x.get("model_answer"))
                cls = ("comparison (same model answer)" if same else "extraction") + f": ours {g.correct}"
                cls = g.path if g.path in ("timeout", "error") else cls
                verdicts.append((bool(g.correct), bool(x["correct"]), cls,
                                 f"id {x['id']}: official model_answer {_short(x.get('model_answer'))!r}; "
                                 f"ours {_short(g.reason)}"))
            mode = "official, `--extracted` (official model_answer)" if extracted else "official, raw responses"
            rows.append(_row("MATH-Vision test", model, mode, verdicts))
    return rows


def _mathvista_nearest(record: dict) -> bool:
    """True when the official prediction came from the nearest-choice fallback (the extraction named no option)."""
    if record.get("question_type") != "multi_choice":
        return False
    ext = str(record.get("extraction") or "").strip()
    letters = [chr(ord("A") + i) for i in range(len(record["choices"]))]
    return ext not in letters and ext not in record["choices"] and "(" + ext[1:2] + ")" != ext[:3]


def mathvista_rows(root: Path, *, timeout_s: float, models: Sequence[str] = MATHVISTA_MODELS) -> list[dict]:
    from data_zoo.registry import load_dataset

    data = {ex.id: ex for ex in load_dataset(f"mathvista:testmini@{root / 'mathvista'}", require_image_files=False)}
    rows = []
    for model in models:
        official = json.load(open(root / "official-outputs" / "mathvista" / f"output_{model}.json", encoding="utf-8"))
        pids = list(official)
        items = [data[p] for p in pids]
        for extracted in (True, False):
            texts = [official[p]["extraction" if extracted else "response"] or "" for p in pids]
            grades = benchmarks.score_many(items, texts, "official", timeout_s, extracted=extracted)
            verdicts = []
            for p, g in zip(pids, grades):
                rec = official[p]
                nearest = _mathvista_nearest(rec)
                cls = f"{g.path}: ours {g.correct}" + ("; official verdict from its nearest-choice fallback" if nearest else "")
                verdicts.append((bool(g.correct), bool(rec["true_false"]), cls,
                                 f"pid {p}: official extraction {_short(rec.get('extraction'))!r}; "
                                 f"response ...{_short(rec['response'])!r}; ours {_short(g.reason)}"))
            mode = "official, `--extracted` (official GPT extractions)" if extracted else "official, raw responses, rules"
            row = _row("MathVista testmini", model, mode, verdicts)
            kept = [v for v, p in zip(verdicts, pids) if not _mathvista_nearest(official[p])]
            row["agree_without_nearest"] = (sum(o == f for o, f, _, _ in kept), len(kept))
            rows.append(row)
    return rows


def markdown(rows: Sequence[dict], command: str) -> str:
    lines = [START, "", f"Generated by `{command}`; do not edit by hand.", "",
             "| benchmark | model | mode | items | agree | agreement % | agreement % where the official verdict is not a nearest-choice guess |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        extra = r.get("agree_without_nearest")
        extra_cell = f"{100 * extra[0] / extra[1]:.2f} ({extra[0]}/{extra[1]})" if extra else "n/a"
        lines.append(f"| {r['benchmark']} | {r['model']} | {r['mode']} | {r['n']} | {r['agree']} "
                     f"| {100 * r['agree'] / r['n']:.2f} | {extra_cell} |")
    lines += ["", "Disagreements by class (count, one example):", ""]
    for r in rows:
        if not r["classes"]:
            continue
        lines.append(f"- **{r['benchmark']}, {r['model']}, {r['mode']}**")
        for cls, n, example in r["classes"]:
            lines.append(f"  - {n} x `{cls}`: {example}")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_section(doc: str | os.PathLike, section: str) -> None:
    """Replace the text between the parity markers of `doc` (appended when the markers are absent)."""
    text = Path(doc).read_text(encoding="utf-8")
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    Path(doc).write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.parity", description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default="../shared", help="folder holding real-samples/ (default ../shared)")
    p.add_argument("--write", default=None, help="markdown file whose parity section is rewritten")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per item (grading workers)")
    a = p.parse_args(argv)
    root = Path(a.shared) / "real-samples"
    if not (root / "official-outputs").is_dir():
        print(f"evals.parity: {root / 'official-outputs'} not found (pass --shared)")
        return 2
    rows = mathvision_rows(root, timeout_s=a.timeout) + mathvista_rows(root, timeout_s=a.timeout)
    section = markdown(rows, "python -m evals.parity --shared ../shared --write docs/evaluation.md")
    print(section)
    if a.write:
        write_section(a.write, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
