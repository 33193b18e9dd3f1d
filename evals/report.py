"""Benchmark reports from per-sample records: Pass@k with bootstrap intervals, subsets, rates, files.

`write_report(run_dir, {name: (examples, records)}, ks, mode=..., extra_info=...)` writes
`summary.json`, `summary.md`, `metrics.csv` (overall and per-subset rows), `pass_at_k_curve.csv` and
`pass_at_k.png` (Pass@k against k for every benchmark), and returns the summary dict.

A record is a dict with at least `id`, `sample`, `correct`; `extracted`, `tokens`, `finish_reason` feed
the format rate, mean response length and truncation rate when present.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence

import numpy as np

from evals import benchmarks as rules
from evals.metrics import bootstrap_ci, pass_at_k_per_problem

CURVE_POINTS_MAX = 64
# Breakdowns for sources without a benchmark rule (synthgeo and the like), when their metadata has them.
GENERIC_SUBSETS = ("template", "difficulty")


def parse_ks(text: str) -> list[int]:
    """"1,4,8" -> [1, 4, 8]; error names the bad item."""
    ks = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise ValueError(f"bad k {item!r} in {text!r}: use positive integers like 1,4,8")
        ks.append(int(item))
    return sorted(set(ks))


def _group(name: str, examples: Sequence, records: Sequence[dict]):
    """Problems with records, in example order, and their records sorted by sample index."""
    by_id = {}
    for ex in examples:
        if ex.id in by_id:
            raise ValueError(f"benchmark {name}: duplicate example id {ex.id!r}")
        by_id[ex.id] = ex
    groups: dict[str, dict[int, dict]] = {}
    for rec in records:
        pid, sample = str(rec["id"]), int(rec["sample"])
        if pid not in by_id:
            raise ValueError(f"benchmark {name}: record id {pid!r} (sample {sample}) is not one of its problems")
        if sample in groups.setdefault(pid, {}):
            raise ValueError(f"benchmark {name}: problem {pid!r} has sample {sample} twice")
        groups[pid][sample] = rec
    problems = [ex for ex in examples if ex.id in groups]
    recs = [[groups[ex.id][s] for s in sorted(groups[ex.id])] for ex in problems]
    return problems, recs


def _pass_stats(ns: np.ndarray, cs: np.ndarray, ks: Sequence[int], n_boot: int, seed: int) -> dict:
    out = {}
    for k in ks:
        values = pass_at_k_per_problem(ns, cs, k)
        low, high = bootstrap_ci(values, n_boot=n_boot, seed=seed)
        out[f"pass@{k}"] = {"value": float(values.mean()), "ci_low": low, "ci_high": high}
    return out


def _rate(flags: list[bool]) -> float | None:
    return float(np.mean(flags)) if flags else None


def _tokens(value) -> int | None:
    if value is None:
        return None
    return len(value) if isinstance(value, (list, tuple)) else int(value)


def benchmark_summary(
    name: str,
    examples: Sequence,
    records: Sequence[dict],
    ks: Sequence[int],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    scoring: str | None = None,
    mode: str = "official",
) -> dict:
    """Metrics of one benchmark. examples: its problems; records: [samples] dicts (see module docstring)."""
    problems, recs = _group(name, examples, records)
    if not problems:
        raise ValueError(f"benchmark {name}: no scored samples")
    ns = np.array([len(r) for r in recs])
    cs = np.array([sum(bool(x["correct"]) for x in r) for r in recs])
    n_min = int(ns.min())
    for k in ks:
        if k > n_min:
            worst = problems[int(ns.argmin())].id
            raise ValueError(f"benchmark {name}: k={k} exceeds the {n_min} sample(s) of problem {worst!r}")
    flat = [x for r in recs for x in r]
    extracted = [x.get("extracted") not in (None, "") for x in flat]
    finish = [x["finish_reason"] == "length" for x in flat if x.get("finish_reason") is not None]
    tokens = [t for t in (_tokens(x.get("tokens")) for x in flat) if t is not None]
    source = problems[0].source
    summary = {
        "source": source,
        "scoring": scoring or rules.label(source, mode),
        "n_problems": len(problems),
        "n_problems_total": len(examples),
        "n_problems_missing": len(examples) - len(problems),
        "n_samples": len(flat),
        "samples_per_problem": {"min": n_min, "max": int(ns.max())},
        "metrics": _pass_stats(ns, cs, ks, n_boot, seed),
        "format_rate": _rate(extracted),
        "truncation_rate": _rate(finish),
        "mean_response_tokens": float(np.mean(tokens)) if tokens else None,
        "subsets": {},
        "extra": rules.aggregate(source, problems, [[bool(x["correct"]) for x in r] for r in recs]),
    }
    members: dict[str, dict[str, list[int]]] = {}
    for i, ex in enumerate(problems):
        for key, value in (rules.subset_keys(ex) or rules.metadata_subsets(ex, GENERIC_SUBSETS)).items():
            for v in value if isinstance(value, list) else [value]:
                members.setdefault(key, {}).setdefault(v, []).append(i)
    for key in sorted(members):
        summary["subsets"][key] = {
            v: {"n_problems": len(idx), **_pass_stats(ns[idx], cs[idx], ks, n_boot, seed)}
            for v, idx in sorted(members[key].items())
        }
    summary["curve"] = {
        str(k): float(pass_at_k_per_problem(ns, cs, k).mean())
        for k in range(1, min(n_min, CURVE_POINTS_MAX) + 1)
    }
    summary["curve_ci"] = {
        k: list(bootstrap_ci(pass_at_k_per_problem(ns, cs, int(k)), n_boot=n_boot, seed=seed)) for k in summary["curve"]
    }
    return summary


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}"


def _metric_cells(metrics: dict, ks: Sequence[int]) -> list[str]:
    return [
        f"{_pct(metrics[f'pass@{k}']['value'])} [{_pct(metrics[f'pass@{k}']['ci_low'])}, "
        f"{_pct(metrics[f'pass@{k}']['ci_high'])}]"
        for k in ks
    ]


def _markdown(summary: dict) -> str:
    ks = summary["ks"]
    lines = [f"# Evaluation summary (mode: {summary['mode']})", ""]
    for key, value in (summary.get("extra_info") or {}).items():
        lines.append(f"- {key}: {value}")
    lines += ["", "Pass@k in percent with 95% bootstrap intervals over problems. Every sample, with its image and "
              "extracted answer: `uec-vlm eval view RUN` (view.html).", "", "![Pass@k](pass_at_k.png)", ""]
    head = ["benchmark", "scoring", "problems", "samples/problem"] + [f"Pass@{k}" for k in ks]
    head += ["format %", "truncated %", "mean tokens"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, b in summary["benchmarks"].items():
        spp = b["samples_per_problem"]
        row = [name, b["scoring"], f"{b['n_problems']}/{b['n_problems_total']}", f"{spp['min']}-{spp['max']}"]
        row += _metric_cells(b["metrics"], ks)
        tok = b["mean_response_tokens"]
        row += [_pct(b["format_rate"]), _pct(b["truncation_rate"]), "n/a" if tok is None else f"{tok:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    for name, b in summary["benchmarks"].items():
        if b["n_problems_missing"]:
            lines += ["", f"**{name}: {b['n_problems_missing']} problem(s) have no samples and are not scored.**"]
        if b["extra"]:
            lines += ["", f"## {name}: benchmark-specific metrics", "", "```json"]
            lines += [json.dumps(b["extra"], indent=2), "```"]
        for key, values in b["subsets"].items():
            lines += ["", f"## {name} by {key}", ""]
            lines += ["| " + " | ".join([key, "problems"] + [f"Pass@{k}" for k in ks]) + " |"]
            lines += ["|" + "---|" * (2 + len(ks))]
            for v, m in values.items():
                lines.append("| " + " | ".join([v, str(m["n_problems"])] + _metric_cells(m, ks)) + " |")
    return "\n".join(lines) + "\n"


def _write_csvs(run_dir: str, summary: dict) -> None:
    ks = summary["ks"]
    cols = ["benchmark", "subset_key", "subset_value", "n_problems"]
    for k in ks:
        cols += [f"pass@{k}", f"pass@{k}_ci_low", f"pass@{k}_ci_high"]
    with open(os.path.join(run_dir, "metrics.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for name, b in summary["benchmarks"].items():
            rows = [("all", "all", b["n_problems"], b["metrics"])]
            rows += [(key, v, m["n_problems"], m) for key, vals in b["subsets"].items() for v, m in vals.items()]
            for key, v, n, m in rows:
                cells = [name, key, v, n]
                for k in ks:
                    cells += [m[f"pass@{k}"][f] for f in ("value", "ci_low", "ci_high")]
                w.writerow(cells)
    with open(os.path.join(run_dir, "pass_at_k_curve.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["benchmark", "k", "pass_at_k"])
        for name, b in summary["benchmarks"].items():
            for k, value in b["curve"].items():
                w.writerow([name, k, value])


def _plot(run_dir: str, summary: dict) -> None:
    """Pass@k against k (log2 axis, a labelled tick at every k measured) with 95% bootstrap bands."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullLocator

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    all_ks: set[int] = set()
    for i, (name, b) in enumerate(summary["benchmarks"].items()):
        ks = [int(k) for k in b["curve"]]
        all_ks.update(ks)
        ax.plot(ks, [100 * v for v in b["curve"].values()], "o-", color=f"C{i}", label=name, markersize=4)
        ci = b.get("curve_ci") or {}
        if ci:
            ax.fill_between(ks, [100 * ci[str(k)][0] for k in ks], [100 * ci[str(k)][1] for k in ks],
                            color=f"C{i}", alpha=0.2, linewidth=0)
    ticks = sorted(all_ks)
    if len(ticks) > 12:  # keep the labels readable: powers of two and the largest k
        ticks = sorted({k for k in ticks if k & (k - 1) == 0} | {ticks[-1]})
    if len(all_ks) > 1:
        ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(k) for k in ticks])
    ax.set_ylim(0, 100)
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("Pass@k (%)")
    ax.set_title("Unbiased Pass@k, 95% bootstrap interval over problems")
    ax.grid(True, alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncols=min(3, len(summary["benchmarks"])))
    fig.savefig(os.path.join(run_dir, "pass_at_k.png"), dpi=120)


