"""Two CPU processes (gloo) make the same update as one process on the same global batch (after generating
prompts of uneven count and length per rank, which under FSDP2 needs `gathered_for_generation`), through the
prefix-shared training forward (each distinct prompt prefilled once) with activation checkpointing off and
on; a rank failing inside a collective phase makes its peer exit with the culprit's message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
    # Which path ran in the update (micro-batches of 3, group-major). One process, 8 samples of 4 prompts
    # (lengths 3-6): [2 prompts], [2 prompts], [1 prompt x 2 rows], each a prompt pass + completion pass =
    # 6 policy calls, 5 images. Rank 0 of 2 gets the token-balanced share {0, 1, 2, 3} (prompts 0 and 1):
    # [2 prompts x 3 rows] (2 calls), [1 row] (1 full forward).
    assert single["calls"] == {"train": 6, "policy": 6, "encoded": [2, 2, 1]}
    # DDP wraps the training forward: its hooks fire once per micro-batch. FSDP2's root is the policy itself,
    # and under FSDP2 every micro-batch takes the shared path (2 calls, the same on every rank), the 1-row too.
    expected = {"train": 2, "policy": 3} if strategy == "ddp" else {"train": 4, "policy": 4}
    assert double["calls"] == {**expected, "encoded": [2, 1]}
    from uec_vlm.models.loading import load_policy

    before, _ = load_policy(tiny_qwen2_5_vl_dir)
    changed = 0
    for name, p1 in single["state"].items():
        p2 = double["state"][name]
        torch.testing.assert_close(p2, p1, rtol=0, atol=2e-6, msg=f"{name} differs between 1 and 2 processes")
        changed += int(not torch.equal(p1, before.state_dict()[name]))
    assert changed > 10  # the update really moved the weights
    assert single["metrics"]["actor/optimizer_steps"] == 1.0 == double["metrics"]["actor/optimizer_steps"]


def test_a_rank_failing_mid_collective_is_named_by_its_peer():
    """Rank 1 raises while rank 0 waits in an all-reduce: rank 0's collective breaks (peer gone) and it raises
    RankFailure with rank 1's message from the store, within the 30 s collective time-out."""
    port = str(_free_port())
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(WORKER.with_name("dist_failure_worker.py"))], text=True,
                              env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).parents[2]),
                                       RANK=str(r), WORLD_SIZE="2", LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in (0, 1)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode != 0 for p in procs] == [True, True] and time.monotonic() - t0 < 90
    cause = "rank 1 failed: MemoryError: CUDA out of memory (simulated in the backward of rank 1)"
    assert f"RankFailure: {cause}" in outs[0][1], outs[0][1][-2000:]
    assert "MemoryError: CUDA out of memory" in outs[1][1]
