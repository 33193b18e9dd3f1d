"""Per-token log-probs and true full-vocabulary entropy of completion tokens given (prompt, completion) pairs.

Layout of a packed row: `[left pad | prompt | completion | right pad]`, prompts left-padded to the longest
prompt P and completions right-padded to the longest completion T, so completion token t of every row sits
at column P + t and its logits at column P + t - 1. Only those T columns go through the LM head, and the
float32 softmax exists for one micro-batch at a time ([b, T, V], never [B, T, V] for the whole batch).

M-RoPE: 3-D position ids are computed here with the model's own `get_rope_index` (image tokens get
(t, h, w) positions; completion tokens continue the text positions), so batched rows equal single rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from transformers.cache_utils import Cache, DynamicLayer
from transformers.modeling_layers import GradientCheckpointingLayer

from uec_vlm.models.kv_cache import cache_kwargs
from uec_vlm.prompts import PromptInputs


@dataclass
class PackedBatch:
    """Prompt + completion rows ready for one forward.

    input_ids, attention_mask, mm_token_type_ids: [B, P + T]; completion_mask: [B, T] (1 on real tokens);
    pixel_values [sum patches, D] / image_grid_thw [num images, 3] concatenated in row order, or None.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mm_token_type_ids: torch.Tensor
    completion_mask: torch.Tensor
    prompt_length: int
    pixel_values: torch.Tensor | None = None
    image_grid_thw: torch.Tensor | None = None

    @property
    def completion_ids(self) -> torch.Tensor:
        """[B, T] completion token ids (pad ids where completion_mask is 0)."""
        return self.input_ids[:, self.prompt_length:]

    def to(self, device) -> PackedBatch:
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in vars(self).items()}
        return PackedBatch(**move)


def collate(
    prompts: Sequence[PromptInputs], completions: Sequence[Sequence[int]], pad_token_id: int
) -> PackedBatch:
    """Pack B (prompt, completion token ids) pairs; a prompt object may repeat (its images are repeated)."""
    if len(prompts) != len(completions):
        raise ValueError(f"collate: {len(prompts)} prompts but {len(completions)} completions")
    if not prompts:
        raise ValueError("collate: empty batch")
    p_len = max(p.num_prompt_tokens for p in prompts)
    t_len = max(1, max(len(c) for c in completions))
    rows = len(prompts)
    ids = torch.full((rows, p_len + t_len), pad_token_id, dtype=torch.long)
    mask = torch.zeros((rows, p_len + t_len), dtype=torch.long)
    mm_types = torch.zeros((rows, p_len + t_len), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        n = p.num_prompt_tokens
        ids[i, p_len - n:p_len] = p.inputs["input_ids"][0]
        mask[i, p_len - n:p_len] = p.inputs["attention_mask"][0]
        if "mm_token_type_ids" in p.inputs:
            mm_types[i, p_len - n:p_len] = p.inputs["mm_token_type_ids"][0]
        if len(c):
            ids[i, p_len:p_len + len(c)] = torch.as_tensor(list(c), dtype=torch.long)
            mask[i, p_len:p_len + len(c)] = 1
    with_images = [p for p in prompts if "pixel_values" in p.inputs]
    pixels = torch.cat([p.inputs["pixel_values"] for p in with_images]) if with_images else None
    grids = torch.cat([p.inputs["image_grid_thw"] for p in with_images]) if with_images else None
    return PackedBatch(ids, mask, mm_types, mask[:, p_len:].clone(), p_len, pixels, grids)


def _rope_owner(model):
    """The inner module that owns `get_rope_index` (unwrapping DDP, peft and ForConditionalGeneration)."""
    model = getattr(model, "module", model)  # DistributedDataParallel
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", base)
    if not hasattr(inner, "get_rope_index"):
        raise TypeError(f"{type(base).__name__} has no get_rope_index: not a Qwen-VL style M-RoPE model")
    return inner


def mrope_position_ids(model, input_ids, attention_mask, mm_token_type_ids, image_grid_thw):
    """[3, B, L] M-RoPE positions as the model computes them at prefill; padding positions are 0.

    Also returns rope_deltas [B, 1]: text position of column j for a row with k real tokens before it is
    k + delta, which is how decoding continues the positions.
    """
    if image_grid_thw is None:
        pos = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        deltas = torch.zeros(input_ids.shape[0], 1, dtype=torch.long, device=input_ids.device)
        return pos.unsqueeze(0).expand(3, -1, -1), deltas
    return _rope_owner(model).get_rope_index(
        input_ids, mm_token_type_ids=mm_token_type_ids, image_grid_thw=image_grid_thw,
        attention_mask=attention_mask,
    )


def _token_stats(logits: torch.Tensor, targets: torch.Tensor, temperature: float, with_entropy: bool,
                 entropy_grad: bool = True):
    """logits [b, T, V] -> (log p of targets [b, T], entropy [b, T] or None), in float32.

    entropy_grad=False measures the entropy without recording it for backward (no [b, T, V] softmax kept
    alive for a gradient nobody takes)."""
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    lse = torch.logsumexp(logits, dim=-1)
    logp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - lse
    entropy = None
    if with_entropy:
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            probs = torch.softmax(logits, dim=-1)
            entropy = lse - (probs * logits).sum(-1)
    return logp, entropy


def forward_logprobs(
    model, batch: PackedBatch, *, temperature: float = 1.0, with_entropy: bool = True, entropy_grad: bool = True,
):
    """One forward WITH gradient: (logp [B, T], entropy [B, T] or None, mask [B, T] float).

    Entries where mask is 0 are padding and hold meaningless values. Rows that share a prompt are cheaper
    through `forward_prefix_shared`.
    """
    t_len = batch.completion_mask.shape[1]
    position_ids, _ = mrope_position_ids(
        model, batch.input_ids, batch.attention_mask, batch.mm_token_type_ids, batch.image_grid_thw
    )
    kwargs = {}
    if batch.pixel_values is not None:
        kwargs["pixel_values"] = batch.pixel_values
    if batch.image_grid_thw is not None:
        kwargs["image_grid_thw"] = batch.image_grid_thw
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids,
        use_cache=False,
        logits_to_keep=t_len + 1,
        **kwargs,
    )
    logits = out.logits[:, :-1]
    logp, entropy = _token_stats(logits, batch.completion_ids, temperature, with_entropy, entropy_grad)
    return logp, entropy, batch.completion_mask.to(logp.dtype)


