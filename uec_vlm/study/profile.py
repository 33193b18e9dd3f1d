"""A study task before RL: per-problem pass rates and Pass@k vs k of the shared warm start.

`uec-vlm study CONFIG --profile N` samples N responses per held-out problem from the study's warm start
(the eval settings of the study, N samples instead of eval.n) and writes, into the report folder:
profile.json (every number), passrate_hist.png (problems by pass rate), passk_curve.png (mean Pass@k for
k = 1, 2, 4, ..., N) and profile.md (the tables). What it answers: is the task one where exploration can
matter, i.e. a low Pass@1 with many 0/n problems that more samples do solve?
"""

from __future__ import annotations

import json
from pathlib import Path

from uec_vlm.study.spec import StudySpec

PROFILE_DIR = "profile"


def _ks(n: int) -> list[int]:
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    return ks if ks[-1] == n else [*ks, n]


def summarise(counts: dict[str, tuple[int, int]], groups: dict[str, str], first_n: int) -> dict:
    """counts {problem: (n samples, c correct)}, the first `first_n` samples' correct counts folded in as
    (n, c, c_first) -> pass-rate histogram, Pass@k per k (overall and per group), and the rescue numbers."""
    from evals.metrics import pass_at_k

    n = min(v[0] for v in counts.values())
    ks = _ks(n)
    rates = {p: c / m for p, (m, c, _) in counts.items()}
    zero_first = [p for p, v in counts.items() if v[2] == 0]
    out = {
        "problems": len(counts), "samples_per_problem": n, "ks": ks,
        "pass_at_k": {str(k): sum(pass_at_k(m, c, k) for m, c, _ in counts.values()) / len(counts) for k in ks},
        "histogram": _histogram(list(rates.values())),
        "zero_of_first": {"n": first_n, "problems": len(zero_first),
                          "solved_within_all": sum(counts[p][1] > 0 for p in zero_first)},
        "never_solved": sum(c == 0 for _, c, _ in counts.values()),
        "by_group": {},
    }
    for g in sorted(set(groups.values())):
        mine = [v for p, v in counts.items() if groups.get(p) == g]
        out["by_group"][g] = {"problems": len(mine),
                              "pass_at_k": {str(k): sum(pass_at_k(m, c, k) for m, c, _ in mine) / len(mine)
                                            for k in ks}}
    return out


def _histogram(rates: list[float], bins: int = 10) -> dict:
    """{"0": problems with rate 0, "(0.0,0.1]": ..., "(0.9,1.0)": ..., "1": problems with rate 1}."""
    hist = {"0": sum(r == 0 for r in rates)}
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        label = f"({lo:.1f},{hi:.1f}" + (")" if i == bins - 1 else "]")
        hist[label] = sum(lo < r <= hi and r < 1 for r in rates)
    hist["1"] = sum(r == 1 for r in rates)
    return hist


def _plots(summary: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = list(summary["histogram"])
    ax.bar(range(len(labels)), list(summary["histogram"].values()), color="#4a7ab5")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_xlabel(f"pass rate over {summary['samples_per_problem']} samples")
    ax.set_ylabel("problems")
    ax.set_title("Held-out problems by pass rate, before RL")
    fig.tight_layout()
    paths.append(out / "passrate_hist.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ks = summary["ks"]
    ax.plot(ks, [100 * summary["pass_at_k"][str(k)] for k in ks], "o-", color="black", label="all")
    for g, v in summary["by_group"].items():
        ax.plot(ks, [100 * v["pass_at_k"][str(k)] for k in ks], ".--", label=g)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k")
    ax.set_ylabel("Pass@k (%)")
    ax.set_title("Pass@k vs k, before RL")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "passk_curve.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def _markdown(summary: dict, spec: StudySpec, n: int) -> str:
    ks = summary["ks"]
    z = summary["zero_of_first"]
    lines = [f"# Study `{spec.name}`: the task before RL", "",
             f"Warm start of `{spec.name}` sampled {n} times per held-out problem "
             f"({summary['problems']} problems; regenerate: `uec-vlm study {spec.source} --profile {n}`).", "",
             "| group | problems | " + " | ".join(f"pass@{k}" for k in ks) + " |",
             "|---|---|" + "---|" * len(ks),
             "| all | {} | {} |".format(summary["problems"],
                                       " | ".join(f"{100 * summary['pass_at_k'][str(k)]:.1f}" for k in ks))]
    for g, v in summary["by_group"].items():
        lines.append(f"| {g} | {v['problems']} | " + " | ".join(f"{100 * v['pass_at_k'][str(k)]:.1f}" for k in ks)
                     + " |")
    lines += ["", f"Problems with no correct sample among their first {z['n']}: {z['problems']} of "
              f"{summary['problems']}; of these, {z['solved_within_all']} are solved at least once within all "
              f"{n} samples. Never solved in {n}: {summary['never_solved']}.", "",
              "Pass-rate histogram (problems): " + ", ".join(f"{k}: {v}" for k, v in summary["histogram"].items()),
              "", "![pass-rate histogram](passrate_hist.png)", "", "![Pass@k vs k](passk_curve.png)", ""]
    return "\n".join(lines)


def profile_study(spec: StudySpec, n: int, *, first_n: int = 8, log=print) -> Path:
    """Evaluate the study's warm start with n samples per problem; write the profile into report_dir/profile."""
    from data_zoo.registry import load_dataset
    from evals.harness import run_eval
    from evals.samples import read_samples
    from uec_vlm.config_loader import load_config
    from uec_vlm.study.runner import prepare_model, warm_start

    if n < first_n:
        raise ValueError(f"--profile needs at least {first_n} samples per problem, got {n}")
    model = warm_start(spec, prepare_model(spec, log), log)
    if isinstance(model, dict):
        model = model[spec.seeds[0]]
    sources, overrides = spec.shared_config_args(model, spec.output_dir / "profile", spec.seeds[0])
    cfg = load_config(sources, [*overrides, f"model.path={model}", f"eval.n={n}", f"eval.ks={_ks(n)}",
                                f"eval.output_dir={spec.output_dir / 'profile' / f'eval_n{n}'}"])
    log(f"profile: {n} samples per problem from {model}")
    run_eval(cfg)
    records = read_samples(Path(cfg.eval.output_dir) / "samples.jsonl")
    counts, groups = {}, {}
    for spec_str, (bench, recs) in zip(cfg.eval.suite, records.items(), strict=True):
        levels = {ex.id: str(ex.metadata.get(spec.difficulty_key, "")) for ex in load_dataset(spec_str)}
        for r in recs:
            key = f"{bench}/{r['id']}"
            m, c, cf = counts.get(key, (0, 0, 0))
            counts[key] = (m + 1, c + bool(r["correct"]), cf + (bool(r["correct"]) and r["sample"] < first_n))
            groups[key] = levels.get(r["id"], "")
    summary = summarise(counts, groups if spec.difficulty_key else {}, first_n)
    out = spec.report_dir / PROFILE_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plots(summary, out)
    (out / "profile.md").write_text(_markdown(summary, spec, n))
    return out / "profile.md"
