"""The policy update: PPO epochs over mini-batches, micro-batches with gradient accumulation.

Gradient accumulation is normalised by token (or sequence) count of the whole GLOBAL mini-batch, so that
micro-batching and data parallelism give the same gradient as one big batch.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from uec_vlm.algos.entropy import EntropyControl
from uec_vlm.algos.objective import actor_loss
from uec_vlm.algos.papo import PAPOSettings, masked_prompt, papo_loss
from uec_vlm.logprobs import training_forward
from uec_vlm.trainer import distributed as dist_utils
from uec_vlm.trainer.samples import Sample, pad_token_values
from uec_vlm.uec.selection import importance_weights


@dataclass
class UpdateSettings:
    """What the update needs from the config (kept flat so tests can build it directly)."""

    ppo_epochs: int = 1
    mini_batch_size: int = 0
    micro_batch_size: int = 8
    clip_low: float = 0.2
    clip_high: float = 0.2
    dual_clip: float | None = 3.0
    kl_coef: float = 0.0
    kl_kind: str = "k3"
    loss_agg: str = "token-mean"
    max_new_tokens: int | None = None
    grad_clip: float = 1.0
    importance_correction: bool = False
    policy_loss: str = "ppo_clip"
    policy_loss_kwargs: dict = field(default_factory=dict)
    top_entropy_quantile: float = 1.0
    papo: PAPOSettings | None = None


def minibatches(n: int, size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled index chunks of `size` (last one may be smaller); size 0 = one chunk of everything."""
    order = list(range(n))
    rng.shuffle(order)
    size = size or n
    return [order[i:i + size] for i in range(0, n, size)]


@torch.no_grad()
def fill_logprobs(model, samples: list[Sample], *, pad_token_id: int, micro_batch_size: int,
                  attr: str = "old_logp", with_entropy: bool = False) -> list[float]:
    """Store per-token log-probs of each sample under `model` in `sample.<attr>`; returns token entropies."""
    entropies: list[float] = []
    samples = group_major(samples)
    for i in range(0, len(samples), micro_batch_size):
        chunk = samples[i:i + micro_batch_size]
        logp, ent, mask = _forward(model, chunk, pad_token_id, with_entropy=with_entropy)
        for row, s in enumerate(chunk):
            setattr(s, attr, logp[row, : s.num_tokens].detach().float().cpu())
            if ent is not None:
                entropies.extend(ent[row, : s.num_tokens].float().cpu().tolist())
        del logp, ent, mask
    return entropies


def group_major(samples: list[Sample]) -> list[Sample]:
    """The samples reordered so that a prompt's samples are adjacent (longest groups first, and by length
    inside a group): a micro-batch then holds few distinct prompts (images encoded once each) and rows of
    similar length (less padding). Order-free sums make the update mathematically unchanged."""
    first: dict[int, int] = {}
    longest: dict[int, int] = {}
    for i, s in enumerate(samples):
        first.setdefault(id(s.prompt), i)
        longest[id(s.prompt)] = max(longest.get(id(s.prompt), 0), s.num_tokens)
    return sorted(samples, key=lambda s: (-longest[id(s.prompt)], first[id(s.prompt)], -s.num_tokens))


def _forward(model, chunk: list[Sample], pad_token_id: int, *, with_entropy: bool, entropy_grad: bool = True):
    """Log-probs of a micro-batch through ONE call of the training forward module (`TrainingForward`: each
    distinct prompt prefilled once when rows share prompts), with or without activation checkpointing and
    under DDP/FSDP2 alike (DDP wraps that module, so its hooks fire once per micro-batch)."""
    distinct: dict[int, int] = {}
    for s in chunk:
        distinct.setdefault(id(s.prompt), len(distinct))
    prompts = list({id(s.prompt): s.prompt for s in chunk}.values())
    return training_forward(model)(prompts, [distinct[id(s.prompt)] for s in chunk],
                                   [s.completion_ids for s in chunk], pad_token_id, with_entropy=with_entropy,
                                   entropy_grad=entropy_grad)


