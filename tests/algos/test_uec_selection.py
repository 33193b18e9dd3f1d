import math

import pytest
import torch

from uec_vlm.uec import (
    HARD,
    REGULAR,
    SOLVED,
    difficulty_buckets,
    importance_weights,
    pass_rates,
    replay_mask,
    retention_mask,
)


def test_pass_rates_and_buckets():
    pr = pass_rates(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]), torch.tensor([4, 4, 2, 2, 8, 8, 6]))
    assert pr.group_ids.tolist() == [2, 4, 6, 8]
    assert pr.rates.tolist() == [0.0, 0.5, 0.0, 1.0]
    assert pr.per_sample.tolist() == [0.5, 0.5, 0.0, 0.0, 1.0, 1.0, 0.0]
    assert difficulty_buckets(pr.rates).tolist() == [HARD, REGULAR, HARD, SOLVED]
    # a 0.9 blended reward is not "correct" at the default threshold 1.0; at 0.9 it is
    assert pass_rates(torch.tensor([0.9, 0.0]), torch.tensor([0, 0])).rates.tolist() == [0.0]
    assert pass_rates(torch.tensor([0.9, 0.0]), torch.tensor([0, 0]), threshold=0.9).rates.tolist() == [0.5]


def test_duplicate_prompt_with_distinct_ids_gets_two_pass_rates():
    # one prompt explored twice (ids 10 and 11): 0/2 and 2/2 stay separate, merged it would be 0.5 "regular"
    pr = pass_rates(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([10, 10, 11, 11]))
    assert difficulty_buckets(pr.rates).tolist() == [HARD, SOLVED]


def test_buckets_zero_hard_and_custom_thresholds():
    assert (difficulty_buckets(torch.tensor([0.5, 1.0])) == HARD).sum() == 0
    rates = torch.tensor([0.2, 0.4, 0.8])
    assert difficulty_buckets(rates, hard_max=0.25, solved_min=0.8).tolist() == [HARD, REGULAR, SOLVED]
    with pytest.raises(ValueError, match="hard_max_pass_rate"):
        difficulty_buckets(rates, hard_max=0.9, solved_min=0.8)


ADV = torch.tensor([0.04, -0.5, 1.2, 0.9, -1.5, 2.0, -0.3])
EXPLORE = torch.tensor([False, False, False, True, True, True, False])
TRUNC = torch.tensor([False, False, True, False, False, True, True])


def test_retention_rules():
    # regular: |A| > .05; released explore rule |A| > 1; truncated with A > 0 dropped (2 and 5)
    assert retention_mask(ADV, EXPLORE, TRUNC).tolist() == [False, True, False, False, True, False, True]
    # paper: exploration kept iff A > 0
    paper = retention_mask(ADV, EXPLORE, TRUNC, explore_rule="pos", explore_threshold=0.0)
    assert paper.tolist() == [False, True, False, True, False, False, True]
    keep_trunc = retention_mask(ADV, EXPLORE, TRUNC, drop_truncated_positive=False)
    assert keep_trunc.tolist() == [False, True, True, False, True, True, True]
    # empty retained set
    assert not retention_mask(torch.tensor([0.05, -0.01]), torch.tensor([False, False]), torch.zeros(2, dtype=torch.bool)).any()
    with pytest.raises(ValueError, match="uec.explore_rule"):
        retention_mask(ADV, EXPLORE, TRUNC, explore_rule="abs_gt_1x")


def test_replay_mask():
    adv = torch.tensor([1.5, -1.5, 1.0, 0.5])
    assert replay_mask(adv).tolist() == [True, True, False, False]
    assert replay_mask(adv, rule="pos").tolist() == [True, False, False, False]


def test_importance_weights():
    w = importance_weights(torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.5, -1.0]]), torch.tensor([[1, 0]]))
    torch.testing.assert_close(w, torch.tensor([[math.exp(0.5), 1.0]]))  # padding -> 1
    w = importance_weights(torch.tensor([[-1.0]]), torch.tensor([[-1.5]]), torch.tensor([[1]]), max_weight=1.5)
    assert w.item() == 1.5
