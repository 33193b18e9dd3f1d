"""Fan one step's metrics out to metrics.jsonl (the source of truth), TensorBoard, wandb and the console.

Metric names follow one convention across the project (the trainer emits these):
`reward/overall`, `reward/<component>`, `entropy/{mean,p10,p50,p90}`, `response/length_mean`,
`response/truncation_rate`, `uec/hard_prompts`, `uec/bucket/<name>/{count,pass_rate}`,
`uec/{explore_success,retained,dropped,buffer_size,replay_size}`, `actor/{clip_frac_low,clip_frac_high,kl,
grad_norm,lr,loss}`, `time/<phase>`, `perf/{tokens_per_s,peak_mem_gb}`, `val/<benchmark>/pass@1`.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from uec_vlm.progress import StepTimer
from uec_vlm.trainer.run_dir import RunDir, clean_metrics

# (console label, metric key): the few numbers worth watching live; everything else is in the files.
CONSOLE_KEYS: tuple[tuple[str, str], ...] = (
    ("reward", "reward/overall"),
    ("acc", "reward/accuracy"),
    ("entropy", "entropy/mean"),
    ("len", "response/length_mean"),
    ("loss", "sft/loss"),
)


def format_duration(seconds: float) -> str:
    """Compact duration: 42s, 3m05s, 2h07m (rounded down to the shown unit)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _format_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def console_line(step: int, total_steps: int, sec_per_step: float | None, metrics: Mapping[str, float]) -> str:
    """One compact status line, e.g.
    `step 12/100 | 1.50 s/step | eta 2m12s | reward 0.531 | acc 0.500 | entropy 0.812 | len 153`.

    Timing parts are left out when `sec_per_step` is None; metrics absent from `metrics` are left out;
    `val/<benchmark>/pass@1` keys are shown as `val/<benchmark> <value>`.
    """
    parts = [f"step {step}/{total_steps}"]
    if sec_per_step is not None:
        parts.append(f"{sec_per_step:.2f} s/step")
        parts.append(f"eta {format_duration(sec_per_step * max(0, total_steps - step))}")
    for label, key in CONSOLE_KEYS:
        if key in metrics:
            parts.append(f"{label} {_format_number(metrics[key])}")
    for key, value in metrics.items():
        if key.startswith("val/") and key.endswith("/pass@1"):
            parts.append(f"{key[: -len('/pass@1')]} {_format_number(value)}")
    return " | ".join(parts)


def no_update_warning(step: int, metrics: Mapping[str, float]) -> str:
    """Why a step made no optimizer update (UEC's batch buffer still filling, or nothing retained)."""
    if "uec/buffer_size" in metrics:
        why = (f"UEC's batch buffer holds {int(metrics['uec/buffer_size'])} samples and updates once uec.n0 "
               "are waiting")
    else:
        why = "no sample was kept for the update"
    return f"warning: step {step} made no optimizer update: {why}"


