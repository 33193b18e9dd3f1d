"""Training curves from a run's metrics.jsonl, drawn as PNG files (matplotlib, no display needed).

    reward.png               every `reward/<component>` and `reward/pass_rate`; keys whose series are identical
                             (accuracy = overall = train with an accuracy-only reward) are one labelled line
    entropy.png              `entropy/mean`, with the p10-p90 band and the p50 line when logged
    pass_rate_by_bucket.png  share of prompts in each difficulty bucket (`uec/bucket/<name>/count`), and the
                             pass rate of the buckets where it is not constant by definition (hard = 0 and
                             solved = 1 are left out: `uec/bucket/<name>/pass_rate`, `uec/pass_rate/<name>`, ...)
    response_length.png      `response/length_mean`, and `response/truncation_rate` on a right axis (both from 0)
    validation.png           every held-out `val/<set>/pass@1`, at the steps it was run
    sft_loss.png             `sft/loss` of a supervised run

Noisy per-step series are drawn faintly with a 10-step moving average on top. Rates use a fixed [0, 1]
axis, lengths and entropies start at 0, legends sit below the axes so they never cover data.
A figure whose keys are absent is skipped with a note; the others are still drawn.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uec_vlm.trainer.run_dir import MetricsFileError, read_metrics

_BUCKET_PATTERNS = (
    re.compile(r"^uec/bucket/(.+)/pass_rate$"),
    re.compile(r"^uec/pass_rate/(.+)$"),
    re.compile(r"^bucket/(.+)/pass_rate$"),
)


SMOOTH_WINDOW = 10


@dataclass
class Curve:
    label: str
    steps: list[int]
    values: list[float]
    style: str = "-"
    right_axis: bool = False
    smooth: bool = False  # noisy per-step series: faint raw line + moving average


@dataclass
class Figure:
    """One PNG: curves over steps, an optional shaded band (label, steps, low, high)."""

    name: str
    title: str
    ylabel: str
    curves: list[Curve]
    band: tuple[str, list[int], list[float], list[float]] | None = None
    right_ylabel: str | None = None
    ylim: tuple[float, float | None] | None = None
    right_ylim: tuple[float, float] | None = None


def series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of the rows that hold `key`, in file order."""
    steps = [row["step"] for row in rows if key in row]
    return steps, [row[key] for row in rows if key in row]


def _curve(rows, key: str, label: str | None = None, **kwargs) -> Curve:
    steps, values = series(rows, key)
    return Curve(label or key, steps, values, **kwargs)


def bucket_keys(keys: Sequence[str]) -> dict[str, str]:
    """Difficulty bucket name -> its pass-rate metric key, for the three accepted spellings."""
    found: dict[str, str] = {}
    for key in keys:
        for pattern in _BUCKET_PATTERNS:
            match = pattern.match(key)
            if match:
                found.setdefault(match.group(1), key)
    return found


def _same_series(rows, keys: list[str]) -> list[list[str]]:
    """Group keys whose (steps, values) are identical, in first-seen order."""
    groups: dict[tuple, list[str]] = {}
    for key in keys:
        steps, values = series(rows, key)
        groups.setdefault((tuple(steps), tuple(values)), []).append(key)
    return list(groups.values())


def plan_figures(rows: Sequence[dict[str, Any]]) -> tuple[list[Figure], list[str]]:
    """Which figures the rows support, with their data; plus one note per figure skipped.

    Pure (no drawing), so what goes into each PNG is testable exactly.
    """
    keys = list(dict.fromkeys(k for row in rows for k in row if k != "step"))
    figures: list[Figure] = []
    notes: list[str] = []

    reward_keys = [k for k in keys if k.startswith("reward/")]
    if reward_keys:
        curves = [_curve(rows, group[0], " = ".join(k[len("reward/"):] for k in group), smooth=True)
                  for group in _same_series(rows, reward_keys)]
        values = [v for c in curves for v in c.values]
        unit = (0.0, 1.0) if values and min(values) >= 0 and max(values) <= 1 else None
        figures.append(Figure("reward", "Training reward", "mean over the step's rollouts", curves, ylim=unit))
    else:
        notes.append("skipped reward.png: no reward/<component> keys")

    if "entropy/mean" in keys:
        fig = Figure("entropy", "Token entropy (trained tokens)", "nats / token",
                     [_curve(rows, "entropy/mean", "mean", smooth=True)], ylim=(0.0, None))
        if "entropy/p50" in keys:
            fig.curves.append(_curve(rows, "entropy/p50", "p50", style="--"))
        if "entropy/p10" in keys and "entropy/p90" in keys:
            low = {r["step"]: r["entropy/p10"] for r in rows if "entropy/p10" in r and "entropy/p90" in r}
            high = {r["step"]: r["entropy/p90"] for r in rows if "entropy/p10" in r and "entropy/p90" in r}
            fig.band = ("p10-p90", list(low), list(low.values()), list(high.values()))
        else:
            notes.append("entropy.png: no entropy/p10 and entropy/p90 keys, drawn without the band")
        figures.append(fig)
    else:
        notes.append("skipped entropy.png: no entropy/mean key")

    buckets = bucket_keys(keys)
    if buckets:
        curves = []
        counts = {name: f"uec/bucket/{name}/count" for name in buckets if f"uec/bucket/{name}/count" in keys}
        for name, key in counts.items():
            steps, shares = [], []
            for row in rows:
                total = sum(row.get(k, 0) for k in counts.values())
                if key in row and total > 0:
                    steps.append(row["step"])
                    shares.append(row[key] / total)
            curves.append(Curve(f"{name}: share of prompts", steps, shares, smooth=True))
        for name, key in buckets.items():
            c = _curve(rows, key, f"{name}: pass rate", style="--", smooth=True)
            if len(set(c.values)) > 1:  # hard = 0 and solved = 1 by definition say nothing
                curves.append(c)
        figures.append(Figure("pass_rate_by_bucket", "Difficulty buckets", "share / pass rate", curves,
                              ylim=(0.0, 1.0)))
    else:
        notes.append("skipped pass_rate_by_bucket.png: no uec/bucket/<name>/pass_rate keys")

    if "response/length_mean" in keys:
        fig = Figure("response_length", "Response length", "tokens",
                     [_curve(rows, "response/length_mean", "mean length", smooth=True)], ylim=(0.0, None))
        if "response/truncation_rate" in keys:
            fig.curves.append(_curve(rows, "response/truncation_rate", "truncation rate (right axis)", style=":",
                                     right_axis=True))
            fig.right_ylabel, fig.right_ylim = "truncation rate", (0.0, 1.0)
        figures.append(fig)
    else:
        notes.append("skipped response_length.png: no response/length_mean key")

    val_keys = [k for k in keys if k.startswith("val/") and k.endswith("/pass@1")]
    if val_keys:
        figures.append(Figure("validation", "Held-out validation", "Pass@1",
                              [_curve(rows, k, k[len("val/"):-len("/pass@1")] or "val", style="o-")
                               for k in val_keys], ylim=(0.0, 1.0)))
    else:
        notes.append("skipped validation.png: no val/<set>/pass@1 keys")

    if "sft/loss" in keys:
        figures.append(Figure("sft_loss", "Supervised warm start", "cross-entropy per target token",
                              [_curve(rows, "sft/loss", "loss")], ylim=(0.0, None)))  # smooth already
    return figures, notes


