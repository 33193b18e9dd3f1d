"""PAPO: the loss by hand, the patch mask, and the masked-image forward inside the real policy update."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import random
from pathlib import Path

import pytest
import torch

from uec_vlm.algos.entropy import EntropyControl
from uec_vlm.algos.papo import PAPOSettings, mask_pixel_values, masked_prompt, papo_loss
from uec_vlm.trainer.update import UpdateSettings, fill_logprobs, minibatches, policy_update

_spec = importlib.util.spec_from_file_location(
    "dist_update_worker", Path(__file__).resolve().parents[1] / "trainer" / "dist_update_worker.py")
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)


def test_papo_loss_by_hand():
    logp = torch.tensor([[-1.0, -2.0], [-0.5, 0.0]])
    masked = torch.tensor([[-1.5, -2.0], [-0.5, 0.0]])
    ent, ent_m = torch.tensor([[0.5, 1.0], [2.0, 0.0]]), torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    # k3 on token 1: d = -0.5 -> e^-0.5 + 0.5 - 1 = 0.1065307; the other valid tokens: 0. Token mean over 3.
    kl = (math.exp(-0.5) - 0.5) / 3
    loss, m = papo_loss(logp, masked, ent, ent_m, mask, gamma=0.1, eta_full=0.03, eta_masked=0.05)
    assert loss.item() == pytest.approx(-0.1 * kl + 0.03 * 3.5 / 3 + 0.05 * 6.0 / 3)
    assert (m["papo_kl"].item(), m["papo_entropy_masked"].item()) == pytest.approx((kl, 2.0))
    # global denominators (a micro-batch of a 6-token mini-batch): the loss is its share, metrics its own values
    half, m_half = papo_loss(logp, masked, ent, ent_m, mask, gamma=0.1, eta_full=0.03, eta_masked=0.05,
                             global_tokens=6)
    assert half.item() == pytest.approx(loss.item() / 2) and m_half["papo_kl"].item() == pytest.approx(kl)
    # gamma > 0 pushes the two views apart: the gradient on the masked log-prob of token 1 is -gamma/3 (e^d - 1)
    masked.requires_grad_(True)
    papo_loss(logp, masked, None, None, mask, gamma=0.1)[0].backward()
    assert masked.grad[0, 0].item() == pytest.approx(-0.1 / 3 * (math.exp(-0.5) - 1.0))
    with pytest.raises(ValueError, match="need the per-token entropy"):
        papo_loss(logp, masked, None, None, mask, gamma=0.1, eta_full=0.1)


def test_mask_blackens_whole_patches_with_the_seeded_probability():
    pv = torch.rand(10, 3 * 4, generator=torch.Generator().manual_seed(1))
    out = mask_pixel_values(pv, 0.5, image_mean=MEAN, image_std=STD, generator=torch.Generator().manual_seed(0))
    dropped = torch.rand(10, generator=torch.Generator().manual_seed(0)) < 0.5
    assert 0 < int(dropped.sum()) < 10
    assert torch.equal(out[~dropped], pv[~dropped])
    pixels = out[dropped].view(-1, 3, 4) * torch.tensor(STD)[None, :, None] + torch.tensor(MEAN)[None, :, None]
    torch.testing.assert_close(pixels, torch.zeros_like(pixels), atol=1e-6, rtol=0)  # black in [0, 1] space
    every = mask_pixel_values(pv, 1.0, image_mean=MEAN, image_std=STD, generator=torch.Generator())
    assert torch.equal(every[0], every[9])
    with pytest.raises(ValueError, match="not a multiple of 3 channels"):
        mask_pixel_values(torch.zeros(2, 7), 0.5, image_mean=MEAN, image_std=STD, generator=torch.Generator())


def _setup(model_dir):
    from uec_vlm.models.loading import load_policy

    model, processor = load_policy(model_dir)
    ip = processor.image_processor
    settings = PAPOSettings(gamma=0.5, eta_full=0.0, eta_masked=0.0, mask_ratio=0.6,
                            image_mean=tuple(ip.image_mean), image_std=tuple(ip.image_std))
    return model, processor, settings


def test_masked_prompt_depends_on_uid_and_seed_only(tiny_qwen2_5_vl_dir):
    _, processor, settings = _setup(tiny_qwen2_5_vl_dir)
    a, b = (s.prompt for s in worker.fixed_samples(processor, n=4)[::2])
    assert a.uid != b.uid
    pv = a.inputs["pixel_values"]
    one, again = masked_prompt(a, settings, 7), masked_prompt(a, settings, 7)
    assert torch.equal(one.inputs["pixel_values"], again.inputs["pixel_values"])
    assert not torch.equal(one.inputs["pixel_values"], pv) and torch.equal(a.inputs["pixel_values"], pv)
    assert not torch.equal(masked_prompt(a, settings, 8).inputs["pixel_values"], one.inputs["pixel_values"])
    assert torch.equal(one.inputs["input_ids"], a.inputs["input_ids"])  # only the pixels change
    text_only = dataclasses.replace(a, inputs={"input_ids": a.inputs["input_ids"]})
    assert masked_prompt(text_only, settings, 7) is text_only


def _update(model, processor, papo, micro_batch_size=4):
    samples = worker.fixed_samples(processor)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    metrics = policy_update(model, opt, None, samples, settings=UpdateSettings(micro_batch_size=micro_batch_size,
                                                                               papo=papo),
                            control=EntropyControl(), pad_token_id=int(processor.tokenizer.pad_token_id),
                            rng=random.Random(0), generator=torch.Generator().manual_seed(0), on_policy=True)
    return samples, metrics


def test_papo_in_the_update(tiny_qwen2_5_vl_dir):
    model, processor, settings = _setup(tiny_qwen2_5_vl_dir)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # the logged perception KL is the k3 token mean between two separate forwards, pre-update weights
    rng = random.Random(0)
    minibatches(8, 0, rng)
    seed = rng.randrange(2**31)  # policy_update draws the mask seed right after its mini-batch order
    samples = worker.fixed_samples(processor)
    views = [dataclasses.replace(s, prompt=masked_prompt(s.prompt, settings, seed)) for s in samples]
    pad = int(processor.tokenizer.pad_token_id)
    fill_logprobs(model, samples, pad_token_id=pad, micro_batch_size=8)
    fill_logprobs(model, views, pad_token_id=pad, micro_batch_size=8)
    d = torch.cat([v.old_logp - s.old_logp for s, v in zip(samples, views)]).clamp(-20, 20)
    expected_kl = float((torch.exp(d) - d - 1).clamp(-10, 10).mean())
    assert expected_kl > 1e-6

    _, with_papo = _update(model, processor, settings)
    assert with_papo["actor/papo_kl"] == pytest.approx(expected_kl, rel=1e-4)
    papo_weights = {k: v.clone() for k, v in model.state_dict().items()}

    # gamma = 0: the masked rows ride along but contribute no gradient -> the plain GRPO update
    model.load_state_dict(start)
    _, zero = _update(model, processor, dataclasses.replace(settings, gamma=0.0))
    zero_weights = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(start)
    _, plain = _update(model, processor, None)
    assert "actor/papo_kl" not in plain and zero["actor/pg_loss"] == pytest.approx(plain["actor/pg_loss"], rel=1e-5)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(zero_weights[k], v, atol=1e-6, rtol=1e-5)
    assert max(float((papo_weights[k] - v).abs().max()) for k, v in model.state_dict().items()) > 1e-4

    # logged losses are the mini-batch's values whatever the micro-batching (not shrunk by the split)
    model.load_state_dict(start)
    _, split = _update(model, processor, settings, micro_batch_size=2)
    for key in ("actor/pg_loss", "actor/papo_kl", "entropy/mean"):
        assert split[key] == pytest.approx(with_papo[key], rel=1e-4, abs=1e-7), key
