import math

import pytest
import torch

from uec_vlm.algos import aggregate, kl_penalty, ppo_clip_loss

LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
MASK = torch.tensor([[1, 1, 0], [1, 0, 0]])


def test_aggregate_modes():
    assert aggregate(LOSS, MASK, "token-mean").item() == pytest.approx(7 / 3)  # (1 + 2 + 4) / 3 tokens
    assert aggregate(LOSS, MASK, "seq-mean-token-mean").item() == pytest.approx(2.75)  # (3/2 + 4/1) / 2
    assert aggregate(LOSS, MASK, "seq-mean-token-sum-norm").item() == pytest.approx(7 / 6)  # (3 + 4) / (2 * T=3)
    assert aggregate(LOSS, MASK, "seq-mean-token-sum-norm", max_len=4).item() == pytest.approx(7 / 8)
    # a row without tokens does not count as a sequence: (3 + 0) / 1
    assert aggregate(LOSS, torch.tensor([[1, 1, 0], [0, 0, 0]]), "seq-mean-token-mean").item() == pytest.approx(1.5)
    assert aggregate(LOSS, torch.zeros_like(MASK), "token-mean").item() == 0.0
    with pytest.raises(ValueError, match="unknown loss aggregation mode 'bad'"):
        aggregate(LOSS, MASK, "bad")
    with pytest.raises(ValueError, match="loss_mat has shape"):
        aggregate(LOSS[:, :2], MASK)


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
def test_micro_batches_sum_to_full_batch(mode):
    full = aggregate(LOSS, MASK, mode, max_len=3)
    kw = {"global_tokens": 3, "global_seqs": 2, "max_len": 3}
    # micro-batch 0 is padded only to T=2 (its own longest response), micro-batch 1 to T=3
    part = aggregate(LOSS[:1, :2], MASK[:1, :2], mode, **kw) + aggregate(LOSS[1:], MASK[1:], mode, **kw)
    assert part.item() == pytest.approx(full.item())


def _ppo_batch():
    # row 0: A = +1, ratios 1.5, 1.1, 0.5; row 1: A = -2, ratios 4.0, 0.5, (padding)
    ratios = torch.tensor([[1.5, 1.1, 0.5], [4.0, 0.5, 1.0]])
    old = torch.full((2, 3), -1.0)
    logp = (old + ratios.log()).requires_grad_(True)
    return logp, old, torch.tensor([1.0, -2.0]), torch.tensor([[1, 1, 1], [1, 1, 0]])


def test_ppo_clip_dual_clip_values_metrics_and_gradients():
    logp, old, adv, mask = _ppo_batch()
    loss, m = ppo_clip_loss(logp, old, adv, mask)
    # row 0: max(-1.5, -1.2) = -1.2 (clipped high); -1.1; max(-0.5, -0.8) = -0.5
    # row 1: max(8, 2.4) = 8 -> dual clip min(8, 2*3) = 6; max(1.0, 2*0.8) = 1.6 (clipped low)
    assert loss.item() == pytest.approx((-1.2 - 1.1 - 0.5 + 6 + 1.6) / 5)  # 0.96
    assert m["clip_frac_high"].item() == pytest.approx(0.2)
    assert m["clip_frac_low"].item() == pytest.approx(0.2)
    assert m["dual_clip_frac"].item() == pytest.approx(0.2)
    assert m["ratio_mean"].item() == pytest.approx(7.6 / 5)
    assert m["approx_kl"].item() == pytest.approx(-math.log(1.5 * 1.1 * 0.5 * 4.0 * 0.5) / 5)
    loss.backward()
    # d/dlogp of -A r is -A r / 5 where unclipped, 0 where a clip is active or on padding
    torch.testing.assert_close(logp.grad, torch.tensor([[0.0, -1.1 / 5, -0.5 / 5], [0.0, 0.0, 0.0]]))


def test_ppo_clip_without_dual_clip_and_clip_higher():
    logp, old, adv, mask = _ppo_batch()
    assert ppo_clip_loss(logp, old, adv, mask, dual_clip=None)[0].item() == pytest.approx((-2.8 + 8 + 1.6) / 5)
    # DAPO clip-higher 0.28: the r = 1.5 token now gives -1.28
    assert ppo_clip_loss(logp, old, adv, mask, clip_high=0.28)[0].item() == pytest.approx((-1.28 - 1.6 + 7.6) / 5)
    with pytest.raises(ValueError, match="dual_clip must be > 1"):
        ppo_clip_loss(logp, old, adv, mask, dual_clip=0.5)


def test_kl_estimators():
    logp, ref = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-2.0, -1.0]])
    torch.testing.assert_close(kl_penalty(logp, ref, "k1"), torch.tensor([[1.0, -1.0]]))
    torch.testing.assert_close(kl_penalty(logp, ref, "k2"), torch.tensor([[0.5, 0.5]]))
    # k3: d = ref - logp = -1 -> e^-1 + 1 - 1 = 0.36788; d = 1 -> e - 2 = 0.71828
    torch.testing.assert_close(kl_penalty(logp, ref, "k3"), torch.tensor([[math.exp(-1), math.e - 2]]))
    torch.testing.assert_close(kl_penalty(logp, ref, "low_var_kl"), kl_penalty(logp, ref, "k3"))
    # d = 30 is clamped to 20 before exp and the result clamped to 10
    assert kl_penalty(torch.tensor([[0.0]]), torch.tensor([[30.0]]), "k3").item() == 10.0
    with pytest.raises(KeyError, match="unknown KL estimator 'k9'"):
        kl_penalty(logp, ref, "k9")
