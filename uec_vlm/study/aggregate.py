"""Across-seed aggregation and paired comparisons of study runs. Pure: RunResults in, plain dicts out.

Per method: each run's score is the mean over the held-out problems; over seeds we report mean, sample std
(ddof=1) and the 95% t-interval (`evals.stats.t_interval`). Against the baseline, seeds are matched (same
seed = same warm start, data order and eval sampling seeds) and problems are matched:

- paired t-test over seeds of (method - baseline), with Cohen's d_z = mean(diff) / std(diff): the test of
  "the method trains better", its noise is run-to-run (seed) variance;
- paired bootstrap over problems of the seed-averaged per-problem scores: how much the held-out problem
  sample alone could move the difference (it ignores seed variance, so it is the narrower of the two).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from evals.stats import paired_bootstrap, paired_t_test, t_interval
from uec_vlm.study.results import RunResult


def seed_summary(per_seed: dict[int, float], confidence: float = 0.95) -> dict:
    """{n, mean, std, ci_low, ci_high, per_seed} of one number per seed; std and interval None for one seed."""
    values = [per_seed[s] for s in sorted(per_seed)]
    out = {"n": len(values), "mean": float(np.mean(values)) if values else None, "std": None,
           "ci_low": None, "ci_high": None, "per_seed": {str(s): per_seed[s] for s in sorted(per_seed)}}
    if len(values) >= 2:
        s = t_interval(values, confidence)
        out.update(std=s.std, ci_low=s.ci_low, ci_high=s.ci_high)
    return out


def by_method(results: Sequence[RunResult]) -> dict[str, dict[int, RunResult]]:
    """{method: {seed: run}} in first-seen method order; a repeated (method, seed) is an error."""
    out: dict[str, dict[int, RunResult]] = {}
    for r in results:
        runs = out.setdefault(r.method, {})
        if r.seed in runs:
            raise ValueError(f"two results for {r.method}/seed{r.seed}")
        runs[r.seed] = r
    return out


def run_score(run: RunResult, bench: str, metric: str, ids: Sequence[str] | None = None) -> float:
    """Mean of the run's per-problem `metric` on `bench` (over `ids` when given)."""
    values = run.per_problem[bench][metric]
    return float(np.mean([values[i] for i in (values if ids is None else ids)]))


def _mean(values) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def run_diagnostics(run: RunResult, tail: int = 10) -> dict[str, float]:
    """Why-numbers of one run from its curves (absent ones left out):

    updates (optimizer updates, replays not counted), hard_share (mean share of a step's prompts in the hard
    bucket), explore_success (mean share of explored hard prompts with a correct sample), retained_share
    (mean share of samples kept by retention), train_pass_rate_end (mean rollout pass rate, last `tail` steps).
    """
    c = run.curves
    out = {"updates": sum(c["actor/updated"].values()) if "actor/updated" in c else None}
    counts = {k: v for k, v in c.items() if k.startswith("uec/bucket/") and k.endswith("/count")}
    hard = c.get("uec/bucket/hard/count", {})
    shares = [hard[s] / tot for s in hard if (tot := sum(v.get(s, 0.0) for v in counts.values())) > 0]
    out["hard_share"] = _mean(shares)
    out["explore_success"] = _mean(c.get("uec/explore_success", {}).values())
    kept, dropped = c.get("uec/retained", {}), c.get("uec/dropped", {})
    out["retained_share"] = _mean([kept[s] / (kept[s] + dropped[s]) for s in kept
                                   if s in dropped and kept[s] + dropped[s] > 0])
    rates = c.get("reward/pass_rate", {})
    out["train_pass_rate_end"] = _mean(rates[s] for s in sorted(rates)[-tail:])
    return {k: v for k, v in out.items() if v is not None}


def method_summary(runs: dict[int, RunResult]) -> dict:
    """Held-out scores, best in-training validation and seconds per step of one method over its seeds."""
    first = next(iter(runs.values()))
    final = {bench: {metric: seed_summary({s: run_score(r, bench, metric) for s, r in runs.items()
                                           if metric in r.per_problem.get(bench, {})})
                     for metric in first.per_problem[bench]}
             for bench in first.per_problem}
    val_keys = sorted({k for r in runs.values() for k in r.best_val})
    best = {k: seed_summary({s: r.best_val[k][0] for s, r in runs.items() if k in r.best_val}) for k in val_keys}
    last = {k: seed_summary({s: r.curves[k][max(r.curves[k])] for s, r in runs.items() if k in r.curves})
            for k in val_keys}
    sps = seed_summary({s: r.sec_per_step for s, r in runs.items() if r.sec_per_step is not None})
    diag = {s: run_diagnostics(r) for s, r in runs.items()}
    names = sorted({k for d in diag.values() for k in d})
    diagnostics = {k: seed_summary({s: d[k] for s, d in diag.items() if k in d}) for k in names}
    return {"seeds": sorted(runs), "final": final, "best_val": best, "last_val": last, "sec_per_step": sps,
            "diagnostics": diagnostics}


