"""transformers generation backend with one shared prefill per prompt.

For a chunk of prompts: the prompts (left-padded) and their images go through ONE prefill forward (batch =
number of prompts, each image encoded once); the KV cache is then repeated n times along the batch axis and
the n samples of every prompt decode together. `generate(num_return_sequences=n)` would prefill each prompt
n times instead.
"""

from __future__ import annotations

import torch
from transformers import StaticCache

from uec_vlm.logprobs import mrope_position_ids
from uec_vlm.models.kv_cache import cache_kwargs, output_cache
from uec_vlm.prompts import PromptInputs
from uec_vlm.rollout.base import Completion, SamplingParams, banned_token_ids, stop_token_ids


def _left_pad(prompts: list[PromptInputs], pad_token_id: int):
    """Stack prompts into left-padded [k, L] ids / mask / mm types plus concatenated image tensors."""
    length = max(p.num_prompt_tokens for p in prompts)
    ids = torch.full((len(prompts), length), pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    mm_types = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        n = p.num_prompt_tokens
        ids[i, length - n:] = p.inputs["input_ids"][0]
        mask[i, length - n:] = p.inputs["attention_mask"][0]
        if "mm_token_type_ids" in p.inputs:
            mm_types[i, length - n:] = p.inputs["mm_token_type_ids"][0]
    imgs = [p for p in prompts if "pixel_values" in p.inputs]
    pixels = torch.cat([p.inputs["pixel_values"] for p in imgs]) if imgs else None
    grids = torch.cat([p.inputs["image_grid_thw"] for p in imgs]) if imgs else None
    return ids, mask, mm_types, pixels, grids


def _truncate(scores: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Top-k then top-p (nucleus) filtering of [R, V] temperature-scaled scores (kept at least 1 token)."""
    if top_k > 0:
        kth = torch.topk(scores, min(top_k, scores.shape[-1]), dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
        cum = torch.softmax(sorted_scores, dim=-1).cumsum(-1)
        drop_sorted = (cum - torch.softmax(sorted_scores, dim=-1)) >= top_p  # mass before this token >= p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    return scores


def _repeat_rows(cache, n: int) -> None:
    """Each prompt's cached prefill becomes n rows (StaticCache layers lack batch_repeat_interleave)."""
    for layer in cache.layers:
        layer.keys = layer.keys.repeat_interleave(n, dim=0)
        layer.values = layer.values.repeat_interleave(n, dim=0)
        layer.batch_size = layer.keys.shape[0]


class HFBackend:
    """Generation with transformers models. `prompt_batch_size` prompts share one prefill + decode loop."""

    def __init__(self, model, processor, *, prompt_batch_size: int = 8):
        self.model = model
        self.processor = processor
        self.prompt_batch_size = prompt_batch_size
        vocab = model.get_output_embeddings().weight.shape[0]
        self.banned = torch.tensor(banned_token_ids(processor, vocab), dtype=torch.long)
        self.stops = torch.tensor(stop_token_ids(processor, model), dtype=torch.long)
        self.pad_token_id = processor.tokenizer.pad_token_id

    def update_weights(self, model) -> None:
        # Same process and (usually) the same module object: sampling always sees the live weights.
        self.model = model

    def generate(self, prompts: list[PromptInputs], params: SamplingParams) -> list[list[Completion]]:
        device = next(self.model.parameters()).device
        gen = None
        if params.seed is not None and not params.greedy:
            gen = torch.Generator(device=device).manual_seed(params.seed)
        was_training = self.model.training
        self.model.eval()
        try:
            out: list[list[Completion]] = []
            for s in range(0, len(prompts), self.prompt_batch_size):
                out.extend(self._generate_chunk(prompts[s:s + self.prompt_batch_size], params, device, gen))
            return out
        finally:
            self.model.train(was_training)

    @torch.no_grad()
    def _generate_chunk(self, prompts, params: SamplingParams, device, gen) -> list[list[Completion]]:
        n = params.n
        ids, mask, mm_types, pixels, grids = _left_pad(prompts, self.pad_token_id)
        ids, mask, mm_types = ids.to(device), mask.to(device), mm_types.to(device)
        position_ids, deltas = mrope_position_ids(self.model, ids, mask, mm_types, grids)
        extra = {} if pixels is None else {"pixel_values": pixels.to(device), "image_grid_thw": grids.to(device)}
        # A preallocated cache: a DynamicCache grows by torch.cat per layer per token (~25% of a step).
        cache = StaticCache(config=self.model.config, max_cache_len=ids.shape[1] + params.max_new_tokens)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=True,
                         logits_to_keep=1, **cache_kwargs(self.model, cache), **extra)
        cache = output_cache(out)
        if n > 1:
            _repeat_rows(cache, n)
        logits = out.logits[:, -1].repeat_interleave(n, dim=0)
        mask = mask.repeat_interleave(n, dim=0)
        next_pos = (mask.sum(-1, keepdim=True) + deltas.to(device).repeat_interleave(n, dim=0))  # [R, 1]
        rows = logits.shape[0]
        banned, stops = self.banned.to(device), self.stops.to(device)
        tokens = torch.empty((rows, 0), dtype=torch.long, device=device)
        logps = torch.empty((rows, 0), dtype=torch.float32, device=device)
        done = torch.zeros(rows, dtype=torch.bool, device=device)
        for step in range(params.max_new_tokens):
            scores = logits.float()
            scores[:, banned] = float("-inf")
            if not params.greedy:
                scores = scores / params.temperature
            logp_all = torch.log_softmax(scores, dim=-1)
            if params.greedy:
                tok = scores.argmax(-1)
            else:
                probs = torch.softmax(_truncate(scores, params.top_k, params.top_p), dim=-1)
                tok = torch.multinomial(probs, 1, generator=gen).squeeze(-1)
            tok = tok.masked_fill(done, self.pad_token_id)
            tokens = torch.cat([tokens, tok[:, None]], dim=1)
            logps = torch.cat([logps, logp_all.gather(-1, tok[:, None])], dim=1)
            done = done | torch.isin(tok, stops)
            if bool(done.all()) or step == params.max_new_tokens - 1:
                break
            mask = torch.cat([mask, torch.ones((rows, 1), dtype=mask.dtype, device=device)], dim=1)
            pos = next_pos.unsqueeze(0).expand(3, -1, -1)
            out = self.model(input_ids=tok[:, None], attention_mask=mask, position_ids=pos,
                             use_cache=True, **cache_kwargs(self.model, cache))
            cache, logits, next_pos = output_cache(out), out.logits[:, -1], next_pos + 1
        return self._completions(tokens.cpu(), logps.cpu(), len(prompts), n)

    def _completions(self, tokens, logps, num_prompts: int, n: int) -> list[list[Completion]]:
        stops = set(self.stops.tolist())
        groups: list[list[Completion]] = []
        for p in range(num_prompts):
            group = []
            for r in range(p * n, (p + 1) * n):
                ids = tokens[r].tolist()
                end = next((i + 1 for i, t in enumerate(ids) if t in stops), None)
                ids = ids[:end] if end is not None else ids
                text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
                group.append(Completion(ids, text, logps[r, :len(ids)].tolist(),
                                        "stop" if end is not None else "length"))
            groups.append(group)
        return groups
