import math

import pytest
import torch

from uec_vlm.algos import (
    ENTROPY_CONTROLS,
    AdaptiveEntropy,
    EntropyControl,
    actor_loss,
    build_entropy_control,
    clip_cov_token_loss,
    entropy_advantage,
    kl_cov_token_loss,
    ppo_clip_loss,
)

E = math.exp(0.1)  # ratio when logp - old_logp = 0.1


def test_kl_cov_selects_top_covariance_token():
    adv = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # mean A = 0
    logp = torch.tensor([[-0.5, -1.5], [-1.0, -3.0]])  # mean logp = -1.5
    # Cov = A * (logp + 1.5): [[1.0, 0.0], [-0.5, 1.5]] -> k = max(1, int(0.25 * 4)) = 1 -> token (1, 1)
    loss, m = kl_cov_token_loss(logp, logp - 0.1, adv, torch.ones(2, 2), ratio=0.25, beta=1.0)
    torch.testing.assert_close(loss, torch.tensor([[-E, -E], [E, E + 0.1]]))
    assert m["kl_cov_frac"].item() == pytest.approx(0.25)
    # with the last token padded: means over 3 valid tokens are A 1/3, logp -1,
    # Cov = [[2/3 * .5, 2/3 * -.5], [-4/3 * 0, pad]] -> token (0, 0), k = max(1, int(1e-4 * 3)) = 1
    loss, _ = kl_cov_token_loss(logp, logp - 0.1, adv, torch.tensor([[1, 1], [1, 0]]), ratio=1e-4)
    torch.testing.assert_close(loss, torch.tensor([[-E + 0.1, -E], [E, E]]))


def _clip_cov_batch():
    adv = torch.tensor([[2.0, 2.0], [-2.0, -2.0]])  # mean 0
    logp = torch.tensor([[-0.2, -1.0], [-3.0, -1.0]])  # mean -1.3
    # Cov = A * (logp + 1.3) = [[2.2, 0.6], [3.4, -0.6]]: candidates in (1, 5) are (0, 0) and (1, 0)
    return adv, logp, torch.ones(2, 2)


