"""What a finished study run left on disk -> one `RunResult` (the unit the aggregation works on).

From `RUN/eval/samples.jsonl`: per-problem Pass@k on the held-out suite (unbiased estimator, each run's own
samples). From `RUN/metrics.jsonl`: the training curves, the in-training validation (`val/...`) and the
seconds per step (`time/step`: the step's phases, validation excluded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from evals.metrics import pass_at_k
from evals.samples import SAMPLES_FILE, read_samples
from uec_vlm.trainer.run_dir import read_metrics

CURVE_PREFIXES = ("reward/", "entropy/", "response/", "uec/", "val/", "actor/updated", "perf/rollout_tokens")


@dataclass
class RunResult:
    """One (method, seed) run.

    per_problem: {benchmark: {"pass@k": {problem id: value}}}; curves: {metric key: {step: value}};
    best_val: {val Pass@k key: (best value, its step)}; sec_per_step: mean `time/step`, None if never logged.
    """

    method: str
    seed: int
    per_problem: dict[str, dict[str, dict[str, float]]]
    curves: dict[str, dict[int, float]] = field(default_factory=dict)
    best_val: dict[str, tuple[float, int]] = field(default_factory=dict)
    sec_per_step: float | None = None


def per_problem_pass(records: list[dict], ks: list[int], where: str) -> dict[str, dict[str, float]]:
    """{"pass@k": {id: value}} from one benchmark's sample records; k above a problem's samples is an error."""
    counts: dict[str, list[int]] = {}
    seen = set()
    for r in records:
        key = (r["id"], int(r["sample"]))
        if key in seen:
            raise ValueError(f"{where}: problem {r['id']!r} sample {r['sample']} appears twice")
        seen.add(key)
        n_c = counts.setdefault(r["id"], [0, 0])
        n_c[0] += 1
        n_c[1] += bool(r["correct"])
    out = {}
    for k in ks:
        short = [pid for pid, (n, _) in counts.items() if n < k]
        if short:
            raise ValueError(f"{where}: Pass@{k} needs {k} samples but problem {short[0]!r} has {counts[short[0]][0]}")
        out[f"pass@{k}"] = {pid: pass_at_k(n, c, k) for pid, (n, c) in counts.items()}
    return out


def curves_from_rows(rows: list[dict]) -> tuple[dict[str, dict[int, float]], dict[str, tuple[float, int]], float | None]:
    """(curves, best validation, mean seconds per step) from metrics.jsonl rows; NaN values are left out."""
    curves: dict[str, dict[int, float]] = {}
    times = []
    for row in rows:
        for key, value in row.items():
            if key == "step" or not isinstance(value, (int, float)) or math.isnan(value):
                continue
            if key == "time/step":
                times.append(float(value))
            if key.startswith(CURVE_PREFIXES):
                curves.setdefault(key, {})[row["step"]] = float(value)
    best = {}
    for key, points in curves.items():
        if key.startswith("val/") and "pass@" in key:
            step = max(points, key=lambda s: (points[s], -s))  # ties: the earliest step
            best[key] = (points[step], step)
    return curves, best, (sum(times) / len(times) if times else None)


def load_run_result(run_dir: str | Path, method: str, seed: int, ks: list[int]) -> RunResult:
    """Read one finished run folder (see module docstring). Raises naming the file when one is missing."""
    run_dir = Path(run_dir)
    samples = run_dir / "eval" / SAMPLES_FILE
    if not samples.is_file():
        raise FileNotFoundError(f"{method}/seed{seed}: no held-out samples at {samples}; run the study first")
    per_problem = {name: per_problem_pass(recs, ks, f"{samples} ({name})")
                   for name, recs in read_samples(samples).items()}
    metrics = run_dir / "metrics.jsonl"
    curves, best, sps = curves_from_rows(read_metrics(metrics)) if metrics.is_file() else ({}, {}, None)
    return RunResult(method, seed, per_problem, curves, best, sps)
