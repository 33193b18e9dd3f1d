"""forward_prefix_shared: each distinct prompt prefilled once equals the per-row full forward, with gradients."""

from __future__ import annotations

import torch

from uec_vlm.logprobs import collate, forward_logprobs, forward_prefix_shared
from uec_vlm.prompts import build_prompt


def test_prefix_shared_forward_equals_full_forward_and_its_gradients(tiny_qwen2_5_vl_dir, synthetic_examples):
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(tiny_qwen2_5_vl_dir)
    pad = processor.tokenizer.pad_token_id
    prompts = [build_prompt(ex, processor, template="direct") for ex in synthetic_examples]  # 1, 2, 0 images
    owner = [0, 1, 0, 2, 1, 0]
    completions = [[5, 6, 7], [9], [11, 12], [13, 14, 15, 16], [17, 18], [19]]
    full = collate([prompts[o] for o in owner], completions, pad)

    model.zero_grad()
    a, ea, ma = forward_logprobs(model, full)
    ((a + ea) * ma).sum().backward()
    grads_a = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    b, eb, mb = forward_prefix_shared(model, prompts, owner, completions, pad)
    ((b + eb) * mb).sum().backward()
    grads_b = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    assert torch.equal(ma, mb)
    torch.testing.assert_close(b * mb, a * ma, atol=1e-5, rtol=0)
    torch.testing.assert_close(eb * mb, ea * ma, atol=1e-5, rtol=0)
    assert grads_a.keys() == grads_b.keys() and any("visual" in n for n in grads_a)
    for n in grads_a:
        torch.testing.assert_close(grads_b[n], grads_a[n], atol=1e-4, rtol=1e-4, msg=n)
    # Rows attached to the wrong prompt give different log-probs: the test can fail.
    c, _, _ = forward_prefix_shared(model, prompts, [1, 0, 2, 0, 2, 1], completions, pad)
    assert ((c - a) * ma).abs().max() > 1e-3