@torch.no_grad()
def compute_logprobs(
    model, prompts: Sequence[PromptInputs], completions: Sequence[Sequence[int]], *, pad_token_id: int,
    micro_batch_size: int = 8, temperature: float = 1.0, with_entropy: bool = False,
) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """No-grad log-probs (old / reference policy) in micro-batches.

    Returns per pair a 1-D float32 CPU tensor of length len(completion) (and entropies likewise when asked).
    """
    device = next(model.parameters()).device
    logps: list[torch.Tensor] = []
    ents: list[torch.Tensor] = []
    for start in range(0, len(prompts), micro_batch_size):
        chunk_p = prompts[start:start + micro_batch_size]
        chunk_c = completions[start:start + micro_batch_size]
        batch = collate(chunk_p, chunk_c, pad_token_id).to(device)
        logp, ent, _ = forward_logprobs(model, batch, temperature=temperature, with_entropy=with_entropy)
        for i, c in enumerate(chunk_c):
            logps.append(logp[i, :len(c)].float().cpu())
            if with_entropy:
                ents.append(ent[i, :len(c)].float().cpu())
    return logps, (ents if with_entropy else None)


class _PromptKV(DynamicLayer):
    """One layer's keys/values recorded by the prompt pass. Overwrites instead of appending: a checkpointed
    layer replays its forward in backward, and the replay must neither grow the cache nor see a past."""

    def update(self, key_states, value_states, *args, **kwargs):
        self.keys, self.values, self.is_initialized = key_states, value_states, True
        return key_states, value_states

    def get_seq_length(self) -> int:
        return 0


