"""The learning-rate schedule, stepped once per optimizer step and sized by training progress.

UEC's batch buffer and replay make the number of optimizer steps data-dependent, so a schedule sized in
rollout steps (or in a guessed optimizer-step total) ends early or late. Here the LR used by an optimizer
step is

    lr = base * warmup(j) * decay(p)     warmup(j) = min(1, (j + 1) / optim.warmup_steps)   (j = optimizer steps so far)
                                         decay: constant 1 | cosine 0.5 (1 + cos(pi p)) | linear 1 - p

where p in [0, 1] is the fraction of training done: the trainer announces each update with
`begin(p_start, p_end, optimizer_steps)` and p moves linearly from p_start to p_end over that update's
optimizer steps. The main update of rollout step s spans ((s - 1) / T, s / T) with T = trainer.steps; a
replay update holds p = s / T. The LR after the last optimizer step of step T is therefore the end value
(cosine and linear: 0), and no step before reaches it, however many updates the buffer lets through.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine", "linear")


class ProgressLR:
    """Sets `optimizer`'s LR; `step()` after each optimizer step; state_dict/load_state_dict for resume."""

    def __init__(self, optimizer, *, schedule: str = "constant", warmup_steps: int = 0):
        if schedule not in SCHEDULES:
            raise ValueError(f"optim.schedule must be one of {SCHEDULES}, got {schedule!r}")
        self.optimizer, self.schedule, self.warmup_steps = optimizer, schedule, int(warmup_steps)
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.optimizer_steps = 0
        self.p_start = self.p_end = 0.0
        self.k, self.k_total = 0, 1
        self._apply()

    def progress(self) -> float:
        return self.p_start + (self.p_end - self.p_start) * min(self.k / self.k_total, 1.0)

    def factor(self) -> float:
        p = self.progress()
        warm = min(1.0, (self.optimizer_steps + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        if self.schedule == "cosine":
            return warm * 0.5 * (1.0 + math.cos(math.pi * p))
        if self.schedule == "linear":
            return warm * (1.0 - p)
        return warm

    def begin(self, p_start: float, p_end: float, optimizer_steps: int) -> None:
        """An update of `optimizer_steps` steps over progress [p_start, p_end] starts now."""
        self.p_start, self.p_end = float(p_start), float(p_end)
        self.k, self.k_total = 0, max(int(optimizer_steps), 1)
        self._apply()

    def step(self) -> None:
        self.optimizer_steps += 1
        self.k += 1
        self._apply()

    def _apply(self) -> None:
        f = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * f

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"base_lrs": self.base_lrs, "optimizer_steps": self.optimizer_steps, "p_start": self.p_start,
                "p_end": self.p_end, "k": self.k, "k_total": self.k_total}

    def load_state_dict(self, state: dict) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.optimizer_steps, self.k, self.k_total = state["optimizer_steps"], state["k"], state["k_total"]
        self.p_start, self.p_end = state["p_start"], state["p_end"]
        self._apply()
