"""Progress bars for long work (rollout, validation, eval, SFT, study runs), quiet where nobody watches.

Bars go to stderr (tqdm) with a count, rate and ETA. They are shown only on an interactive terminal and
never when `CI` is set (`CI=true` in GitHub Actions and most CI systems) or `UEC_VLM_PROGRESS=0`; then
the per-step console lines and the files are the record. `UEC_VLM_PROGRESS=1` forces them on.

The ETA of the training loop's console line is `StepTimer`'s: the mean of the latest step durations
without the first (warm-up) step once a second step exists, and without validation time, which is
reported on its own.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterable


def bars_enabled(stream=None) -> bool:
    forced = os.environ.get("UEC_VLM_PROGRESS", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def bar(iterable: Iterable | None = None, *, desc: str, unit: str, total: int | None = None, leave: bool = False):
    """A tqdm bar on stderr (disabled when `bars_enabled()` is False); use as an iterable or with update()."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, leave=leave, file=sys.stderr, dynamic_ncols=True,
                disable=not bars_enabled(), smoothing=0.1)


class StepTimer:
    """Seconds per step for ETAs: mean of the last `window` step durations, the first step left out once
    a later one is known (it pays for warm-up: lazy initialisation, worker start-up)."""

    def __init__(self, window: int = 20):
        self.durations: deque[float] = deque(maxlen=window)
        self.first: float | None = None

    def add(self, seconds: float) -> None:
        if self.first is None:
            self.first = seconds
        else:
            self.durations.append(seconds)

    def seconds_per_step(self) -> float | None:
        if self.durations:
            return sum(self.durations) / len(self.durations)
        return self.first