def paired_comparison(base: dict[int, RunResult], other: dict[int, RunResult], bench: str, metric: str, *,
                      n_boot: int = 10_000, seed: int = 0) -> dict | None:
    """other - base on matched seeds and problems (see module docstring); None when no seed is shared."""
    seeds = sorted(s for s in set(base) & set(other)
                   if metric in base[s].per_problem.get(bench, {}) and metric in other[s].per_problem.get(bench, {}))
    if not seeds:
        return None
    a_seed, b_seed = [], []
    common_all: set[str] | None = None
    for s in seeds:
        ids = sorted(set(base[s].per_problem[bench][metric]) & set(other[s].per_problem[bench][metric]))
        if not ids:
            raise ValueError(f"{bench} {metric}: seed {s} shares no problems between the two methods")
        a_seed.append(run_score(base[s], bench, metric, ids))
        b_seed.append(run_score(other[s], bench, metric, ids))
        common_all = set(ids) if common_all is None else common_all & set(ids)
    out = {"seeds": seeds, "baseline_per_seed": a_seed, "method_per_seed": b_seed,
           "diff_per_seed": [b - a for a, b in zip(a_seed, b_seed)],
           "mean_diff": float(np.mean(b_seed) - np.mean(a_seed)), "t_test": None, "bootstrap": None}
    if len(seeds) >= 2:
        out["t_test"] = dataclasses.asdict(paired_t_test(a_seed, b_seed))
    ids = sorted(common_all or ())
    if ids:
        a_prob = [float(np.mean([base[s].per_problem[bench][metric][i] for s in seeds])) for i in ids]
        b_prob = [float(np.mean([other[s].per_problem[bench][metric][i] for s in seeds])) for i in ids]
        out["bootstrap"] = dataclasses.asdict(paired_bootstrap(a_prob, b_prob, n_boot=n_boot, seed=seed))
    return out


def curve_band(runs: Sequence[RunResult], key: str) -> dict | None:
    """Mean and std over seeds of one curve: {steps, mean, std, n}; None when no run logged `key`.

    A run's last logged value is carried forward to later steps it did not log (entropy, for one, is only
    measured at update steps, which differ between seeds under UEC's batch buffer); before its first value
    a run does not count. std is the sample std (0 where only one run counts).
    """
    series = [r.curves[key] for r in runs if r.curves.get(key)]
    if not series:
        return None
    steps = sorted({s for c in series for s in c})
    mean, std, n = [], [], []
    for step in steps:
        vals = []
        for c in series:
            logged = [s for s in c if s <= step]
            if logged:
                vals.append(c[max(logged)])
        mean.append(float(np.mean(vals)))
        std.append(float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0)
        n.append(len(vals))
    return {"steps": steps, "mean": mean, "std": std, "n": n}


def by_level(runs: dict[int, RunResult], bench: str, levels: dict[str, object], metric: str = "pass@1") -> dict:
    """{level: seed_summary} of the mean `metric` over the problems of each level (levels: {id: level})."""
    out = {}
    for level in sorted({str(v) for v in levels.values()}):
        ids = [i for i, v in levels.items() if str(v) == level]
        per_seed = {}
        for s, r in runs.items():
            have = [i for i in ids if i in r.per_problem.get(bench, {}).get(metric, {})]
            if have:
                per_seed[s] = run_score(r, bench, metric, have)
        if per_seed:
            out[level] = {**seed_summary(per_seed), "n_problems": len(ids)}
    return out


def verdict(cmp: dict, method: str, baseline: str, alpha: float = 0.05) -> str:
    """One sentence on a paired comparison, in percentage points, led by the seed-level t-test."""
    diff = 100 * cmp["mean_diff"]
    t = cmp["t_test"]
    if t is None:
        return f"{method} - {baseline}: {diff:+.2f} points on one seed; no test across seeds is possible."
    p = t["p_value"]
    if p < alpha and not math.isclose(diff, 0.0, abs_tol=1e-12):
        word = "better" if diff > 0 else "worse"
        return (f"{method} is {word} than {baseline}: {diff:+.2f} points, paired t-test over {t['n']} seeds "
                f"p = {p:.3g}, Cohen's d = {t['cohens_d']:.2f}.")
    return (f"{method} does not differ significantly from {baseline}: {diff:+.2f} points, paired t-test over "
            f"{t['n']} seeds p = {p:.3g} (alpha {alpha}), Cohen's d = {t['cohens_d']:.2f}.")


def build_study(results: Sequence[RunResult], baseline: str, *, levels: dict[str, dict[str, object]] | None = None,
                n_boot: int = 10_000) -> dict:
    """The whole study as one JSON-able dict: methods, comparisons vs `baseline`, curves, levels, verdicts.

    levels: {benchmark: {problem id: difficulty level}} for the held-out breakdown (optional).
    """
    methods = by_method(results)
    if baseline not in methods:
        raise ValueError(f"baseline {baseline!r} has no finished runs; methods with results: {list(methods)}")
    base = methods[baseline]
    first = next(iter(base.values()))
    out: dict = {"baseline": baseline, "methods": {}, "comparisons": {}, "curves": {}, "by_level": {}, "verdicts": []}
    for name, runs in methods.items():
        out["methods"][name] = method_summary(runs)
        keys = sorted({k for r in runs.values() for k in r.curves})
        out["curves"][name] = {k: curve_band(list(runs.values()), k) for k in keys}
        for bench, ids in (levels or {}).items():
            out["by_level"].setdefault(name, {})[bench] = by_level(runs, bench, ids)
        if name == baseline:
            continue
        for bench, metrics in first.per_problem.items():
            for metric in metrics:
                cmp = paired_comparison(base, runs, bench, metric, n_boot=n_boot)
                if cmp is None:
                    continue
                out["comparisons"].setdefault(name, {}).setdefault(bench, {})[metric] = cmp
                if metric == "pass@1":
                    out["verdicts"].append(f"{bench}: {verdict(cmp, name, baseline)}")
    return out
