"""Two CPU processes (gloo) make the same update as one process on the same global batch, through the
prefix-shared training forward (each distinct prompt prefilled once), with activation checkpointing off and on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("dist_update_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(nproc: int, model_dir, out: Path, strategy: str, checkpointing: bool) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]))
    if nproc == 1:
        cmd = [sys.executable, str(WORKER), str(model_dir), str(out), strategy]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={_free_port()}",
               str(WORKER), str(model_dir), str(out), strategy]
    cmd.append("1" if checkpointing else "0")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return torch.load(out, weights_only=False)


@pytest.mark.parametrize("strategy,checkpointing", [("ddp", False), ("fsdp2", False), ("ddp", True), ("fsdp2", True)])
def test_two_process_update_equals_one_process(tiny_qwen2_5_vl_dir, tmp_path, strategy, checkpointing):
    single = _run(1, tiny_qwen2_5_vl_dir, tmp_path / "one.pt", strategy, checkpointing)
    double = _run(2, tiny_qwen2_5_vl_dir, tmp_path / "two.pt", strategy, checkpointing)
    # Which path ran (micro-batches of 3, group-major). One process, 8 samples of 4 prompts: [2 prompts],
    # [2 prompts], [1 prompt x 2 rows], each a prompt pass + completion pass = 6 policy calls, 5 images.
    # Each of 2 ranks, 4 samples of 2 prompts: [2 prompts x 3 rows] (2 calls), [1 row] (1 full forward).
    assert single["calls"] == {"train": 6, "policy": 6, "encoded": [2, 2, 1]}
    # DDP wraps the training forward: its hooks fire once per micro-batch. FSDP2's root is the policy itself.
    train_calls = 2 if strategy == "ddp" else 3
    assert double["calls"] == {"train": train_calls, "policy": 3, "encoded": [2, 1]}
    from uec_vlm.models.loading import load_policy

    before, _ = load_policy(tiny_qwen2_5_vl_dir)
    changed = 0
    for name, p1 in single["state"].items():
        p2 = double["state"][name]
        torch.testing.assert_close(p2, p1, rtol=0, atol=2e-6, msg=f"{name} differs between 1 and 2 processes")
        changed += int(not torch.equal(p1, before.state_dict()[name]))
    assert changed > 10  # the update really moved the weights
    assert single["metrics"]["actor/optimizer_steps"] == 1.0 == double["metrics"]["actor/optimizer_steps"]