class _SharedPrefixKV(DynamicLayer):
    """Read-only view for the completion pass: row r attends to prompt owner[r]'s keys/values, then its own.

    Stores the G distinct prompts' [G, kv_heads, P, head_dim] once and gathers rows inside the layer call, so
    the gathered [R, ...] copy lives only as long as the layer (or its checkpoint replay) does."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, rows: torch.Tensor):
        super().__init__()
        self.keys, self.values, self.rows, self.is_initialized = keys, values, rows, True

    def update(self, key_states, value_states, *args, **kwargs):
        return (torch.cat([self.keys.index_select(0, self.rows), key_states], dim=-2),
                torch.cat([self.values.index_select(0, self.rows), value_states], dim=-2))


@contextmanager
def _cache_through_checkpointing(model):
    """Let checkpointed decoder layers receive the cache. transformers drops it under activation checkpointing
    because a writing cache would be written twice by the backward replay; both caches above are replay-safe."""
    layers = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer) and m.gradient_checkpointing
              and not m._can_checkpoint_with_cache]
    for m in layers:
        m._can_checkpoint_with_cache = True
    try:
        yield
    finally:
        for m in layers:
            del m._can_checkpoint_with_cache


def forward_prefix_shared(model, prompts: Sequence[PromptInputs], owner: Sequence[int],
                          completions: Sequence[Sequence[int]], pad_token_id: int, *, with_entropy: bool = True,
                          entropy_grad: bool = True):
    """forward_logprobs for rows that share prompts, each distinct prompt prefilled ONCE (with gradient).

    prompts: the distinct prompts; owner[r]: index of row r's prompt; completions[r]: row r's token ids.
    The prompt pass (vision tower and language model over the prompt tokens) runs once per distinct prompt;
    its keys/values are kept per prompt and the completion tokens of each row attend to them, so the training
    forward costs O(distinct prompts x prompt length + rows x completion length) instead of
    O(rows x (prompt + completion)). Gradients from every row flow back into the shared prompt pass. Works
    with activation checkpointing on (both passes checkpoint per decoder layer; the caches are replay-safe).
    Returns (logp [R, T], entropy [R, T] or None, mask [R, T]) like forward_logprobs (tested equal to 1e-5).
    """
    device = next(model.parameters()).device
    pre = collate(list(prompts), [[] for _ in prompts], pad_token_id)
    p_len = pre.prompt_length
    ids, mask, mm = (pre.input_ids[:, :p_len].to(device), pre.attention_mask[:, :p_len].to(device),
                     pre.mm_token_type_ids[:, :p_len].to(device))
    grids = None if pre.image_grid_thw is None else pre.image_grid_thw.to(device)
    position_ids, deltas = mrope_position_ids(model, ids, mask, mm, grids)
    extra = {} if pre.pixel_values is None else {"pixel_values": pre.pixel_values.to(device), "image_grid_thw": grids}
    rows = torch.as_tensor(list(owner), dtype=torch.long, device=device)
    t_len = max(1, max(len(c) for c in completions))
    comp = torch.full((len(completions), t_len), pad_token_id, dtype=torch.long, device=device)
    comp_mask = torch.zeros((len(completions), t_len), dtype=torch.long, device=device)
    for r, c in enumerate(completions):
        if len(c):
            comp[r, :len(c)] = torch.as_tensor(list(c), dtype=torch.long, device=device)
            comp_mask[r, :len(c)] = 1
    full_mask = torch.cat([mask.index_select(0, rows), torch.ones_like(comp_mask)], dim=1)
    start = mask.sum(-1, keepdim=True).index_select(0, rows) + deltas.to(device).index_select(0, rows)
    pos = (start + torch.arange(t_len, device=device)[None, :]).unsqueeze(0).expand(3, -1, -1)
    recorded = Cache(layer_class_to_replicate=_PromptKV)
    with _cache_through_checkpointing(model):
        out = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=True,
                    logits_to_keep=1, **cache_kwargs(model, recorded), **extra)
        logits = out.logits[:, -1:].index_select(0, rows)
        if t_len > 1:
            shared = Cache(layers=[_SharedPrefixKV(layer.keys, layer.values, rows) for layer in recorded.layers])
            out2 = model(input_ids=comp[:, :-1], attention_mask=full_mask[:, :-1], position_ids=pos[:, :, :-1],
                         use_cache=True, **cache_kwargs(model, shared))
            logits = torch.cat([logits, out2.logits], dim=1)
    logp, entropy = _token_stats(logits, comp, 1.0, with_entropy, entropy_grad)
    return logp, entropy, comp_mask.to(logp.dtype)


class TrainingForward(torch.nn.Module):
    """The policy's training forward as ONE module call: log-probs of a micro-batch of (prompt, completion) rows.

    Rows that share a prompt go through `forward_prefix_shared` (two policy calls inside this one forward),
    the rest through one full-sequence forward. This is the module DDP wraps (`wrap_policy`), so its gradient
    hooks fire once per micro-batch whichever path runs; single-process and FSDP2 runs wrap the policy in it
    on the fly (`training_forward`). Returns (logp [R, T], entropy [R, T] or None, mask [R, T]).
    """

    def __init__(self, policy, *, always_shared: bool = False):
        super().__init__()
        self.policy = policy
        # FSDP2 all-gathers per policy call, so every rank must make the same calls: always two (prompt
        # pass, completion pass), whether or not this rank's rows happen to share a prompt.
        self.always_shared = always_shared

    def forward(self, prompts: Sequence[PromptInputs], owner: Sequence[int], completions: Sequence[Sequence[int]],
                pad_token_id: int, with_entropy: bool = True, entropy_grad: bool = True):
        if self.always_shared or len(set(owner)) < len(owner):
            return forward_prefix_shared(self.policy, prompts, owner, completions, pad_token_id,
                                         with_entropy=with_entropy, entropy_grad=entropy_grad)
        device = next(self.policy.parameters()).device
        batch = collate([prompts[o] for o in owner], completions, pad_token_id).to(device)
        return forward_logprobs(self.policy, batch, with_entropy=with_entropy, entropy_grad=entropy_grad)


def training_forward(model) -> torch.nn.Module:
    """`model` itself when it already is a (DDP-wrapped) TrainingForward, else TrainingForward(model)
    (always through the shared-prompt path when the policy is FSDP2-sharded)."""
    from torch.distributed.fsdp import FSDPModule

    if isinstance(getattr(model, "module", model), TrainingForward):
        return model
    return TrainingForward(model, always_shared=isinstance(model, FSDPModule))
