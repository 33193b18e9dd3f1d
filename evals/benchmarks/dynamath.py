"""DynaMath: the official answer checks without the LLM extractor, and worst-case accuracy over variants.

Official checks (upstream `evaluation.py`, as VLMEvalKit runs them): `multiple choice` = the single letter
equals the gold letter; `float` = |prediction - gold| <= 0.001 (a trailing "π" multiplies by pi);
otherwise normalised text (lower-case letters and digits) equal or contained either way. The official
pipeline reads a JSON "short answer" and falls back to an LLM; here the answer is the project's usual
extraction (`<answer>`, `\\boxed{}`, final-answer phrases), so the label says rule-based.

Worst-case accuracy: a seed question counts only when the first sample of every one of its variants is
correct (load the split `all` to have all ten variants in one report); average accuracy is plain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from evals.benchmarks import metadata_subsets

LABEL = "official DynaMath checks on the project's extraction (no LLM extractor); worst-case over variants"
SUBSET_KEYS = ("subject", "knowledge_level", "answer_type")
_NUMBER = re.compile(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?(\s*π)?")
_LETTERS = re.compile(r"[A-Z]")


def _float(text: str) -> float | None:
    m = _NUMBER.search(text.replace(",", ""))
    if m is None:
        return None
    token = m.group(0).replace(" ", "")
    return float(token[:-1] or 1) * math.pi if token.endswith("π") else float(token)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.strip().lower())


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    """extracted: `response` already is the short answer (the official JSON field or an extractor's)."""
    from uec_vlm.rewards import Grade
    from uec_vlm.rewards.extract import extract_answer

    ex = extract_answer(response, paths=("whole",) if extracted else None)
    if ex.text is None:
        return Grade(correct=False, extracted=None, path="dynamath:none", reason="no answer found")
    atype = example.metadata.get("answer_type")
    text = ex.text.strip()
    if atype == "multiple choice":
        letters = set(_LETTERS.findall(text.upper()))
        got = letters.pop() if len(letters) == 1 else None
        correct = got is not None and got == example.gold_letter
    elif atype == "float":
        got = _float(text)
        correct = got is not None and abs(got - float(example.answer)) <= 1e-3
    else:
        got, gold = _norm(text), _norm(example.answer)
        correct = bool(got and gold) and (got == gold or got in gold or gold in got)
    return Grade(correct=correct, extracted=None if got is None else str(got), path=f"dynamath:{ex.path}",
                 reason=None if correct else f"{atype}: got {got!r}, gold {example.gold_letter or example.answer!r}")


def subset_keys(example) -> dict[str, str | list[str]]:
    return metadata_subsets(example, SUBSET_KEYS)


def aggregate(examples: Sequence, correct: Sequence[Sequence[bool]]) -> dict:
    """Worst-case accuracy over seeds (first sample of each variant) next to the average accuracy."""
    seeds: dict[str, list[bool]] = {}
    for ex, c in zip(examples, correct, strict=True):
        if c:
            seeds.setdefault(str(ex.metadata.get("seed_id", ex.id)), []).append(bool(c[0]))
    if not seeds:
        return {}
    sizes = [len(v) for v in seeds.values()]
    return {"worst_case_accuracy (seed right on all its variants, first sample)":
            sum(all(v) for v in seeds.values()) / len(seeds),
            "average_accuracy (first sample)": sum(map(sum, seeds.values())) / sum(sizes),
            "seeds": len(seeds), "variants_per_seed": {"min": min(sizes), "max": max(sizes)}}
