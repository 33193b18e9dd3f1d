"""The whole training loop under FSDP2 (gloo, CPU): 2 sharded processes against 1 process, and resume.

One config (test_scale_out's `uec`: exploration, retention, batch buffer, replay, KL to a reference model,
constant LR; 2 optimizer steps per update) run for 6 steps:
    p1      1 process, straight;
    full    2 processes, trainer.distributed=fsdp2, straight;
    half    2 processes, fsdp2, 3 steps, then resumed to 6 (AdamW moments gathered into and restored from
            the checkpoint's optimizer.pt);
    cross   1 process resumed from `half`'s step-3 checkpoint (a sharded run's checkpoint read unsharded).
Every run must take the 1-process decisions and reach its weights up to float32 reduction-order noise.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

_spec = importlib.util.spec_from_file_location("scale_out", Path(__file__).with_name("test_scale_out.py"))
scale_out = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale_out)

STEPS = 6


def _cfg(model_dir, *extra: str) -> list[str]:
    args = scale_out.configs(model_dir)["uec"]
    # A constant LR: a schedule follows progress over trainer.steps, which the 3-step leg of `half` changes.
    drop = ("trainer.steps=", "trainer.save_every=", "optim.schedule=", "optim.warmup_steps=")
    return [a for a in args if not a.startswith(drop)] + ["trainer.save_every=3", "optim.schedule=constant", *extra]


@pytest.fixture(scope="module")
def runs(tiny_qwen2_5_vl_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp2")
    cfg = _cfg(tiny_qwen2_5_vl_dir)
    scale_out._worker(1, root / "one", {"p1": [*cfg, f"trainer.steps={STEPS}"]})
    sharded = [*cfg, "trainer.distributed=fsdp2"]
    scale_out._worker(2, root / "two", {"full": [*sharded, f"trainer.steps={STEPS}"],
                                        "half": [*sharded, "trainer.steps=3"]})
    shutil.copytree(root / "two" / "half", root / "one" / "cross")  # before `half` goes on: its step-3 state
    scale_out._worker(2, root / "two", {"half": [*sharded, f"trainer.steps={STEPS}"]})
    # trainer.prompts_per_step / mini_batch_size are per rank (3 -> 6 for the same global batch): a resume
    # under another world size needs allow_config_change; trainer.distributed (fsdp2 -> auto) is resume-neutral
    scale_out._worker(1, root / "one", {"cross": [*cfg, f"trainer.steps={STEPS}",
                                                  "trainer.allow_config_change=true"]})
    return root


def _weights(run: Path) -> dict:
    return load_file(str(run / "checkpoints" / f"step_{STEPS}" / "model.safetensors"))


def test_fsdp2_runs_equal_the_one_process_run(runs, tiny_qwen2_5_vl_dir):
    one = scale_out._decisions(runs / "one" / "p1", 0)
    assert [r["step"] for r in one] == list(range(1, STEPS + 1)) and any(r["updated"] for r in one)
    for rank in (0, 1):
        assert scale_out._decisions(runs / "two" / "full", rank) == one, rank
    ref = _weights(runs / "one" / "p1")
    start = load_file(str(Path(tiny_qwen2_5_vl_dir) / "model.safetensors"))
    assert max(float((ref[k] - start[k]).abs().max()) for k in ref) > 100 * scale_out.TOL
    for run in ("two/full", "two/half", "one/cross"):
        other = _weights(runs / run)
        for k in ref:
            torch.testing.assert_close(other[k], ref[k], rtol=0, atol=scale_out.TOL, msg=f"{run}: {k}")


def test_fsdp2_checkpoint_holds_every_adamw_moment(runs):
    ckpt = runs / "two" / "half" / "checkpoints" / "step_3"
    state = torch.load(ckpt / "optimizer.pt", weights_only=False)
    weights = load_file(str(ckpt / "model.safetensors"))
    assert sorted(state["state"]) == list(range(sum(len(g["params"]) for g in state["param_groups"])))
    moments = [s["exp_avg_sq"] for s in state["state"].values()]
    # one full (unsharded) moment per trained weight tensor
    assert sorted(m.numel() for m in moments) == sorted(w.numel() for w in weights.values())
    assert all(s["step"] == 4 for s in state["state"].values())  # 2 updates x 2 optimizer steps by step 3
    assert all(float(m.sum()) > 0 for m in moments)  # real second moments, not a fresh optimizer
