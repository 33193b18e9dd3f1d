"""The trainer's unit of data: one sampled response with everything the update and the replay need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Sample:
    """One (prompt, response) trajectory.

    `prompt` is the encoded prompt (shared, not copied, by the samples of a group; it carries the
    resized images so replayed samples keep their multimodal inputs). `group_id` is unique per rollout
    group: the G' exploration samples of a prompt form a group of their own, and two copies of the same
    prompt in one batch get distinct ids. `pass_rate` is the group's pass rate (AER weights by it, also on
    replay). `old_logp`/`ref_logp` ([T] float, T = len(completion_ids)) are
    filled when the sample enters an update (and reused as stored by the replay stabilizer).
    """

    prompt: Any
    example: Any
    completion_ids: list[int]
    text: str
    rollout_logprobs: list[float]
    finish_reason: str
    group_id: int
    temperature: float
    rewards: dict[str, float] = field(default_factory=dict)
    correct: bool = False
    is_exploration: bool = False
    advantage: float = 0.0
    pass_rate: float = 0.0
    old_logp: torch.Tensor | None = None
    ref_logp: torch.Tensor | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def num_tokens(self) -> int:
        return len(self.completion_ids)


def make_samples(prompts, examples, completions, *, first_group_id: int, temperature: float,
                 is_exploration: bool = False) -> list[Sample]:
    """Flatten per-prompt completion lists into Samples, one new group id per prompt."""
    out = []
    for g, (prompt, example, group) in enumerate(zip(prompts, examples, completions, strict=True)):
        for c in group:
            out.append(Sample(prompt=prompt, example=example, completion_ids=list(c.token_ids), text=c.text,
                              rollout_logprobs=list(c.logprobs), finish_reason=c.finish_reason,
                              group_id=first_group_id + g, temperature=temperature,
                              is_exploration=is_exploration))
    return out


def score_samples(samples: list[Sample], reward_fn, correct_threshold: float) -> None:
    """Fill each sample's reward components and correctness in place (one batched reward call)."""
    if not samples:
        return
    results = reward_fn([s.text for s in samples], [s.example for s in samples],
                        truncated=[s.truncated for s in samples])
    for s, r in zip(samples, results, strict=True):
        s.rewards = dict(r)
        s.correct = float(r.get("accuracy", r["overall"])) >= correct_threshold


def pad_token_values(rows: list[torch.Tensor | list[float]], width: int) -> torch.Tensor:
    """Right-pad per-sample token vectors to [N, width] with zeros."""
    out = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        r = torch.as_tensor(r, dtype=torch.float32)
        out[i, : r.numel()] = r[:width]
    return out
