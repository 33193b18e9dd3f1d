"""UEC-RL: difficulty buckets, targeted-exploration retention, batch accumulation and replay buffers.

Tensors in, tensors out (buffers hold arbitrary Python items). See docs/algorithms.md.
"""

from .buffers import OVERFLOW_POLICIES, BatchBuffer, BufferOverflow, ReplayBuffer, should_replay
from .selection import (
    BUCKET_NAMES,
    HARD,
    REGULAR,
    SOLVED,
    PassRates,
    difficulty_buckets,
    importance_weights,
    pass_rates,
    replay_mask,
    retention_mask,
)

__all__ = [
    "BUCKET_NAMES", "HARD", "OVERFLOW_POLICIES", "REGULAR", "SOLVED", "BatchBuffer", "BufferOverflow",
    "PassRates", "ReplayBuffer", "difficulty_buckets", "importance_weights", "pass_rates", "replay_mask",
    "retention_mask", "should_replay",
]
