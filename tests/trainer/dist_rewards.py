"""Rewards for the multi-process loop tests (imported by name: `reward.name=dist_rewards:parity`).

`parity` is a pure function of the completion text that gives mixed outcomes on a random tiny model
(about one answer in three correct), so every step has hard, regular and solved prompts.
`bad_record` is `parity` that raises on one record, named by UEC_TEST_BAD_UID: a rank-local failure.
"""

from __future__ import annotations

import os


def parity(completions, examples, *, truncated=None):
    acc = [float(sum(c.encode()) % 3 == 0) for c in completions]
    return [{"overall": a, "accuracy": a, "format": 0.0} for a in acc]


def bad_record(completions, examples, *, truncated=None):
    bad = os.environ.get("UEC_TEST_BAD_UID")
    for ex in examples:
        if ex.uid == bad:
            raise ValueError(f"bad record {ex.uid}: grader cannot parse its answer")
    return parity(completions, examples, truncated=truncated)
