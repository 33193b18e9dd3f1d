"""The study report: `report.json` (everything `build_study` computed), `report.md` and PNG curves with seed bands."""

from __future__ import annotations

import json
import re
from pathlib import Path

# (file stem, title, y label, curve keys: exact keys or one regex whose match makes one panel each)
FIGURES = (
    ("reward", "Training reward (mean over rollouts)", "reward/overall", ["reward/overall"]),
    ("entropy", "Token entropy of the trained batch", "nats / token", ["entropy/mean"]),
    ("difficulty", "Prompts per step in each difficulty bucket", "prompts", re.compile(r"^uec/bucket/(.+)/count$")),
    ("response_length", "Response length", "tokens", ["response/length_mean"]),
    ("validation", "In-training validation", "Pass@1", re.compile(r"^val/(.*pass@\d+)$")),
)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}"


def _cell(s: dict) -> str:
    """'mean +- std [lo, hi]' in percent; one seed gives the bare mean."""
    if s["mean"] is None:
        return "n/a"
    if s["std"] is None:
        return f"{_pct(s['mean'])} (1 seed)"
    return f"{_pct(s['mean'])} ± {_pct(s['std'])} [{_pct(s['ci_low'])}, {_pct(s['ci_high'])}]"


def _p(x) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def results_table(study: dict) -> list[str]:
    lines = []
    benches = sorted({b for m in study["methods"].values() for b in m["final"]})
    for bench in benches:
        metrics = sorted({k for m in study["methods"].values() for k in m["final"].get(bench, {})},
                         key=lambda k: int(k.split("@")[1]))
        val_keys = sorted({k for m in study["methods"].values() for k in m["best_val"]})
        head = ["method", "seeds", *[f"final {m}" for m in metrics], *[f"best {k}" for k in val_keys], "s/step"]
        lines += [f"### Held-out `{bench}`", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, m in study["methods"].items():
            row = [name, ",".join(map(str, m["seeds"]))]
            row += [_cell(m["final"][bench][k]) if k in m["final"].get(bench, {}) else "n/a" for k in metrics]
            row += [_cell(m["best_val"][k]) if k in m["best_val"] else "n/a" for k in val_keys]
            sps = m["sec_per_step"]
            row.append("n/a" if sps["mean"] is None else
                       f"{sps['mean']:.2f}" + (f" ± {sps['std']:.2f}" if sps["std"] is not None else ""))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def comparisons_table(study: dict) -> list[str]:
    head = ["method", "benchmark", "metric", "per-seed diff", "mean diff", "t-test 95% CI", "p (t-test)",
            "p (Holm)", "Cohen's d", "bootstrap diff [95% CI]", "p (bootstrap)", "problems"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, benches in study["comparisons"].items():
        for bench, metrics in benches.items():
            for metric, c in metrics.items():
                t, b = c["t_test"], c["bootstrap"]
                per_seed = ", ".join(f"{100 * d:+.1f}" for d in c["diff_per_seed"])
                lines.append("| " + " | ".join([
                    name, bench, metric, per_seed, f"{100 * c['mean_diff']:+.2f}",
                    "n/a" if t is None else f"[{100 * t['ci_low']:+.2f}, {100 * t['ci_high']:+.2f}]",
                    "n/a" if t is None else _p(t["p_value"]),
                    "n/a" if t is None or "p_holm" not in t else _p(t["p_holm"]),
                    "n/a" if t is None else f"{t['cohens_d']:.2f}",
                    "n/a" if b is None else f"{100 * b['diff']:+.2f} [{100 * b['ci_low']:+.2f}, {100 * b['ci_high']:+.2f}]",
                    "n/a" if b is None else _p(b["p_value"]), "n/a" if b is None else str(b["n"])]) + " |")
    return lines


def level_tables(study: dict) -> list[str]:
    lines = []
    benches = sorted({b for m in study["by_level"].values() for b in m})
    for bench in benches:
        levels = sorted({lv for m in study["by_level"].values() for lv in m.get(bench, {})})
        if not levels:
            continue
        lines += [f"Held-out `{bench}` Pass@1 by difficulty level (mean ± std over seeds [95% t-interval]):", "",
                  "| method | " + " | ".join(f"level {lv}" for lv in levels) + " |", "|---|" + "---|" * len(levels)]
        for name, m in study["by_level"].items():
            cells = [_cell(m[bench][lv]) if lv in m.get(bench, {}) else "n/a" for lv in levels]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def diagnostics_table(study: dict) -> list[str]:
    names = sorted({k for m in study["methods"].values() for k in m.get("diagnostics", {})})
    if not names:
        return []
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for method, m in study["methods"].items():
        cells = []
        for k in names:
            s = m.get("diagnostics", {}).get(k)
            cells.append("n/a" if s is None else f"{s['mean']:.3g}" + (f" ± {s['std']:.2g}" if s["std"] is not None else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines + [""]


def plan_panels(study: dict, keys) -> list[tuple[str, str]]:
    """(panel label, metric key) of one figure, from exact keys or a regex over every curve key present."""
    present = sorted({k for curves in study["curves"].values() for k, band in curves.items() if band})
    if isinstance(keys, list):
        return [(k, k) for k in keys if k in present]
    return [(m.group(1), k) for k in present if (m := keys.match(k))]


def draw_figures(study: dict, out: Path) -> tuple[list[Path], list[str]]:
    """One PNG per figure with data: a panel per key, a line per method, a band of +-1 std over seeds."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    paths, notes = [], []
    for stem, title, ylabel, keys in FIGURES:
        panels = plan_panels(study, keys)
        if not panels:
            notes.append(f"{stem}.png not drawn: no run logged {keys if isinstance(keys, list) else keys.pattern}")
            continue
        many = len(study["curves"]) > 10  # past 10 methods: 20 colours, dashed second half, legend outside
        fig = Figure(figsize=(5 * len(panels) + (2.2 if many else 0), 3.6), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (label, key) in zip(axes, panels):
            for i, (name, curves) in enumerate(study["curves"].items()):
                band = curves.get(key)
                if not band:
                    continue
                lo = [m - s for m, s in zip(band["mean"], band["std"])]
                hi = [m + s for m, s in zip(band["mean"], band["std"])]
                color = f"C{i}" if not many else matplotlib.colormaps["tab20"](i % 20)
                style = "--" if many and i >= 10 else "-"
                ax.plot(band["steps"], band["mean"], color=color, linestyle=style, label=name)
                ax.fill_between(band["steps"], lo, hi, color=color, alpha=0.2 if not many else 0.08)
            ax.set_title(label if len(panels) > 1 else title, fontsize="medium")
            ax.set_xlabel("step")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        if many:
            fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="x-small")
        else:
            axes[0].legend(fontsize="small")
        if len(panels) > 1:
            fig.suptitle(title)
        path = out / f"{stem}.png"
        fig.savefig(path, dpi=90)
        paths.append(path)
    return paths, notes


def write_study_report(study: dict, out_dir: str | Path, *, header: list[str] | None = None,
                       notes: str = "") -> list[Path]:
    """Write report.json, report.md and the PNGs into out_dir; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pngs, fig_notes = draw_figures(study, out)
    (out / "report.json").write_text(json.dumps(study, indent=2) + "\n")
    lines = [*(header or []), "## Results", "",
             "Percent. Final = held-out eval of each run's last checkpoint; best = best in-training validation "
             "(if the runs validated). mean ± std over seeds [95% t-interval]; s/step = mean seconds per "
             "training step (validation excluded).", "", *results_table(study),
             f"## Paired comparisons against `{study['baseline']}`", "",
             "Differences in points (method - baseline) on matched seeds and problems. The t-test is over seeds "
             "(training noise); the bootstrap is over problems of the seed-averaged scores (problem-sample "
             "noise only). p (Holm): the t-test's p adjusted (Holm-Bonferroni) over all the methods compared "
             "with the baseline on that benchmark and metric, which keeps the chance of any false positive "
             "among them at alpha.", "", *comparisons_table(study), "",
             "Verdicts (Pass@1, alpha 0.05, decided on the Holm-adjusted p when several methods are compared):", "",
             *[f"- {v}" for v in study["verdicts"]], ""]
    levels = level_tables(study)
    if levels:
        lines += ["## By difficulty", "", *levels]
    diag = diagnostics_table(study)
    if diag:
        lines += ["## Training diagnostics", "",
                  "Per run, then mean ± std over seeds: optimizer updates (replays not counted); hard_share = share "
                  "of a step's prompts with no correct rollout; explore_success = share of explored hard prompts "
                  "that got a correct sample; retained_share = share of samples kept by retention; "
                  "train_pass_rate_end = rollout pass rate over the last 10 steps; steps and rollout_tokens = training steps "
                  "run and response tokens generated (equal across methods under trainer.rollout_token_budget).", "",
                  *diag]
    lines += ["## Curves", "", "Mean over seeds with a ±1 std band.", ""]
    lines += [f"![{p.stem}]({p.name})" for p in pngs] + [f"- {n}" for n in fig_notes] + [""]
    if notes.strip():
        lines += ["## Discussion", "", notes.strip(), ""]
    (out / "report.md").write_text("\n".join(lines))
    return [out / "report.json", out / "report.md", *pngs]
