"""forward_prefix_shared: each distinct prompt prefilled once equals the per-row full forward, with gradients,
with activation checkpointing off and on."""

from __future__ import annotations

import pytest
import torch

from uec_vlm.logprobs import collate, forward_logprobs, forward_prefix_shared
from uec_vlm.prompts import build_prompt


@pytest.mark.parametrize("checkpointing", [False, True])
def test_prefix_shared_forward_equals_full_forward_and_its_gradients(tiny_qwen2_5_vl_dir, synthetic_examples,
                                                                     checkpointing):
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_5_vl_dir, gradient_checkpointing=checkpointing)
    model.train()  # checkpointing only acts in training mode; the tiny model has no dropout
    pad = processor.tokenizer.pad_token_id
    prompts = [build_prompt(ex, processor, template="direct") for ex in synthetic_examples]  # 1, 2, 0 images
    owner = [0, 1, 0, 2, 1, 0]
    completions = [[5, 6, 7], [9], [11, 12], [13, 14, 15, 16], [17, 18], [19]]
    full = collate([prompts[o] for o in owner], completions, pad)
    attention_calls, encoded = [], []
    hooks = [model.model.language_model.layers[0].self_attn.register_forward_hook(
                 lambda m, a, kw, out: attention_calls.append(1), with_kwargs=True),
             model.model.visual.register_forward_hook(
                 lambda m, a, kw, out: encoded.append(int(kw.get("grid_thw", a[1] if len(a) > 1 else None).shape[0])),
                 with_kwargs=True)]

    model.zero_grad()
    a, ea, ma = forward_logprobs(model, full)
    ((a + ea) * ma).sum().backward()
    grads_a = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    attention_calls.clear()
    encoded.clear()
    b, eb, mb = forward_prefix_shared(model, prompts, owner, completions, pad)
    ((b + eb) * mb).sum().backward()
    grads_b = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    for h in hooks:
        h.remove()

    # The 3 distinct prompts' 3 images are encoded once (not once per row: 1+2+1+0+2+1 = 7; the vision tower
    # checkpoints per block, so it is not called again), and layer 0's attention ran twice (prompt pass,
    # completion pass), plus once more each when checkpointing replays the layer in backward.
    assert encoded == [3]
    assert len(attention_calls) == (4 if checkpointing else 2)
    assert torch.equal(ma, mb)
    torch.testing.assert_close(b * mb, a * ma, atol=1e-5, rtol=0)
    torch.testing.assert_close(eb * mb, ea * ma, atol=1e-5, rtol=0)
    assert grads_a.keys() == grads_b.keys() and any("visual" in n for n in grads_a)
    for n in grads_a:
        torch.testing.assert_close(grads_b[n], grads_a[n], atol=1e-4, rtol=1e-4, msg=n)
    # Rows attached to the wrong prompt give different log-probs: the test can fail.
    c, _, _ = forward_prefix_shared(model, prompts, [1, 0, 2, 0, 2, 1], completions, pad)
    assert ((c - a) * ma).abs().max() > 1e-3
