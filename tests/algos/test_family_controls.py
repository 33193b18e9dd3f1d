"""Skywork and EntroPIC controllers (state, resume) and NoisyRollout's image perturbation, by hand."""

import dataclasses

import pytest
import torch

from uec_vlm.algos import actor_loss, build_entropy_control
from uec_vlm.algos.noisy_rollout import noise_std_at, noisy_generate, perturb_pixel_values, perturb_prompt


def test_skywork_steps_the_coefficient_and_acts_only_below_target():
    c = build_entropy_control("skywork", target=0.5, delta=0.1)
    seen = []
    for h in (0.4, 0.3, 0.6, 0.5):
        c.observe(h)
        seen.append((round(c.alpha, 9), round(c.coef, 9)))
    # .4 < .5: alpha = c0 = 0, c -> .1;  .3: alpha = .1, c -> .2;  .6 > .5: alpha 0, c -> .1;  .5 = target: alpha .1
    assert seen == [(0.0, 0.1), (0.1, 0.2), (0.0, 0.1), (0.1, 0.1)]
    entropy, mask = torch.tensor([[1.0, 3.0]]), torch.ones(1, 2)
    assert c.bonus(entropy, mask).item() == pytest.approx(0.1 * 2.0)
    resumed = build_entropy_control("skywork", target=0.5, delta=0.1)
    resumed.load_state_dict(c.state_dict())
    c.observe(0.45)
    resumed.observe(0.45)
    assert (resumed.alpha, resumed.coef) == (c.alpha, c.coef)
    rel = build_entropy_control("skywork", target_ratio=0.5, delta=0.1)
    rel.observe(2.0)  # H* = .5 * 2 = 1 < 2: the coefficient steps down (and stays at 0)
    assert (rel.alpha, rel.coef) == (0.0, 0.0)
    with pytest.raises(ValueError, match="exactly one of target"):
        build_entropy_control("skywork")


def test_entropic_pi_controller_and_token_weights():
    c = build_entropy_control("entropic", target=0.5, kp=1.0, ki=0.5, alpha_max=0.5)
    c.observe(0.3)  # e = .2, I = .2 -> .2 + .1 = .3
    assert c.alpha == pytest.approx(0.3)
    c.observe(0.3)  # e = .2, I = .4 -> .2 + .2 = .4
    assert c.alpha == pytest.approx(0.4)
    c.observe(0.2)  # e = .3, I = .7 -> .3 + .35 = .65, clipped to .5
    assert c.alpha == pytest.approx(0.5)
    c.observe(-5.0)  # e = 5.5: I would be 6.2, anti-windup clamps it to alpha_max / ki = 1
    assert c.integral == pytest.approx(1.0)
    state = c.state_dict()
    c.load_state_dict({**state, "alpha": 0.5})
    # positive & p >= .9 and negative & p <= .1 get 1 - alpha; the rest 1 (padding 1 too)
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0, 1.0]])
    old = torch.log(torch.tensor([[0.95, 0.5, 0.05, 0.5, 0.99]]))
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]])
    torch.testing.assert_close(c.token_weights(adv, old, mask), torch.tensor([[0.5, 1.0, 0.5, 1.0, 1.0]]))
    # in the loss (on-policy, L = -A w per token): (-.5 - 1 + .5 + 1) / 4 valid tokens = 0
    loss, m = actor_loss(old, old, adv, mask, control=c)
    assert m["control_weight_mean"].item() == pytest.approx(0.75)
    assert loss.item() == pytest.approx(0.0)
    # sequence advantage A = +1 on every token: only the p = .95 token is re-weighted -> (-.5 - 3) / 4
    loss, m = actor_loss(old, old, torch.ones(1), mask, control=c)
    assert (loss.item(), m["control_weight_mean"].item()) == pytest.approx((-3.5 / 4, 3.5 / 4))


def test_noise_schedule_and_pixel_perturbation():
    assert [noise_std_at(s, 0.3, 100) for s in (1, 51, 101, 500)] == pytest.approx([0.3, 0.15, 0.0, 0.0])
    assert noise_std_at(77, 0.3, 0) == 0.3
    mean, std = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
    # pixel x = .5 -> normalised 0; x = 1 (white) -> 1. Noise is added to x in [0, 1] and clamped.
    pv = torch.tensor([[0.0] * 6, [1.0] * 6])
    out = perturb_pixel_values(pv, 0.2, image_mean=mean, image_std=std, generator=torch.Generator().manual_seed(3))
    noise = torch.randn(2, 3, 2, generator=torch.Generator().manual_seed(3)).reshape(2, 6) * 0.2
    expected = ((torch.tensor([[0.5] * 6, [1.0] * 6]) + noise).clamp(0, 1) - 0.5) / 0.5
    torch.testing.assert_close(out, expected)
    assert (out[1] <= 1.0).all() and (out[1] < 1.0).any()
    same = perturb_pixel_values(pv, 0.0, image_mean=mean, image_std=std, generator=torch.Generator())
    torch.testing.assert_close(same, pv)


def test_noisy_generate_mixes_clean_and_noisy_completions(tiny_policy, synthetic_examples):
    from uec_vlm.prompts import build_prompt
    from uec_vlm.rollout import SamplingParams, make_backend

    model, processor = tiny_policy
    backend = make_backend("hf", model, processor)
    prompt = build_prompt(synthetic_examples[0], processor, template="direct")
    ip = processor.image_processor
    stats = {"image_mean": list(ip.image_mean), "image_std": list(ip.image_std)}
    noisy = perturb_prompt(prompt, 0.5, generator=torch.Generator().manual_seed(0), **stats)
    assert not torch.equal(noisy.inputs["pixel_values"], prompt.inputs["pixel_values"])
    assert noisy.inputs["input_ids"] is prompt.inputs["input_ids"] and noisy.uid == prompt.uid
    params = SamplingParams(n=4, max_new_tokens=3, seed=11)
    mixed = noisy_generate(backend.generate, [prompt], params, n_noisy=3, std=0.5, **stats)
    clean = backend.generate([prompt], dataclasses.replace(params, n=1))
    assert len(mixed) == 1 and len(mixed[0]) == 4
    assert mixed[0][0].token_ids == clean[0][0].token_ids  # the clean part is the ordinary generation
    with pytest.raises(ValueError, match=r"n_noisy=5 must be in \[1, rollout.n=4\]"):
        noisy_generate(backend.generate, [prompt], params, n_noisy=5, std=0.5, **stats)
