"""One training run's directory: resolved config, per-step metrics, end-of-run summary, TensorBoard events.

Layout (everything a run writes lives under its root):

    RUN/config.yaml        resolved config (plain dict -> YAML)
    RUN/metrics.jsonl      one JSON object per logged step: {"step": N, "<key>": value, ...}
    RUN/summary.md         human-readable summary written at the end
    RUN/events/            TensorBoard event files
    RUN/checkpoints/       step_N/ checkpoints (see `uec_vlm.trainer.checkpoint`)
    RUN/plots/             PNG curves from `uec-vlm report RUN`

Pure Python (json, yaml, os): importing it costs nothing, so `uec-vlm report` can read runs without torch.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class MetricsFileError(ValueError):
    """metrics.jsonl is missing, empty or malformed; the message names the file (and line)."""


def _fsync_write(path: Path, text: str, mode: str) -> None:
    with open(path, mode, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _atomic_write_text(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one (a crash mid-write keeps the old)."""
    tmp = path.with_name(path.name + ".tmp")
    _fsync_write(tmp, text, "w")
    os.replace(tmp, path)


def _parse_lines(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(raw line with its newline, parsed row) for every row of a metrics file, in file order.

    Each row is written with one write ending in a newline, so an unparseable LAST line without a newline
    is a write in progress (or one cut by a crash): it is left out. Any other bad line is an error.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    rows: list[tuple[str, dict[str, Any]]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            if lineno == len(lines) and not line.endswith("\n"):
                break
            raise MetricsFileError(f"{path}:{lineno}: not a JSON object ({e})") from e
        if not isinstance(row, dict) or not isinstance(row.get("step"), int):
            raise MetricsFileError(f"{path}:{lineno}: expected an object with an integer 'step', got {line!r}")
        rows.append((line if line.endswith("\n") else line + "\n", row))
    return rows


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All rows of a metrics.jsonl, in file order. NaN/Infinity values come back as float nan/inf.

    Raises MetricsFileError naming the file when it is missing or malformed (an empty file gives []).
    """
    path = Path(path)
    if not path.is_file():
        raise MetricsFileError(f"metrics file not found: {path}")
    return [row for _, row in _parse_lines(path)]


def _clean_value(key: str, value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _clean_value(key, item())
        except (RuntimeError, ValueError) as e:  # a tensor/array with more than one element
            raise TypeError(f"metric {key!r}: expected a scalar, got {type(value).__name__} ({e})") from e
    raise TypeError(f"metric {key!r}: expected a number or None, got {type(value).__name__}: {value!r}")


def clean_metrics(metrics: Mapping[str, Any]) -> dict[str, int | float]:
    """Validate one step's metrics: str keys, scalar values (numpy/torch 0-d scalars unwrapped).

    None values are skipped (a metric not computed this step); NaN/inf are kept as they are.
    Raises TypeError naming the offending key.
    """
    out: dict[str, int | float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"metric names must be non-empty strings, got {key!r}")
        if key == "step":
            raise TypeError("'step' is reserved in metrics.jsonl; pass the step as the step argument")
        cleaned = _clean_value(key, value)
        if cleaned is not None:
            out[key] = cleaned
    return out


def _find_unrepresentable(obj: Any, where: str) -> str | None:
    """Dotted path of the first value yaml.safe_dump cannot write, for an error message."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)):
                return f"{where}{k!r} (key of type {type(k).__name__})"
            found = _find_unrepresentable(v, f"{where}{k}.")
            if found:
                return found
        return None
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found = _find_unrepresentable(v, f"{where}{i}.")
            if found:
                return found
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return None
    return f"{where.rstrip('.')} (type {type(obj).__name__})"


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        text = "nan" if math.isnan(value) else f"{value:.6g}"
    elif isinstance(value, (str, int)):
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text.replace("|", "\\|").replace("\n", " ")


def _flatten(summary: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            items.extend(_flatten(value, f"{prefix}{key}/"))
        else:
            items.append((f"{prefix}{key}", value))
    return items


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """A two-column Markdown table of a (possibly nested) dict; nested keys are joined with '/'.

    Floats print with 6 significant digits; lists and other values as JSON.
    """
    lines = ["# Run summary", "", "| key | value |", "| --- | --- |"]
    lines += [f"| {_format_cell(k)} | {_format_cell(v)} |" for k, v in _flatten(summary)]
    return "\n".join(lines) + "\n"


class RunDir:
    """The directory of one run. Creating it creates the root (TensorBoard creates `events/` when it writes).

    `append_metrics` enforces non-decreasing steps, so a resumed run that forgot to truncate the
    metrics of the steps it re-runs fails loudly instead of writing the same steps twice.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._last_step: int | None = None
        if self.metrics_path.exists():
            rows = _parse_lines(self.metrics_path)
            self._last_step = rows[-1][1]["step"] if rows else None

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.root / "summary.md"

    @property
    def events_dir(self) -> Path:
        return self.root / "events"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def last_step(self) -> int | None:
        """Step of the last row in metrics.jsonl, or None when no step was logged."""
        return self._last_step

    def write_config(self, config: Mapping[str, Any]) -> Path:
        """Write the resolved config as YAML (key order kept); replaces an existing config.yaml.

        Raises TypeError naming the first key whose value is not plain data (str/number/bool/None/
        list/dict) — convert Paths, enums and dataclasses before passing the config in.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        bad = _find_unrepresentable(config, "")
        if bad:
            raise TypeError(f"config value is not plain data and cannot be written to YAML: {bad}")
        text = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
        _atomic_write_text(self.config_path, text)
        return self.config_path

    def append_metrics(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Append one row `{"step": step, **metrics}` and fsync it, so a crash loses at most this row.

        Values go through `clean_metrics` (None skipped). NaN/inf are written as the JSON extensions
        NaN/Infinity (Python's json reads them back; strict JSON parsers do not). A step may be logged
        several times (e.g. train metrics then validation) but never smaller than the last one.
        Returns the row written.
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise TypeError(f"step must be a non-negative int, got {step!r}")
        step = int(step)
        if self._last_step is not None and step < self._last_step:
            raise ValueError(
                f"{self.metrics_path}: step {step} logged after step {self._last_step}; when resuming, "
                f"truncate the metrics to the resumed step first (RunDir.truncate_metrics)"
            )
        row = {"step": step, **clean_metrics(metrics)}
        _fsync_write(self.metrics_path, json.dumps(row, allow_nan=True) + "\n", "a")
        self._last_step = step
        return row

    def truncate_metrics(self, after_step: int) -> int:
        """Drop the rows with step > after_step (they are re-run after resuming from after_step).

        Kept rows stay byte-identical, so N/2 steps + resume + N/2 steps gives the file of N straight
        steps. A torn final row from a crash is dropped as well. Returns how many rows were dropped.
        """
        if not self.metrics_path.exists():
            self._last_step = None
            return 0
        rows = _parse_lines(self.metrics_path)
        kept = [line for line, row in rows if row["step"] <= after_step]
        _atomic_write_text(self.metrics_path, "".join(kept))
        kept_steps = [row["step"] for _, row in rows if row["step"] <= after_step]
        self._last_step = kept_steps[-1] if kept_steps else None
        return len(rows) - len(kept)

    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """Write summary.md: a Markdown table of `summary` (see `summary_markdown`)."""
        _atomic_write_text(self.summary_path, summary_markdown(summary))
        return self.summary_path


# Keys whose change does not change what a resumed run trains: logging, saving, validation, evaluation,
# where things run, and the length of the run (extending `trainer.steps` is the usual reason to resume).
RESUME_NEUTRAL_KEYS = frozenset({
    "trainer.steps", "trainer.output_dir", "trainer.resume", "trainer.allow_config_change", "trainer.save_every",
    "trainer.keep_last", "trainer.val_every", "trainer.val_n", "trainer.val_temperature", "trainer.max_bad_steps",
    "trainer.console", "trainer.tensorboard", "trainer.wandb", "trainer.wandb_project", "trainer.distributed",
    "data.val", "data.adapter_modules", "data.on_error",
    "model.device", "model.attn_implementation", "model.gradient_checkpointing",
    "reward.workers", "rollout.prompts_per_batch", "rollout.vllm_gpu_memory_utilization",
})
RESUME_NEUTRAL_SECTIONS = ("eval.", "sft.")


def _flat(config: Mapping[str, Any], leaf_keys: frozenset[str], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value; a dict-valued field (`reward.weights`) is one value, a section is descended."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in leaf_keys:
            out.update(_flat(value, leaf_keys, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def config_changes(saved: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) for every key that changes training; keys one side lacks are ignored
    (a config written by an older version has fewer keys)."""
    from uec_vlm.config import Config
    from uec_vlm.config_checks import leaves

    leaf_keys = frozenset(key for key, _ in leaves(Config()))
    a, b = _flat(saved, leaf_keys), _flat(new, leaf_keys)
    return [(k, a[k], b[k]) for k in sorted(a.keys() & b.keys())
            if a[k] != b[k] and k not in RESUME_NEUTRAL_KEYS and not k.startswith(RESUME_NEUTRAL_SECTIONS)]


def check_resume_config(saved_path: str | os.PathLike, new: Mapping[str, Any], *, allow: bool) -> list[str]:
    """Refuse (ConfigError naming the keys) to resume a run whose saved config differs in a key that changes
    training, unless `allow`; returns the changed keys (empty when none or when there is no saved config)."""
    from uec_vlm.config import ConfigError

    path = Path(saved_path)
    if not path.is_file():
        return []
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: unreadable saved config ({e}); set trainer.allow_config_change=true to "
                          "resume without comparing") from None
    if not isinstance(saved, Mapping):
        return []
    changes = config_changes(saved, new)
    listed = ", ".join(f"{k} ({old!r} -> {cur!r})" for k, old, cur in changes)
    if changes and not allow:
        raise ConfigError(
            f"refusing to resume {path.parent}: its {path.name} differs in keys that change training: {listed}. "
            "Use another trainer.output_dir, trainer.resume=never to start over, or "
            "trainer.allow_config_change=true to continue with the new values")
    if changes:
        print(f"resuming {path.parent} with changed keys (trainer.allow_config_change=true): {listed}")
    return [k for k, _, _ in changes]
