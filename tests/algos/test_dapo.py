import pytest
import torch

from uec_vlm.algos import informative_groups, overlong_penalty, scale_binary_rewards


def test_overlong_penalty():
    # L_max 20, buffer 4: free up to 16, then -(L - 16) / 4
    out = overlong_penalty(torch.tensor([10, 16, 17, 18, 20, 22]), max_len=20, buffer=4, factor=1.0)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, -0.25, -0.5, -1.0, -1.5]))
    assert overlong_penalty(torch.tensor([18]), 20, 4, factor=0.5).item() == -0.25
    with pytest.raises(ValueError, match="buffer=0"):
        overlong_penalty(torch.tensor([1]), 20, 0)


def test_informative_groups_and_reward_scale():
    rewards = scale_binary_rewards(torch.tensor([1, 0, 1, 1, 0, 0, 1]), "pm1")
    assert rewards.tolist() == [1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0]
    # group 5 mixed -> kept; 2 all correct, 9 all wrong, 4 a single sample -> dropped
    keep = informative_groups(rewards, torch.tensor([5, 5, 2, 2, 9, 9, 4]))
    assert keep.tolist() == [True, True, False, False, False, False, False]
    with pytest.raises(ValueError, match="unknown reward_scale"):
        scale_binary_rewards(torch.tensor([1]), "01x")
