"""`uec-vlm eval compare RUN_A RUN_B`: paired per-problem comparison of two run folders, per benchmark.

For every benchmark present in both runs, the problems scored in both are paired; per-problem Pass@k
(unbiased, from each run's own samples) are compared by a paired bootstrap: the difference B - A, its
95% interval and a two-sided p-value. Problems present in only one run are counted, not compared.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from evals.metrics import pass_at_k
from evals.samples import SAMPLES_FILE, read_samples
from evals.stats import paired_bootstrap


def _counts(records: Sequence[dict]) -> dict[str, tuple[int, int]]:
    """{problem id: (n samples, n correct)}; a repeated (id, sample) is an error."""
    seen, out = set(), {}
    for r in records:
        key = (r["id"], int(r["sample"]))
        if key in seen:
            raise ValueError(f"problem {r['id']!r} sample {r['sample']} appears twice")
        seen.add(key)
        n, c = out.get(r["id"], (0, 0))
        out[r["id"]] = (n + 1, c + bool(r["correct"]))
    return out


def compare_runs(
    run_a: str | os.PathLike, run_b: str | os.PathLike, *, ks: Sequence[int] = (1,), n_boot: int = 10_000, seed: int = 0
) -> dict:
    """{benchmark: {...}} with per-k paired results; ks larger than a benchmark's samples are skipped, noted.
    `_benchmarks`: [names in A, names in B]; `eval compare` fails when no problem pairs."""
    a_all = read_samples(os.path.join(run_a, SAMPLES_FILE))
    b_all = read_samples(os.path.join(run_b, SAMPLES_FILE))
    out = {}
    for name in sorted(set(a_all) & set(b_all)):
        try:
            ca, cb = _counts(a_all[name]), _counts(b_all[name])
        except ValueError as e:
            raise ValueError(f"benchmark {name}: {e}") from e
        common = sorted(set(ca) & set(cb))
        entry: dict = {
            "n_common": len(common),
            "only_in_a": len(set(ca) - set(cb)),
            "only_in_b": len(set(cb) - set(ca)),
            "ks": {},
            "skipped_ks": [],
        }
        if common:
            n_min = min(min(ca[p][0], cb[p][0]) for p in common)
            for k in ks:
                if k > n_min:
                    entry["skipped_ks"].append(k)
                    continue
                va = [pass_at_k(*ca[p], k) for p in common]
                vb = [pass_at_k(*cb[p], k) for p in common]
                r = paired_bootstrap(va, vb, n_boot=n_boot, seed=seed)
                entry["ks"][f"pass@{k}"] = {
                    "a": r.mean_a, "b": r.mean_b, "diff_b_minus_a": r.diff,
                    "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
                }
        out[name] = entry
    only = sorted(set(a_all) ^ set(b_all))
    if only:
        out["_benchmarks_in_one_run_only"] = only
    out["_benchmarks"] = [sorted(a_all), sorted(b_all)]
    return out


def format_comparison(result: dict, labels: tuple[str, str] = ("A", "B")) -> str:
    """A markdown table of `compare_runs` output; `labels` name the two runs (e.g. before, after)."""
    a, b = labels
    lines = [f"| benchmark | metric | {a} | {b} | {b} - {a} | 95% CI | p | problems |", "|---|---|---|---|---|---|---|---|"]
    for name, e in result.items():
        if name.startswith("_"):
            continue
        for metric, r in e["ks"].items():
            lines.append(
                f"| {name} | {metric} | {100 * r['a']:.2f} | {100 * r['b']:.2f} | {100 * r['diff_b_minus_a']:+.2f} "
                f"| [{100 * r['ci_low']:+.2f}, {100 * r['ci_high']:+.2f}] | {r['p_value']:.4f} | {e['n_common']} |"
            )
        if e["skipped_ks"]:
            lines.append(f"| {name} | skipped k={e['skipped_ks']} (fewer samples) | | | | | | |")
    if "_benchmarks_in_one_run_only" in result:
        lines.append(f"\nBenchmarks in one run only (not compared): {', '.join(result['_benchmarks_in_one_run_only'])}")
    return "\n".join(lines) + "\n"