class MetricsLogger:
    """Logs each step to metrics.jsonl (fsync'd), TensorBoard `events/`, wandb (opt-in) and the console.

    Args:
        run_dir: a RunDir or its path.
        total_steps: planned number of optimizer steps (for the ETA).
        console: print one compact line per `log` call.
        tensorboard: write TensorBoard scalars; when the `tensorboard` package is missing this prints a
            one-line notice and carries on without it.
        wandb: log to Weights & Biases; raises RuntimeError at construction when wandb is not installed.
            The wandb run id is kept in RUN/wandb_id.txt so a resumed run continues the same wandb run.
        wandb_project / wandb_config: passed to `wandb.init` (config: the resolved config dict).
        resume_step: the step of the checkpoint being resumed from. Rows with a larger step are removed
            from metrics.jsonl and TensorBoard hides events from those steps (SummaryWriter purge_step).
            Without it, a run directory whose metrics.jsonl already holds steps is an error.
        stream: where console lines and notices go (default sys.stdout).
        is_main: False on non-zero ranks of a distributed run: nothing is written anywhere (no
            truncation, no JSONL, TensorBoard, wandb or console); `log` still validates the metrics.

    Seconds per step (for the ETA) is `progress.StepTimer`'s: the mean duration of the latest steps, the
    first (warm-up) step left out once a second one is known, validation time (`time/validate`) excluded;
    until then the first step's own `time/step` when logged (its wall time also holds the set-up).
    A row with `actor/updated == 0` prints a warning line saying why no optimizer update happened.
    """

    def __init__(
        self,
        run_dir: RunDir | str | os.PathLike,
        *,
        total_steps: int,
        console: bool = True,
        tensorboard: bool = True,
        wandb: bool = False,
        wandb_project: str | None = None,
        wandb_config: Mapping[str, Any] | None = None,
        resume_step: int | None = None,
        stream: TextIO | None = None,
        is_main: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"total_steps must be a positive int, got {total_steps!r}")
        self.run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.total_steps = total_steps
        self.console = console and is_main
        self.is_main = is_main
        self.stream = stream if stream is not None else sys.stdout
        self._clock = clock
        if is_main and resume_step is not None:
            self.run_dir.truncate_metrics(resume_step)
        elif is_main and self.run_dir.last_step is not None:
            raise ValueError(
                f"{self.run_dir.metrics_path} already holds steps up to {self.run_dir.last_step}: pass "
                f"resume_step=<checkpoint step> to resume this run, or use a new run directory"
            )
        self._wandb = self._init_wandb(wandb_project, wandb_config) if wandb and is_main else None
        self._tb = self._init_tensorboard(resume_step) if tensorboard and is_main else None
        self._last_step = resume_step or 0
        self._last_time = clock()
        self._timer = StepTimer()
        self._closed = False

    def _init_wandb(self, project: str | None, config: Mapping[str, Any] | None):
        try:
            import wandb as wandb_module
        except ImportError as e:
            raise RuntimeError(
                "wandb logging was asked for but the wandb package is not installed: "
                "pip install wandb (or pip install 'uec-vlm[logging]'), or turn wandb logging off"
            ) from e
        id_file = self.run_dir.root / "wandb_id.txt"
        run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:12]
        id_file.write_text(run_id + "\n")
        return wandb_module.init(
            project=project,
            name=self.run_dir.root.name,
            id=run_id,
            resume="allow",
            dir=str(self.run_dir.root),
            config=dict(config) if config is not None else None,
        )

    def _init_tensorboard(self, resume_step: int | None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            print("tensorboard is not installed: TensorBoard logging is off (pip install tensorboard)",
                  file=self.stream, flush=True)
            return None
        purge_step = resume_step + 1 if resume_step is not None else None
        return SummaryWriter(log_dir=str(self.run_dir.events_dir), purge_step=purge_step)

    def _time_step(self, step: int, values: Mapping[str, Any]) -> None:
        now = self._clock()
        if step > self._last_step:
            spent = now - self._last_time - float(values.get("time/validate", 0.0))
            per_step = max(0.0, spent) / (step - self._last_step)
            if self._timer.first is None and "time/step" in values:
                # The first step's wall time also holds set-up (prompt building, worker start-up): its own
                # compute time is the better first estimate.
                per_step = float(values["time/step"])
            for _ in range(step - self._last_step):
                self._timer.add(per_step)
            self._last_step = step
        self._last_time = now

    def log(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Record one step's metrics everywhere; None values are skipped. Returns the JSONL row."""
        if self._closed:
            raise RuntimeError("MetricsLogger.log called after close()")
        if not self.is_main:
            return {"step": step, **clean_metrics(metrics)}
        row = self.run_dir.append_metrics(step, metrics)
        values = {k: v for k, v in row.items() if k != "step"}
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, global_step=row["step"])
        if self._wandb is not None:
            self._wandb.log(values, step=row["step"])
        self._time_step(row["step"], values)
        if self.console:
            line = console_line(row["step"], self.total_steps, self._timer.seconds_per_step(), values)
            print(line, file=self.stream, flush=True)
            if values.get("actor/updated") == 0:
                print(no_update_warning(row["step"], values), file=self.stream, flush=True)
        return row

    def close(self) -> None:
        """Flush and close TensorBoard and wandb; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

