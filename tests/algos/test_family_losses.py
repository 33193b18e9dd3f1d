"""GSPO, CISPO, CE-GPPO and top-entropy token selection: values and gradients computed by hand."""

import math

import pytest
import torch

from uec_vlm.algos import POLICY_LOSSES, actor_loss
from uec_vlm.algos.token_select import top_entropy_mask


def _grad(name, logp, old, adv, mask, **kw):
    logp = logp.clone().requires_grad_(True)
    loss, metrics = POLICY_LOSSES.get(name)(logp, old, adv, mask, **kw)
    (loss * mask).sum().backward()
    return loss.detach(), logp.grad, metrics


def test_gspo_shares_one_sequence_ratio():
    # row 0: log s = mean(.1, .3) = .2 -> s = e^.2 = 1.2214 > 1.2: clipped, value -1.2, no gradient
    # row 1: one valid token, log s = -.2 -> s = .8187 > .8 with A < 0: not clipped, value +s, gradient s
    logp = torch.tensor([[0.1, 0.3], [-0.2, 5.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    adv = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    loss, grad, m = _grad("gspo", logp, torch.zeros(2, 2), adv, mask, clip_low=0.2, clip_high=0.2)
    s1 = math.exp(-0.2)
    torch.testing.assert_close(loss * mask, torch.tensor([[-1.2, -1.2], [s1, 0.0]]))
    torch.testing.assert_close(grad * mask, torch.tensor([[0.0, 0.0], [s1, 0.0]]))
    assert m["clip_frac"].item() == pytest.approx(2 / 3)
    assert m["seq_ratio_mean"].item() == pytest.approx((math.exp(0.2) + s1) / 2)


def test_cispo_clips_the_weight_not_the_gradient():
    # r = [.5/.25, .2/.4] = [2, .5]; cap 1 + 0.5 -> w = [1.5, .5]; L = -w A logp, dL/dlogp = -w A
    logp = torch.log(torch.tensor([[0.5, 0.2]]))
    old = torch.log(torch.tensor([[0.25, 0.4]]))
    adv, mask = torch.ones(1, 2), torch.ones(1, 2)
    loss, grad, m = _grad("cispo", logp, old, adv, mask, clip_low=0.2, clip_high=0.5)
    torch.testing.assert_close(loss, torch.tensor([[1.5 * math.log(2), 0.5 * math.log(5)]]))
    torch.testing.assert_close(grad, torch.tensor([[-1.5, -0.5]]))  # no lower bound: w = .5 stays
    assert m["cispo_clip_frac"].item() == 0.5


def test_ce_gppo_keeps_bounded_gradients_of_clipped_tokens():
    # tokens: (A=1, r=1.5) high-clipped; (A=-1, r=.5) low-clipped; (A=1, r=1) inside; (A=-1, r=4) dual-clipped
    ratio = torch.tensor([[1.5, 0.5, 1.0, 4.0]])
    adv = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    mask = torch.ones(1, 4)
    loss, grad, m = _grad("ce_gppo", torch.log(ratio), torch.zeros(1, 4), adv, mask, beta1=0.75, beta2=1.0)
    # values: -b2 (1.2) A = -1.2; -b1 (.8) A = .6; -A r = -1; min(-A r = 4, -A c = 3) = 3
    torch.testing.assert_close(loss, torch.tensor([[-1.2, 0.6, -1.0, 3.0]]))
    torch.testing.assert_close(grad, torch.tensor([[-1.2, 0.6, -1.0, 0.0]]))
    assert m["dual_clip_frac"].item() == 0.25
    # beta1 = beta2 = 0 is PPO clip: the clipped tokens lose their gradient
    _, grad0, _ = _grad("ce_gppo", torch.log(ratio), torch.zeros(1, 4), adv, mask, beta1=0.0, beta2=0.0)
    _, grad_ppo, _ = _grad("ppo_clip", torch.log(ratio), torch.zeros(1, 4), adv, mask)
    torch.testing.assert_close(grad0, grad_ppo)


def test_top_entropy_mask_and_its_use_in_the_loss():
    entropy = torch.tensor([[0.1, 0.5, 0.9], [0.3, 0.7, 99.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    # valid sorted [.1 .3 .5 .7 .9]; quantile .6 at position 2.4 -> .5 + .4 * .2 = .58 -> keeps .7 and .9
    sel = top_entropy_mask(entropy, mask, 0.4)
    assert sel.tolist() == [[False, False, True], [False, True, False]]
    assert top_entropy_mask(entropy, mask, 1.0).tolist() == (mask > 0).tolist()
    # the loss keeps all 5 valid tokens in the denominator: on-policy L = -A per token, A = 1 -> -2 / 5
    logp = torch.zeros(2, 3)
    loss, m = actor_loss(logp, logp, torch.ones(2), mask, entropy=entropy, top_entropy_quantile=0.4)
    assert loss.item() == pytest.approx(-2 / 5)
    assert m["selected_token_frac"].item() == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="needs per-token entropy"):
        actor_loss(logp, logp, torch.ones(2), mask, top_entropy_quantile=0.4)


def test_actor_loss_passes_policy_loss_parameters():
    # ce_gppo with beta2 = .5 on one high-clipped token: value -(.5 * 1.2) * A
    logp, old = torch.log(torch.tensor([[1.5]])), torch.zeros(1, 1)
    loss, _ = actor_loss(logp, old, torch.ones(1), torch.ones(1, 1), policy_loss="ce_gppo",
                         policy_loss_kwargs={"beta2": 0.5})
    assert loss.item() == pytest.approx(-0.6)
