"""Tiny end-to-end trainer configs (real tiny Qwen2.5-VL, synthgeo, real reward graders)."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_cfg(tiny_qwen2_5_vl_dir, tmp_path):
    """make_cfg(*sources_and_overrides, out=...) -> a validated Config for a seconds-long run."""
    from uec_vlm.config_loader import load_config, split_cli_args

    def build(*args, out=None):
        sources, overrides = split_cli_args(list(args))
        base = [
            f"model.path={tiny_qwen2_5_vl_dir}", f"trainer.output_dir={out or tmp_path / 'run'}",
            "trainer.steps=2", "trainer.prompts_per_step=2", "rollout.n=3", "rollout.max_new_tokens=6",
            "rollout.prompts_per_batch=2", "data.train=synthgeo:train?n=16&seed=0", "data.val=",
            "trainer.tensorboard=false", "trainer.console=false", "optim.lr=1e-3", "algo.kl_coef=0",
            "prompt.template=direct", "reward.name=accuracy", "reward.weights={accuracy: 1.0}",
            "trainer.micro_batch_size=4", "uec.explore_n=3", "uec.n0=6",
        ]
        return load_config(sources, base + overrides)

    return build
