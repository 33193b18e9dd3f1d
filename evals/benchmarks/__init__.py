"""Per-benchmark scoring rules behind one registry keyed by `Example.source`.

Each rule module provides:
    LABEL: str                                   how the score relates to the official one (shown in reports)
    score(example, response, mode, extracted=False) -> Grade
        mode: "official" or "strict" (MathVista: nearest choice or not), or "wemath-boxed" (We-Math only);
        extracted: the response already is an extracted answer (`eval score --extracted`)
    subset_keys(example) -> dict[str, str | list[str]]   metadata to break results down by
and optionally
    aggregate(examples, correct) -> dict         benchmark-level metrics beyond accuracy (We-Math 4-D)

Sources without a rule (geometry3k, geoqa, counting, synthgeo, logicvista, ...) use the shared
graders `uec_vlm.rewards.grade`, broken down by the `subsets` their adapter registers.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

MODES: tuple[str, ...] = ("official", "strict", "boxed")
"""official: each benchmark's published rule. strict: MathVista counts an answer naming no option as wrong
instead of taking the nearest choice. boxed: We-Math also reads a boxed / <answer> letter (not official).
A mode changes only the benchmarks named; the others score as official."""

_RULES: dict[str, str] = {
    "mathvista": "evals.benchmarks.mathvista",
    "mathvision": "evals.benchmarks.mathvision",
    "wemath": "evals.benchmarks.wemath",
    "mathverse": "evals.benchmarks.mathverse",
    "dynamath": "evals.benchmarks.dynamath",
}

SHARED_LABEL = "shared graders (uec_vlm.rewards.grade)"


def rule_for(source: str) -> ModuleType | None:
    """The rule module of a source, or None when the shared graders score it."""
    name = _RULES.get(source)
    return None if name is None else importlib.import_module(name)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def label(source: str, mode: str = "official") -> str:
    """How a benchmark's numbers were produced, with the mode that produced them."""
    rule = rule_for(source)
    text = SHARED_LABEL if rule is None else rule.label(mode) if hasattr(rule, "label") else rule.LABEL
    return f"{text} [mode: {mode}]"


def score(example, response: str, mode: str = "official", *, extracted: bool = False):
    """Grade one response in THIS process, with no time limit (tests, trusted text). For model output use
    `score_many`, which runs every rule in the grading workers. -> uec_vlm.rewards.Grade"""
    check_mode(mode)
    rule = rule_for(example.source)
    if rule is None:
        from uec_vlm.rewards import grade

        return grade(response, example, paths=("whole",) if extracted else None)
    return rule.score(example, response, mode, extracted=extracted)


def run_rule(example: dict, response: str, mode: str, extracted: bool = False):
    """Worker entry point (`uec_vlm.rewards.pool.Call`): rebuild the Example and apply its rule."""
    from data_zoo.example import Example

    return score(Example(**example), response, mode, extracted=extracted)


def score_many(
    examples: Sequence,
    responses: Sequence[str],
    mode: str = "official",
    timeout_s: float = 5.0,
    *,
    extracted: bool = False,
    workers: int = 2,
) -> list:
    """Grade aligned lists; every rule that reads a response runs in the grading worker processes with at
    most `timeout_s` per item: a time-out or a parser failure is a verdict (path "timeout" / "error", with
    a reason), never an exception. extracted: the responses are already-extracted answers (an official
    pipeline's extraction step); only normalisation and comparison apply."""
    check_mode(mode)
    if len(examples) != len(responses):
        raise ValueError(f"score_many: {len(examples)} examples but {len(responses)} responses")
    from uec_vlm.rewards.pool import Call, example_fields, shared_pool

    out: list = [None] * len(examples)
    shared = []
    calls = []
    for i, ex in enumerate(examples):
        if rule_for(ex.source) is None and not extracted:
            shared.append(i)
            continue
        if rule_for(ex.source) is None:
            from uec_vlm.rewards.graders import check_gold

            check_gold(ex)  # a malformed gold is the dataset's error, raised here with the record's name
        kwargs = {"example": example_fields(ex, with_metadata=True), "response": responses[i], "mode": mode,
                  "extracted": extracted}
        calls.append((i, Call("evals.benchmarks:run_rule", kwargs, ex)))
    if calls:
        for (i, _), g in zip(calls, shared_pool(workers).run([c for _, c in calls], timeout_s)):
            out[i] = g
    if shared:
        from uec_vlm.rewards import grade_many

        grades = grade_many([responses[i] for i in shared], [examples[i] for i in shared], timeout_s=timeout_s,
                            workers=workers)
        for i, g in zip(shared, grades):
            out[i] = g
    return out


def subset_keys(example) -> dict[str, str | list[str]]:
    """A rule's subsets; without a rule, the metadata keys the source's adapter lists as `subsets`."""
    rule = rule_for(example.source)
    if rule is not None:
        return rule.subset_keys(example)
    from data_zoo.registry import adapters

    adapter = adapters().get(example.source)
    return {} if adapter is None else metadata_subsets(example, adapter.subsets)


def aggregate(source: str, examples: Sequence, correct: Sequence[Sequence[bool]]) -> dict:
    """Benchmark-level extra metrics. correct: [P][n] per problem, per sample (aligned with examples)."""
    rule = rule_for(source)
    if rule is None or not hasattr(rule, "aggregate"):
        return {}
    return rule.aggregate(examples, correct)


def metadata_subsets(example, keys: Sequence[str]) -> dict[str, str | list[str]]:
    """The listed metadata fields that are present (None skipped); list values stay lists."""
    out: dict[str, str | list[str]] = {}
    for key in keys:
        value = example.metadata.get(key)
        if value is None:
            continue
        out[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value)
    return out