def _token_weights(chunk: list[Sample], width: int, enabled: bool) -> torch.Tensor | None:
    """Importance weights pi_1(y) / pi_t'(y) per token for exploration samples (1 for the rest), capped at 5."""
    if not enabled or not any(s.is_exploration for s in chunk):
        return None
    explore = [s.is_exploration and s.old_logp is not None for s in chunk]
    logp_t1 = pad_token_values([s.old_logp if e else [] for s, e in zip(chunk, explore)], width)
    logp_tprime = pad_token_values([s.rollout_logprobs if e else [] for s, e in zip(chunk, explore)], width)
    mask = pad_token_values([[1.0] * s.num_tokens if e else [] for s, e in zip(chunk, explore)], width)
    return importance_weights(logp_t1, logp_tprime, mask, max_weight=5.0)


def policy_update(model, optimizer, scheduler, samples: list[Sample], *, settings: UpdateSettings,
                  control, pad_token_id: int, rng: random.Random, generator: torch.Generator,
                  on_policy: bool, prepare: Callable[[list[Sample]], None] | None = None) -> dict[str, float]:
    """Run the PPO epochs on the GLOBAL batch `samples` (advantages set, identical list on every rank).

    Mini-batches of `mini_batch_size * world` samples are drawn from the global batch with the shared `rng`;
    each is split by `shard_rows` into equal-count, token-balanced shares and this rank trains its own,
    padded with zero-weight rows to the largest share, so every rank runs the same number of forward and
    backward calls. Loss denominators are the global mini-batch's counts, known on every rank, so K ranks
    make the update one process makes on the same global batch. `prepare(rows)` is called on this rank's
    rows before their forward (the trainer builds prompts of samples generated on other ranks there).

    on_policy: the samples were generated by the current weights and have no stored old log-probs, so
    the first mini-batch's old log-probs equal the detached current ones: the extra no-grad pass is
    skipped when there is exactly one epoch and one mini-batch (exact, not an approximation); those
    pre-update log-probs are then stored in `old_logp` of the rows trained here (the replay reuses them).
    A step whose loss or gradient is not finite on ANY rank is skipped on every rank and counted.
    Returns metrics averaged over optimizer steps and ranks (entropy quantiles: this rank's tokens).
    """
    device = next(model.parameters()).device
    world, me = dist_utils.world_size(), dist_utils.rank()
    mini = settings.mini_batch_size * world
    chunks = minibatches(len(samples), mini, rng)
    single_pass = settings.ppo_epochs == 1 and len(chunks) == 1
    if (not single_pass or not on_policy) and any(s.old_logp is None for s in samples):
        raise ValueError("policy_update needs old log-probs of every sample unless on-policy in one pass; "
                         "fill them with fill_logprobs_global first")
    totals: dict[str, float] = {}
    steps = skipped = 0
    entropies: list[torch.Tensor] = []
    # Only controls that add an entropy term to the loss (fixed bonus, AER) need its gradient; for the rest
    # the entropy is measured for logging without keeping a [b, T, V] softmax alive for backward.
    papo = settings.papo
    entropy_grad = type(control).bonus is not EntropyControl.bonus or bool(papo and (papo.eta_full or papo.eta_masked))
    papo_seed = rng.randrange(2**31) if papo else 0  # one mask per prompt and update, the same on every rank
    masked_views: dict[int, object] = {}
    model.train()
    for epoch in range(settings.ppo_epochs):
        for chunk_idx in (chunks if epoch == 0 else minibatches(len(samples), mini, rng)):
            mb = [samples[i] for i in chunk_idx]
            shares = dist_utils.shard_rows([s.num_tokens for s in mb], world)
            rows = [mb[i] for i in shares[me]] or mb[:1]
            if prepare is not None:  # before group_major, which groups rows by their prompt object
                prepare(rows)
            real = len(shares[me])
            rows = group_major(rows[:real]) + rows[:1] * (max(len(x) for x in shares) - real)  # zero-weight padding
            global_tokens = float(sum(s.num_tokens for s in mb))
            global_seqs = float(len(mb))
            optimizer.zero_grad(set_to_none=True)
            acc: dict[str, float] = {}
            finite = True
            for i in range(0, len(rows), settings.micro_batch_size):
                micro = rows[i:i + settings.micro_batch_size]
                views = []
                if papo:  # the masked-image rows ride in the same forward call (one DDP forward per backward)
                    for s in micro:
                        if id(s.prompt) not in masked_views:
                            masked_views[id(s.prompt)] = masked_prompt(s.prompt, papo, papo_seed)
                    views = [dataclasses.replace(s, prompt=masked_views[id(s.prompt)]) for s in micro]
                logp, entropy, mask = _forward(model, micro + views, pad_token_id, with_entropy=True,
                                               entropy_grad=entropy_grad)
                if views:
                    n = len(micro)
                    logp, logp_masked = logp[:n], logp[n:]
                    entropy, entropy_masked = entropy[:n], entropy[n:]
                    mask = mask[:n]
                n_real = max(0, min(len(micro), real - i))
                if n_real < len(micro):
                    mask = mask.clone()
                    mask[n_real:] = 0
                width = mask.shape[1]
                if any(s.old_logp is None for s in micro):
                    old = logp.detach()
                    for row, s in enumerate(micro[:n_real]):
                        s.old_logp = old[row, : s.num_tokens].float().cpu()
                else:
                    old = pad_token_values([s.old_logp for s in micro], width).to(device)
                ref = None
                if settings.kl_coef:
                    ref = pad_token_values([s.ref_logp for s in micro], width).to(device)
                adv = torch.tensor([s.advantage for s in micro], dtype=logp.dtype, device=device)
                pr = torch.tensor([s.pass_rate for s in micro], device=device)
                weights = _token_weights(micro, width, settings.importance_correction)
                loss, metrics = actor_loss(
                    logp, old, adv, mask, entropy=entropy, ref_logp=ref, control=control,
                    clip_low=settings.clip_low, clip_high=settings.clip_high, dual_clip=settings.dual_clip,
                    kl_coef=settings.kl_coef, kl_kind=settings.kl_kind, agg=settings.loss_agg,
                    global_tokens=global_tokens, global_seqs=global_seqs, max_len=settings.max_new_tokens,
                    token_weights=None if weights is None else weights.to(device), pass_rate=pr,
                    generator=generator, policy_loss=settings.policy_loss,
                    policy_loss_kwargs=settings.policy_loss_kwargs,
                    top_entropy_quantile=settings.top_entropy_quantile,
                )
                if papo:
                    extra, papo_metrics = papo_loss(
                        logp, logp_masked, entropy, entropy_masked, mask, gamma=papo.gamma,
                        eta_full=papo.eta_full, eta_masked=papo.eta_masked, agg=settings.loss_agg,
                        global_tokens=global_tokens, global_seqs=global_seqs, max_len=settings.max_new_tokens)
                    loss = loss + extra
                    metrics = {**metrics, **papo_metrics}
                # A non-finite loss still goes through backward: every rank must run the same collectives.
                finite = finite and bool(torch.isfinite(loss))
                # DDP/FSDP average gradients over ranks; the global denominators already did, so undo it.
                (loss * world).backward()
                share = float(mask.sum()) / max(global_tokens / world, 1.0)
                for k, v in metrics.items():
                    acc[k] = acc.get(k, 0.0) + float(v) * share
                entropies.append(entropy.detach()[mask > 0].float().cpu())
            grad_norm = float("nan")
            if finite:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip))
                finite = math.isfinite(grad_norm)
            if dist_utils.all_reduce_sum(0.0 if finite else 1.0) > 0:  # skipped on every rank or none
                optimizer.zero_grad(set_to_none=True)
                skipped += 1
                continue
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            steps += 1
            acc["grad_norm"] = grad_norm * world  # identical on every rank; the rank average below divides
            for k, v in acc.items():
                totals[k] = totals.get(k, 0.0) + v
    parts = dist_utils.all_gather_objects(totals)
    totals = {k: sum(p.get(k, 0.0) for p in parts) / world for k in sorted(set().union(*parts))}
    out = {f"actor/{k}": v / max(steps, 1) for k, v in totals.items()}
    out["actor/optimizer_steps"] = float(steps)
    out["actor/skipped_steps"] = float(skipped)
    out["actor/lr"] = float(optimizer.param_groups[0]["lr"])
    tok = torch.cat(entropies) if entropies else torch.zeros(0)
    count = dist_utils.all_reduce_sum(float(tok.numel()))  # unconditional: a collective on every rank
    total = dist_utils.all_reduce_sum(float(tok.sum()))
    if count:
        out["entropy/mean"] = total / count
    if tok.numel():
        q = torch.quantile(tok, torch.tensor([0.1, 0.5, 0.9]))
        out.update({"entropy/p10": float(q[0]), "entropy/p50": float(q[1]), "entropy/p90": float(q[2])})
    return out
