"""Reinforce++-baseline and the Pass@k advantages, against values computed by hand in the comments."""

import math

import pytest
import torch

from uec_vlm.algos import compute_advantages

IDS = torch.tensor


def test_reinforce_pp_baseline_whitens_over_tokens():
    # group 0 = [1, 0] -> d = [.5, -.5]; group 1 = [1, 1, 1, 0] -> d = [.25, .25, .25, -.75]
    # mean d = 0; unbiased var = (.25 + .25 + 3 * .0625 + .5625) / 5 = .25 -> A = d / .5
    adv = compute_advantages("reinforce_pp_baseline", torch.tensor([1.0, 0, 1, 1, 1, 0]), IDS([0, 0, 1, 1, 1, 1]))
    torch.testing.assert_close(adv, torch.tensor([1.0, -1.0, 0.5, 0.5, 0.5, -1.5]))
    # lengths weigh tokens: w = [3, 1], mu = (1.5 - .5) / 4 = .25, var = (3 * .0625 + .5625) / 3 = .25
    adv = compute_advantages("reinforce_pp_baseline", torch.tensor([1.0, 0.0]), IDS([0, 0]),
                             lengths=torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(adv, torch.tensor([0.5, -1.5]))
    # a singleton group is 0 (and 0 before whitening): d = [.5, -.5, 0], var = .5 / 2
    adv = compute_advantages("reinforce_pp_baseline", torch.tensor([1.0, 0.0, 7.0]), IDS([0, 0, 5]))
    torch.testing.assert_close(adv, torch.tensor([1.0, -1.0, 0.0]))


def test_passk_max_gives_the_lone_success_everything():
    # g0 [1,0,0,0]: r_max - r_second = 1, unbiased std .5 -> A = 2 on the success only;
    # g1 [0,1,1]: max - second = 0; g2 [0,0]: 0
    rewards = torch.tensor([1.0, 0, 0, 0, 0, 1, 1, 0, 0])
    adv = compute_advantages("passk_max", rewards, IDS([0, 0, 0, 0, 1, 1, 1, 2, 2]))
    assert adv.tolist() == pytest.approx([2.0, 0, 0, 0, 0, 0, 0, 0, 0], abs=1e-5)
    # graded rewards: the best (second in the group) gets (1 - .5) / std, std of [0, 1, .5, .2]
    r = torch.tensor([0.0, 1.0, 0.5, 0.2])
    adv = compute_advantages("passk_max", r, IDS([3, 3, 3, 3]))
    assert adv.tolist() == pytest.approx([0.0, 0.5 / (r.std().item() + 1e-6), 0.0, 0.0], abs=1e-6)


def test_passk_analytic_values():
    # n = 4, c = 1, k = 2: R = 1 - C(3,2)/C(4,2) = .5, s = .5, A+ = .5/.5 = 1, A- = (.5 - C(2,1)/C(3,1))/.5 = -1/3
    adv = compute_advantages("passk", torch.tensor([1.0, 0, 0, 0]), IDS([0, 0, 0, 0]), k=2)
    torch.testing.assert_close(adv, torch.tensor([1.0, -1 / 3, -1 / 3, -1 / 3]))
    # n = 4, c = 2, k = 2: R = 5/6, s = sqrt(5)/6, A+ = 1/sqrt(5), A- = (1/6 - 1/3)/s = -1/sqrt(5); +-1 rewards
    adv = compute_advantages("passk", torch.tensor([1.0, 1, -1, -1]), IDS([0, 0, 0, 0]), k=2)
    r5 = 1 / math.sqrt(5)
    torch.testing.assert_close(adv, torch.tensor([r5, r5, -r5, -r5]))
    # k = 1 is GRPO with the biased std: p = 1/4, s = sqrt(3)/4 -> A+ = 3/sqrt(3), A- = -1/sqrt(3)
    adv = compute_advantages("passk", torch.tensor([1.0, 0, 0, 0]), IDS([0, 0, 0, 0]), k=1)
    torch.testing.assert_close(adv, torch.tensor([math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3)]))
    # all-correct and all-wrong groups carry no signal
    adv = compute_advantages("passk", torch.tensor([1.0, 1, 0, 0]), IDS([0, 0, 1, 1]), k=2)
    assert adv.tolist() == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"group of 2 samples is smaller than k=3"):
        compute_advantages("passk", torch.tensor([1.0, 0.0]), IDS([0, 0]), k=3)
