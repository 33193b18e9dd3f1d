"""What moves between ranks: new samples (light fields only) and per-token log-probs.

Every rank holds the SAME global list of samples after `exchange_samples`: its own samples are the
originals (with their encoded prompt), the other ranks' are replicas whose `prompt` is None and whose
`example` is taken from the step's global example list (every rank draws the same examples). A replica's
prompt is built when this rank first trains it (`ensure_prompts`). Images never travel between ranks.
"""

from __future__ import annotations

from collections.abc import Callable

from uec_vlm.trainer import distributed as dist_utils
from uec_vlm.trainer.samples import Sample
from uec_vlm.trainer.update import fill_logprobs

LIGHT_FIELDS = ("completion_ids", "text", "rollout_logprobs", "finish_reason", "group_id", "temperature",
                "rewards", "correct", "is_exploration")


def exchange_samples(local: list[Sample], prompt_index: list[int], examples: list, errors: list[str]) -> list[Sample]:
    """All ranks' new samples in rank order (shares are contiguous blocks, so this is global prompt order).

    local: this rank's samples; prompt_index [len(local)]: each one's index in `examples` (the step's global
    example list). `errors` (rank-local failures) travel in the same collective: any error raises
    RankFailure on every rank (see `distributed.gather_checked`).
    """
    packed = [(idx, {k: getattr(s, k) for k in LIGHT_FIELDS}) for s, idx in zip(local, prompt_index, strict=True)]
    parts = dist_utils.gather_checked(packed, errors)
    me = dist_utils.rank()
    out: list[Sample] = []
    for r, part in enumerate(parts):
        if r == me:
            out.extend(local)
            continue
        out.extend(Sample(prompt=None, example=examples[idx], **fields) for idx, fields in part)
    return out


def ensure_prompts(samples: list[Sample], prompt_for: Callable[[object], object]) -> None:
    """Give replicas (prompt None) their encoded prompt; `prompt_for(example)` builds or reuses it."""
    for s in samples:
        if s.prompt is None:
            s.prompt = prompt_for(s.example)


def share_values(samples: list[Sample], attr: str, mine: list[int]) -> None:
    """Collective: `samples[i].<attr>` computed on the rank that owns i (`mine` = this rank's indices)
    is copied to every rank (receivers fill only values they lack)."""
    parts = dist_utils.all_gather_objects({i: getattr(samples[i], attr) for i in mine})
    for part in parts:
        for i, v in part.items():
            if getattr(samples[i], attr) is None:
                setattr(samples[i], attr, v)


def fill_logprobs_global(model, samples: list[Sample], *, attr: str, pad_token_id: int, micro_batch_size: int,
                         prepare: Callable[[list[Sample]], None], with_entropy: bool = False) -> float | None:
    """Collective: per-token log-probs of the GLOBAL list `samples` under `model`, computed in equal,
    token-balanced shares (padded so every rank runs the same number of forwards) and shared with every
    rank. Returns the global token-mean entropy when `with_entropy` (None when there are no tokens)."""
    world, me = dist_utils.world_size(), dist_utils.rank()
    shares = dist_utils.shard_rows([s.num_tokens for s in samples], world)
    mine = shares[me]
    rows = [samples[i] for i in mine]
    prepare(rows)
    # FSDP2: the weights are gathered once for the whole no-grad pass, so this rank's forwards (however many,
    # with or without a shared prompt pass) run no collective.
    with dist_utils.gathered_for_generation(model):
        ents = fill_logprobs(model, rows, pad_token_id=pad_token_id, micro_batch_size=micro_batch_size,
                             attr=attr, with_entropy=with_entropy)
    share_values(samples, attr, mine)
    if not with_entropy:
        return None
    count = dist_utils.all_reduce_sum(float(len(ents)))
    total = dist_utils.all_reduce_sum(float(sum(ents)))
    return total / count if count else None
