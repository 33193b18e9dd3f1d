import math

import pytest
import torch

from uec_vlm.algos import ADVANTAGES, compute_advantages, register_advantage

# Three groups with non-contiguous ids: 7 -> [1, 0, 0], 3 -> [1, 1], 9 -> [0.5] (size 1).
REWARDS = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.5])
IDS = torch.tensor([7, 3, 7, 3, 7, 9])


def test_grpo_unbiased_std_and_edge_groups():
    adv = compute_advantages("grpo", REWARDS, IDS)
    # group 7: mean 1/3, deviations (2/3, -1/3, -1/3), unbiased var = (4/9 + 1/9 + 1/9) / 2 = 1/3
    std = math.sqrt(1 / 3)
    hi, lo = (2 / 3) / (std + 1e-6), (-1 / 3) / (std + 1e-6)  # 1.1547, -0.57735
    # group 3: constant -> 0 / (0 + eps) = 0; group 9 has one sample -> 0 by definition
    expected = torch.tensor([hi, 0.0, lo, 0.0, lo, 0.0])
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-6)


def test_drgrpo_and_rloo():
    torch.testing.assert_close(
        compute_advantages("drgrpo", REWARDS, IDS), torch.tensor([2 / 3, 0.0, -1 / 3, 0.0, -1 / 3, 0.0])
    )
    # rloo: r_i - mean(others): 1 - (0+0)/2 = 1, 0 - (1+0)/2 = -0.5
    torch.testing.assert_close(compute_advantages("rloo", REWARDS, IDS), torch.tensor([1.0, 0.0, -0.5, 0.0, -0.5, 0.0]))


def test_duplicate_prompt_with_distinct_ids_is_not_merged():
    # the same prompt rolled out twice, given ids 0 and 1 by the trainer: rewards [1, 0] and [1, 1]
    adv = compute_advantages("grpo", torch.tensor([1.0, 0.0, 1.0, 1.0]), torch.tensor([0, 0, 1, 1]))
    # group 0: mean .5, unbiased std sqrt(.5) -> +-0.5/0.70711 = +-0.70711; group 1 constant -> 0
    # (merged, the mean would be .75 and every advantage non-zero)
    s = 0.5 / (math.sqrt(0.5) + 1e-6)
    torch.testing.assert_close(adv, torch.tensor([s, -s, 0.0, 0.0]))


def test_registry_plugin_and_errors():
    @register_advantage("test_sign")
    def sign_adv(rewards, group_ids, *, eps=1e-6):
        return torch.sign(rewards - 0.5)

    try:
        assert compute_advantages("test_sign", torch.tensor([1.0, 0.0]), torch.tensor([0, 0])).tolist() == [1.0, -1.0]
        with pytest.raises(ValueError, match="already registered"):
            register_advantage("test_sign")(sign_adv)
    finally:
        ADVANTAGES.pop("test_sign")
    with pytest.raises(KeyError, match="unknown advantage estimator 'nope'.*grpo"):
        compute_advantages("nope", REWARDS, IDS)
    with pytest.raises(ValueError, match="length mismatch"):
        compute_advantages("grpo", REWARDS, IDS[:3])
    with pytest.raises(TypeError, match="integer"):
        compute_advantages("grpo", REWARDS, IDS.float())