def write_report(
    run_dir: str | os.PathLike,
    benchmarks: dict[str, tuple[Sequence, Sequence[dict]]],
    ks: Sequence[int],
    *,
    mode: str = "official",
    extra_info: dict | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    scoring_labels: dict[str, str] | None = None,
) -> dict:
    """Summarise every benchmark and write the report files into `run_dir`; returns the summary dict.

    scoring_labels: {benchmark: label} overriding the rule's own label (e.g. when an LLM judge scored it).
    """
    rules.check_mode(mode)
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"write_report: ks must be positive integers (got {ks})")
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    summary = {
        "mode": mode,
        "ks": ks,
        "n_boot": n_boot,
        "extra_info": dict(extra_info or {}),
        "benchmarks": {
            name: benchmark_summary(
                name, exs, recs, ks, n_boot=n_boot, seed=seed, scoring=(scoring_labels or {}).get(name), mode=mode
            )
            for name, (exs, recs) in benchmarks.items()
        },
    }
    with open(os.path.join(run_dir, "summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=2, ensure_ascii=False)
    with open(os.path.join(run_dir, "summary.md"), "w", encoding="utf-8") as fh:
        fh.write(_markdown(summary))
    _write_csvs(run_dir, summary)
    _plot(run_dir, summary)
    return summary
