"""Per-benchmark scoring rules behind one registry keyed by `Example.source`.

Each rule module provides:
    LABEL: str                                   how the score relates to the official one (shown in reports)
    score(example, response, mode) -> Grade      mode "official" or "strict" (only MathVista differs)
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

MODES: tuple[str, ...] = ("official", "strict")

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


def label(source: str) -> str:
    rule = rule_for(source)
    return SHARED_LABEL if rule is None else rule.LABEL


def score(example, response: str, mode: str = "official"):
    """Grade one response with the benchmark's own rule (or the shared graders). -> uec_vlm.rewards.Grade"""
    check_mode(mode)
    rule = rule_for(example.source)
    if rule is None:
        from uec_vlm.rewards import grade

        return grade(response, example)
    return rule.score(example, response, mode)


def score_many(examples: Sequence, responses: Sequence[str], mode: str = "official", timeout_s: float = 5.0) -> list:
    """Grade aligned lists. Items without a benchmark rule go through the time-bounded `grade_many`."""
    check_mode(mode)
    if len(examples) != len(responses):
        raise ValueError(f"score_many: {len(examples)} examples but {len(responses)} responses")
    out: list = [None] * len(examples)
    shared = []
    for i, ex in enumerate(examples):
        rule = rule_for(ex.source)
        if rule is None:
            shared.append(i)
        else:
            out[i] = rule.score(ex, responses[i], mode)
    if shared:
        from uec_vlm.rewards import grade_many

        grades = grade_many([responses[i] for i in shared], [examples[i] for i in shared], timeout_s=timeout_s)
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