def moving_average(values: Sequence[float], window: int = SMOOTH_WINDOW) -> list[float]:
    """Trailing mean over up to `window` values (the first points average what exists so far)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def draw(figure: Figure, path: Path) -> None:
    """Render one Figure to a PNG file (matplotlib's Agg canvas, no pyplot global state)."""
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator

    fig = MplFigure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    right = ax.twinx() if any(c.right_axis for c in figure.curves) else None
    smoothed = False
    if figure.band is not None:
        label, steps, low, high = figure.band
        ax.fill_between(steps, low, high, alpha=0.25, label=label)
    for i, curve in enumerate(figure.curves):
        target = right if curve.right_axis and right is not None else ax
        # explicit colours: a twin axis restarts the colour cycle and would repeat C0
        if curve.smooth and len(curve.values) > SMOOTH_WINDOW:
            target.plot(curve.steps, curve.values, curve.style, color=f"C{i}", alpha=0.25, linewidth=0.8)
            target.plot(curve.steps, moving_average(curve.values), curve.style, color=f"C{i}", label=curve.label)
            smoothed = True
        else:
            target.plot(curve.steps, curve.values, curve.style, color=f"C{i}", label=curve.label, markersize=4)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(figure.title + (f"\n(faint: per step; solid: {SMOOTH_WINDOW}-step mean)" if smoothed else ""),
                 fontsize="medium")
    ax.set_xlabel("step")
    ax.set_ylabel(figure.ylabel)
    if figure.ylim is not None:
        ax.set_ylim(*figure.ylim)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel(figure.right_ylabel or "")
        if figure.right_ylim is not None:
            right.set_ylim(*figure.right_ylim)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    fig.legend(handles, labels, fontsize="small", loc="outside lower center", ncols=min(2, max(1, len(labels))))
    fig.savefig(path, dpi=100)


def plot_run(run: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> tuple[list[Path], list[str]]:
    """Draw the curves of run directory `run` into `out_dir` (default RUN/plots/).

    Returns (paths written, notes about skipped figures). Raises MetricsFileError naming the file when
    RUN/metrics.jsonl is missing, malformed or has no rows.
    """
    metrics_path = Path(run) / "metrics.jsonl"
    rows = read_metrics(metrics_path)
    if not rows:
        raise MetricsFileError(f"{metrics_path} has no metric rows: nothing to plot")
    figures, notes = plan_figures(rows)
    out = Path(out_dir) if out_dir is not None else Path(run) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for figure in figures:
        path = out / f"{figure.name}.png"
        draw(figure, path)
        paths.append(path)
    return paths, notes


def plots_markdown(paths: Sequence[Path], base: str | os.PathLike) -> list[str]:
    """Markdown image lines for PNG files, with paths relative to the folder of the Markdown file."""
    return [f"![{Path(p).stem}]({os.path.relpath(p, base)})" for p in paths]


def embed_plots(run: str | os.PathLike) -> list[Path]:
    """Draw RUN's curves into RUN/plots/ and append them to RUN/summary.md; returns the PNG paths."""
    paths, _ = plot_run(run)
    summary = Path(run) / "summary.md"
    if paths and summary.exists():
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write("\n## Curves\n\n" + "\n\n".join(plots_markdown(paths, run)) + "\n")
    return paths
