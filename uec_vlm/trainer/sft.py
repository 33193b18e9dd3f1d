"""Supervised warm start (`uec-vlm sft`, and `sft.steps` before RL): teach the answer format and a
starting accuracy on the gold answers, with the same prompts, collation and log-prob code RL uses.
"""

from __future__ import annotations

import random
import time

import torch

from uec_vlm.logprobs import collate, forward_logprobs


def target_text(example, style: str = "think_boxed") -> str:
    """The supervised response: `\\boxed{gold}` with a short think block. Choice questions answer with the
    option text (graders accept the letter or the text), which needs no letter lookup in the prompt."""
    answer = example.answer
    if style == "boxed":
        return f"\\boxed{{{answer}}}"
    rationale = str(example.metadata.get("rationale", "")).strip()
    return f"<think>{(' ' + rationale + ' ') if rationale else ' '}</think> \\boxed{{{answer}}}"


def target_ids(processor, example, style: str) -> list[int]:
    tok = processor.tokenizer
    ids = tok(target_text(example, style), add_special_tokens=False)["input_ids"]
    end = tok.convert_tokens_to_ids("<|im_end|>")
    return list(ids) + ([end] if isinstance(end, int) and end >= 0 else [])


def run_sft(model, processor, examples, *, steps: int, lr: float, batch_size: int, micro_batch_size: int,
            template: str, image_budget, max_prompt_length: int, style: str = "think_boxed", seed: int = 0,
            log=None, bad: list[tuple[str, str]] | None = None) -> list[float]:
    """Cross-entropy on gold responses for `steps` AdamW updates; returns the per-step losses.

    Prompts are built once per example and cached (images resized once, as in RL). `log(step, dict)` is
    called after each update when given. bad: a list (data.on_error=skip) collects (uid, reason) of the
    examples whose images fail to decode, which are then left out instead of stopping the run.
    """
    from uec_vlm.prompts import build_prompts

    prompts, dropped = build_prompts(examples, processor, template=template, image_budget=image_budget,
                                     max_prompt_length=max_prompt_length, bad=bad)
    if not prompts:
        raise ValueError(f"sft: no usable prompts ({len(dropped)} exceed max_prompt_length={max_prompt_length})")
    by_uid = {ex.uid: ex for ex in examples}
    targets = [target_ids(processor, by_uid[p.uid], style) for p in prompts]
    pad = int(processor.tokenizer.pad_token_id)
    device = next(model.parameters()).device
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    order: list[int] = []
    losses = []
    model.train()
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        if len(order) < batch_size:
            order += rng.sample(range(len(prompts)), len(prompts))
        idx, order = order[:batch_size], order[batch_size:]
        n_tokens = sum(len(targets[i]) for i in idx)
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for j in range(0, len(idx), micro_batch_size):
            part = idx[j:j + micro_batch_size]
            batch = collate([prompts[i] for i in part], [targets[i] for i in part], pad).to(device)
            logp, _, mask = forward_logprobs(model, batch, with_entropy=False)
            loss = -(logp * mask).sum() / n_tokens
            loss.backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(total)
        if log is not None:
            log(step, {"sft/loss": total, "time/step": time.perf_counter() - t0})
    model.eval()
    return losses
