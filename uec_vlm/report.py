"""Training curves from a run's metrics.jsonl, drawn as PNG files (matplotlib, no display needed).

    reward.png               every `reward/<component>` key (overall, accuracy, format, ...)
    entropy.png              `entropy/mean`, with the p10-p90 band and the p50 line when logged
    pass_rate_by_bucket.png  `uec/bucket/<name>/pass_rate` (also `uec/pass_rate/<name>`, `bucket/<name>/pass_rate`)
    response_length.png      `response/length_mean`, and `response/truncation_rate` on a right axis
    validation.png           every `val/...` key (e.g. `val/mathvista/pass@1`), at the steps it was run

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


@dataclass
class Curve:
    label: str
    steps: list[int]
    values: list[float]
    style: str = "-"
    right_axis: bool = False


@dataclass
class Figure:
    """One PNG: curves over steps, an optional shaded band (label, steps, low, high)."""

    name: str
    title: str
    ylabel: str
    curves: list[Curve]
    band: tuple[str, list[int], list[float], list[float]] | None = None
    right_ylabel: str | None = None


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


def plan_figures(rows: Sequence[dict[str, Any]]) -> tuple[list[Figure], list[str]]:
    """Which figures the rows support, with their data; plus one note per figure skipped.

    Pure (no drawing), so what goes into each PNG is testable exactly.
    """
    keys = list(dict.fromkeys(k for row in rows for k in row if k != "step"))
    figures: list[Figure] = []
    notes: list[str] = []

    reward_keys = [k for k in keys if k.startswith("reward/")]
    if reward_keys:
        figures.append(Figure("reward", "Reward and accuracy", "mean over rollouts",
                              [_curve(rows, k) for k in reward_keys]))
    else:
        notes.append("skipped reward.png: no reward/<component> keys")

    if "entropy/mean" in keys:
        fig = Figure("entropy", "Token entropy", "nats / token", [_curve(rows, "entropy/mean", "mean")])
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
        figures.append(Figure("pass_rate_by_bucket", "Pass rate by difficulty bucket", "pass rate",
                              [_curve(rows, key, name) for name, key in buckets.items()]))
    else:
        notes.append("skipped pass_rate_by_bucket.png: no uec/bucket/<name>/pass_rate keys")

    if "response/length_mean" in keys:
        fig = Figure("response_length", "Response length", "tokens", [_curve(rows, "response/length_mean", "mean length")])
        if "response/truncation_rate" in keys:
            fig.curves.append(_curve(rows, "response/truncation_rate", "truncation rate", style=":", right_axis=True))
            fig.right_ylabel = "truncation rate"
        figures.append(fig)
    else:
        notes.append("skipped response_length.png: no response/length_mean key")

    val_keys = [k for k in keys if k.startswith("val/")]
    if val_keys:
        figures.append(Figure("validation", "Validation", "Pass@1",
                              [_curve(rows, k, k[len("val/"):], style="o-") for k in val_keys]))
    else:
        notes.append("skipped validation.png: no val/<benchmark>/pass@1 keys")
    return figures, notes


def draw(figure: Figure, path: Path) -> None:
    """Render one Figure to a PNG file (matplotlib's Agg canvas, no pyplot global state)."""
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator

    fig = MplFigure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    right = ax.twinx() if any(c.right_axis for c in figure.curves) else None
    if figure.band is not None:
        label, steps, low, high = figure.band
        ax.fill_between(steps, low, high, alpha=0.25, label=label)
    for i, curve in enumerate(figure.curves):
        target = right if curve.right_axis and right is not None else ax
        # explicit colours: a twin axis restarts the colour cycle and would repeat C0
        target.plot(curve.steps, curve.values, curve.style, color=f"C{i}", label=curve.label, markersize=4)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(figure.title)
    ax.set_xlabel("step")
    ax.set_ylabel(figure.ylabel)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel(figure.right_ylabel or "")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize="small", loc="best")
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
