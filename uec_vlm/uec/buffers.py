"""FIFO buffers of arbitrary Python items (the trainer's sample records) for UEC batch accumulation and replay."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import torch

OVERFLOW_POLICIES = ("drop_oldest", "drop_newest", "error")


class BufferOverflow(RuntimeError):
    """Raised by a BatchBuffer with overflow="error" when a push exceeds its capacity."""


def _check_n0(n0: int) -> int:
    if int(n0) != n0 or n0 < 1:
        raise ValueError(f"uec.n0 (samples per update) must be a positive integer, got {n0!r}")
    return int(n0)


class BatchBuffer:
    """Retained samples wait here until at least ``n0`` are available for one update.

    Capacity defaults to 2 * n0. A push that would exceed it applies ``overflow``:
    "drop_oldest" (default: keep the freshest, most on-policy samples), "drop_newest", or "error".
    Dropped items are counted in ``self.dropped`` and ``push`` returns how many it dropped, so nothing
    is lost silently; the trainer should log it.
    """

    def __init__(self, n0: int, capacity: int | None = None, overflow: str = "drop_oldest"):
        self.n0 = _check_n0(n0)
        self.capacity = 2 * self.n0 if capacity is None else int(capacity)
        if self.capacity < self.n0:
            raise ValueError(f"batch buffer capacity {self.capacity} is smaller than n0={self.n0}")
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"batch buffer overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
        self.overflow = overflow
        self.items: deque[Any] = deque()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.items)

    def push(self, items: Iterable[Any]) -> int:
        """Append items (oldest first); -> number of items dropped by the overflow policy."""
        new = list(items)
        excess = len(self.items) + len(new) - self.capacity
        if excess <= 0:
            self.items.extend(new)
            return 0
        if self.overflow == "error":
            raise BufferOverflow(
                f"batch buffer holds {len(self.items)} + {len(new)} pushed > capacity {self.capacity}"
            )
        if self.overflow == "drop_newest":
            self.items.extend(new[: len(new) - excess])
        else:
            self.items.extend(new)
            for _ in range(excess):
                self.items.popleft()
        self.dropped += excess
        return excess

    def ready(self) -> bool:
        return len(self.items) >= self.n0

    def pop(self) -> list[Any]:
        """Remove and return the floor(size / n0) * n0 oldest items ([] when fewer than n0 wait)."""
        k = (len(self.items) // self.n0) * self.n0
        return [self.items.popleft() for _ in range(k)]

    def state_dict(self) -> dict[str, Any]:
        return {"n0": self.n0, "capacity": self.capacity, "overflow": self.overflow,
                "items": list(self.items), "dropped": self.dropped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.n0, self.capacity, self.overflow = state["n0"], state["capacity"], state["overflow"]
        self.items = deque(state["items"])
        self.dropped = state["dropped"]


class ReplayBuffer:
    """Stabiliser replay: the newest int(size_factor * n0) high-advantage samples, stored as given.

    Pushing beyond capacity evicts the oldest items (the designed behaviour, counted in ``evicted``).
    ``sample`` does not remove anything: an item stays replayable until newer ones push it out.
    """

    def __init__(self, n0: int, size_factor: float = 2.0):
        self.n0 = _check_n0(n0)
        self.capacity = int(size_factor * self.n0)
        if self.capacity < 1:
            raise ValueError(f"uec.replay.size_factor={size_factor} gives an empty replay buffer for n0={n0}")
        self.items: deque[Any] = deque(maxlen=self.capacity)
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.items)

    def push(self, items: Iterable[Any]) -> int:
        """Append items; -> number of old items evicted."""
        new = list(items)
        evicted = max(0, len(self.items) + len(new) - self.capacity)
        self.items.extend(new)
        self.evicted += evicted
        return evicted

    def sample(self, generator: torch.Generator | None = None) -> list[Any]:
        """The whole buffer (oldest first) when full; else a uniformly random floor(size / n0) * n0 subset
        drawn with ``generator`` and returned in buffer order; [] when fewer than n0 items are held."""
        size = len(self.items)
        if size == self.capacity:
            return list(self.items)
        k = (size // self.n0) * self.n0
        if k == 0:
            return []
        chosen = torch.randperm(size, generator=generator)[:k].sort().values.tolist()
        return [self.items[i] for i in chosen]

    def state_dict(self) -> dict[str, Any]:
        return {"n0": self.n0, "capacity": self.capacity, "items": list(self.items), "evicted": self.evicted}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.n0, self.capacity = state["n0"], state["capacity"]
        self.items = deque(state["items"], maxlen=self.capacity)
        self.evicted = state["evicted"]


def should_replay(step: int, freq: int) -> bool:
    """True on every ``freq``-th training step (steps counted from 1); freq <= 0 disables replay."""
    return freq > 0 and step > 0 and step % freq == 0


REPLAY_TRIGGERS = ("steps", "updates")


def replay_due(step: int, updates: int, freq: int, trigger: str = "steps", *, updated: bool = False) -> bool:
    """Whether the replay update is due after rollout step `step` (1-based) with `updates` updates so far.

    "steps" (released code): every `freq`-th rollout step, whether or not that step updated.
    "updates": right after every `freq`-th update (only on a step that updated). The caller also needs
    the replay buffer to hold at least n0 samples.
    """
    if trigger == "steps":
        return should_replay(step, freq)
    if trigger == "updates":
        return updated and should_replay(updates, freq)
    raise ValueError(f"uec.replay.trigger must be one of {REPLAY_TRIGGERS}, got {trigger!r}")