def test_clip_cov_removes_candidates_reproducibly():
    adv, logp, mask = _clip_cov_batch()
    # ratio 0.5 -> n_clip = int(0.5 * 4) = 2: both candidates lose their loss (-A * 1)
    loss, m = clip_cov_token_loss(logp, logp.clone(), adv, mask, ratio=0.5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss, torch.tensor([[0.0, -2.0], [0.0, 2.0]]))
    assert m["clip_cov_frac"].item() == 0.5
    # ratio 2e-4 -> max(1, int(8e-4)) = 1 of the 2 candidates, chosen by the generator
    picks = set()
    for seed in range(20):
        a, _ = clip_cov_token_loss(logp, logp.clone(), adv, mask, generator=torch.Generator().manual_seed(seed))
        b, _ = clip_cov_token_loss(logp, logp.clone(), adv, mask, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(a, b)
        zeros = (a == 0).nonzero().tolist()
        assert len(zeros) == 1 and zeros[0] in ([0, 0], [1, 0])
        picks.add(tuple(zeros[0]))
    assert picks == {(0, 0), (1, 0)}


def test_clip_cov_skips_tokens_already_clipped():
    adv, logp, mask = _clip_cov_batch()
    old = logp.clone()
    old[0, 0] -= math.log(2.0)  # ratio 2 with A > 0: PPO clipped branch active -> not a candidate
    loss, _ = clip_cov_token_loss(logp.requires_grad_(True), old, adv, mask, ratio=0.5)
    # (0, 0) keeps its clipped loss -2 * 1.2; only (1, 0) is removed
    torch.testing.assert_close(loss, torch.tensor([[-2.4, -2.0], [0.0, 2.0]]))
    loss.sum().backward()
    torch.testing.assert_close(logp.grad, torch.tensor([[0.0, -2.0], [0.0, 2.0]]))


def test_entropy_advantage():
    adv = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    ent = torch.tensor([[0.5, 3.0], [1.0, 2.0]])
    # + min(0.4 H, |A| / 2): min(.2, .5) = .2; min(1.2, .5) = .5; min(.4, .5) = .4; min(.8, 0) = 0
    out = entropy_advantage(adv, ent, torch.ones(2, 2), alpha=0.4, kappa=2.0)
    torch.testing.assert_close(out, torch.tensor([[1.2, 1.5], [-0.6, 0.0]]))
    ctrl = build_entropy_control("entropy_adv", alpha=0.4, kappa=2.0)
    torch.testing.assert_close(ctrl.shape_advantages(adv, ent, torch.tensor([[1, 1], [1, 0]])),
                               torch.tensor([[1.2, 1.5], [-0.6, 0.0]]))
    with pytest.raises(ValueError, match="'entropy_adv' needs per-token entropy"):
        ctrl.shape_advantages(adv, None, torch.ones(2, 2))


ENT = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
ENT_MASK = torch.tensor([[1, 1], [1, 0]])


def test_fixed_bonus():
    # 0.1 * (1 + 2 + 3) / 3 tokens
    assert build_entropy_control("bonus", coef=0.1).bonus(ENT, ENT_MASK).item() == pytest.approx(0.2)


def test_aer_controller_rule_weights_and_state():
    aer = AdaptiveEntropy(tau=0.4, eta=0.1, alpha_init=0.05, alpha_max=0.2, rho=1.0)
    aer.observe(2.0)  # H0 = 2, H* = 0.8: alpha = clip(0.05 + 0.1 * (0.8 - 2.0)) = clip(-0.07) = 0
    assert (aer.h0, aer.alpha) == (2.0, 0.0)
    aer.observe(0.5)  # 0 + 0.1 * 0.3
    assert aer.alpha == pytest.approx(0.03)
    aer.observe(0.3)  # 0.03 + 0.1 * 0.5
    assert aer.alpha == pytest.approx(0.08)
    # pass rates 0 and 0.5 -> w = 1 - p = [1, .5]: alpha * (1 + 2 + 0.5 * 3) / 3 = 0.08 * 1.5
    assert aer.bonus(ENT, ENT_MASK, pass_rate=torch.tensor([0.0, 0.5])).item() == pytest.approx(0.12)
    state = aer.state_dict()
    aer.observe(0.0)
    aer.observe(0.0)  # 0.08 + 0.08 = 0.16, then 0.24 -> clipped at alpha_max 0.2
    assert aer.alpha == pytest.approx(0.2)
    restored = AdaptiveEntropy(tau=0.4, eta=0.1, alpha_max=0.2, rho=0.5)
    restored.load_state_dict(state)
    assert (restored.alpha, restored.h0) == (pytest.approx(0.08), 2.0)
    # rho = 0.5: the p = 0.5 prompt gets weight 0 -> 0.08 * (1 + 2) / 3
    assert restored.bonus(ENT, ENT_MASK, pass_rate=torch.tensor([0.0, 0.5])).item() == pytest.approx(0.08)
    with pytest.raises(ValueError, match="AER needs pass_rate"):
        restored.bonus(ENT, ENT_MASK)


def test_actor_loss_composes_terms():
    ratios = torch.tensor([[1.5, 1.1, 0.5], [4.0, 0.5, 1.0]])
    old = torch.full((2, 3), -1.0)
    logp = old + ratios.log()
    adv, mask = torch.tensor([1.0, -2.0]), torch.tensor([[1, 1, 1], [1, 1, 0]])
    base, _ = ppo_clip_loss(logp, old, adv, mask)  # 0.96, see test_losses
    plain, _ = actor_loss(logp, old, adv, mask)
    assert plain.item() == pytest.approx(base.item())
    # + 0.1 * k1 (0.5 on every token) - 0.1 * entropy 1.0 = 0.96 + 0.05 - 0.1
    kw = dict(entropy=torch.ones(2, 3), ref_logp=logp - 0.5, kl_coef=0.1, kl_kind="k1",
              control=build_entropy_control("bonus", coef=0.1))
    loss, m = actor_loss(logp, old, adv, mask, **kw)
    assert loss.item() == pytest.approx(0.91)
    assert (m["kl"].item(), m["entropy_bonus"].item(), m["entropy"].item()) == pytest.approx((0.5, 0.1, 1.0))
    # importance weights 2 double only the policy term: 1.92 + 0.05 - 0.1
    loss, _ = actor_loss(logp, old, adv, mask, token_weights=torch.full((2, 3), 2.0), **kw)
    assert loss.item() == pytest.approx(1.87)
    with pytest.raises(ValueError, match="needs ref_logp"):
        actor_loss(logp, old, adv, mask, kl_coef=0.1)


def test_user_control_plugs_in():
    @ENTROPY_CONTROLS.register("test_flip")
    class Flip(EntropyControl):
        def shape_advantages(self, advantages, entropy, mask):
            return -advantages

    try:
        logp, old = torch.zeros(1, 1), torch.zeros(1, 1)
        loss, _ = actor_loss(logp, old, torch.tensor([1.0]), torch.ones(1, 1), control=build_entropy_control("test_flip"))
        assert loss.item() == 1.0  # -(-1) * ratio 1
    finally:
        ENTROPY_CONTROLS.pop("test_flip")
    with pytest.raises(TypeError, match="entropy control 'aer': bad parameters \\['bogus'\\]"):
        build_entropy_control("aer", bogus=1)
