"""Scale-out on real torch.distributed (gloo, CPU): 1, 2 and 3 processes and a 2-node localhost launch.

All launches run once per module (they dominate the time): the same 12-step configs on the same 6 global
prompts per step, with a reward giving mixed outcomes (`dist_rewards.parity`):
    uec  : exploration, retention, batch buffer (n0 = 6), replay every 3 steps, KL, cosine LR + warm-up;
    dapo : dynamic sampling (<= 2 extra rounds), overlong shaping, replay without a buffer (one on-policy pass);
    aer  : AER entropy control with UEC replay every 2 steps, 3 optimizer steps per update, linear LR.
Every rank logs its decisions (RUN/decisions/rank<r>.jsonl); they must equal each other and the 1-process
run's exactly. Final weights must equal the 1-process run's up to float32 reduction-order noise (see TOL).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

# Five launches (about 90 s of CPU in all; minutes of wall time on a loaded 2-core machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
WORKER = HERE / "dist_loop_worker.py"
STEPS = 12
# Ranks sum gradients in a different order than one process accumulates them (gloo all-reduce, other
# micro-batch widths): ~1e-7 relative noise. Adam divides by sqrt(v) + eps, which turns noise on parameters
# with near-zero gradients into steps of up to ~lr; optim.eps=1e-6 (instead of 1e-8) keeps those steps at
# noise level (measured max 1.3e-6; with eps 1e-8 up to 6e-5). Training moves weights by ~1e-2 (asserted).
TOL = 1e-5


def base(model_dir) -> list[str]:
    return [f"model.path={model_dir}", f"trainer.steps={STEPS}", "rollout.n=3", "rollout.max_new_tokens=6",
            "rollout.prompts_per_batch=1", "data.train=synthgeo:train?n=96&seed=0", "data.val=",
            "trainer.tensorboard=false", "trainer.console=false", "optim.lr=1e-3", "optim.eps=1e-6", "prompt.template=direct",
            "reward.name=dist_rewards:parity", "reward.weights={accuracy: 1.0}", "trainer.micro_batch_size=2",
            "trainer.dist_timeout_s=60"]


def configs(model_dir) -> dict[str, list[str]]:
    b = base(model_dir)
    side_replay = ["uec.enabled=true", "uec.explore=false", "uec.retention=false", "uec.batch_buffer=false",
                   "uec.n0=6", "uec.replay.enabled=true", "uec.replay.freq=2"]
    return {
        "uec": ["uec", *b, "uec.explore_n=3", "uec.n0=6", "uec.replay.freq=3", "optim.schedule=cosine",
                "optim.warmup_steps=2", "trainer.save_every=4"],
        "dapo": ["dapo", *b, "algo.max_resample_rounds=2", "algo.overlong.buffer=3", *side_replay,
                 "trainer.mini_batch_size=0"],
        "aer": ["aer", *b, "algo.kl_coef=0", *side_replay, "optim.schedule=linear"],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1",
                PYTHONPATH=f"{ROOT}{os.pathsep}{HERE}", **extra)


def _worker(nproc: int, root: Path, cfgs: dict) -> None:
    specs = [f"{name}={'|'.join(args)}" for name, args in cfgs.items()]
    launch = [] if nproc == 1 else ["-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                                    f"--master_port={_free_port()}"]
    proc = subprocess.run([sys.executable, *launch, str(WORKER), str(root), *specs], env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _two_nodes(args: list[str], logs: Path, **env) -> tuple[list[int], float]:
    """`torchrun --nnodes=2 --node_rank=i` twice on localhost (1 process each) -> (exit codes, seconds)."""
    port = _free_port()
    t0 = time.monotonic()
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={node}",
               "--nproc_per_node=1", "--master_addr=127.0.0.1", f"--master_port={port}",
               "-m", "uec_vlm.cli", "train", *args]
        procs.append(subprocess.Popen(cmd, env=_env(**env), stdout=open(logs / f"node{node}.log", "w"),
                                      stderr=subprocess.STDOUT))
    codes = [p.wait(timeout=300) for p in procs]
    return codes, time.monotonic() - t0


def _bad_uid() -> str:
    """The record that rank 1 (second half of the 6 global prompts) draws at step 5."""
    from data_zoo.registry import load_dataset
    from uec_vlm.trainer.prompt_stream import PromptStream

    stream = PromptStream(load_dataset("synthgeo:train?n=96&seed=0"), seed=0)
    stream.next(4 * 6)
    return stream.next(6)[3].uid


@pytest.fixture(scope="module")
def runs(tiny_qwen2_5_vl_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("scale_out")
    cfgs = configs(tiny_qwen2_5_vl_dir)
    for nproc in (1, 2, 3):
        _worker(nproc, root / f"p{nproc}", cfgs)
    # 2 nodes x 1 process: rank 1 meets a bad record at step 5 (after the step-4 checkpoint), then the same
    # command with a sound reward resumes.
    node_args = cfgs["uec"] + ["trainer.prompts_per_step=3", "trainer.mini_batch_size=3",
                               f"trainer.output_dir={root / 'nodes' / 'uec'}"]
    (root / "fault").mkdir()
    (root / "resume").mkdir()
    bad = _bad_uid()
    fault = _two_nodes(node_args + ["reward.name=dist_rewards:bad_record"], root / "fault", UEC_TEST_BAD_UID=bad)
    resume = _two_nodes(node_args + ["trainer.allow_config_change=true"], root / "resume")  # reward.name changed
    return {"root": root, "fault": fault, "resume": resume, "bad": bad}


def _decisions(run: Path, rank: int) -> list[dict]:
    return [json.loads(line) for line in (run / "decisions" / f"rank{rank}.jsonl").read_text().splitlines()]


def _weights(run: Path) -> dict:
    return load_file(str(run / "checkpoints" / f"step_{STEPS}" / "model.safetensors"))


@pytest.mark.parametrize("algo", ["uec", "dapo", "aer"])
def test_every_rank_takes_the_one_process_decisions_and_reaches_its_weights(runs, algo, tiny_qwen2_5_vl_dir):
    root = runs["root"]
    one = _decisions(root / "p1" / algo, 0)
    assert [r["step"] for r in one] == list(range(1, STEPS + 1))
    for world in (2, 3):
        for rank in range(world):
            assert _decisions(root / f"p{world}" / algo, rank) == one, f"{algo}: {world} processes, rank {rank}"
    ref = _weights(root / "p1" / algo)
    start = load_file(str(Path(tiny_qwen2_5_vl_dir) / "model.safetensors"))
    assert max(float((ref[k] - start[k]).abs().max()) for k in ref) > 100 * TOL  # training moved the weights
    for world in (2, 3):
        other = _weights(root / f"p{world}" / algo)
        for k in ref:
            torch.testing.assert_close(other[k], ref[k], rtol=0, atol=TOL, msg=f"{algo} {world} procs: {k}")
    # The runs exercise what they claim to: mixed outcomes, every phase, replay (for AER: with pass rates).
    assert any(r["updated"] for r in one) and any(r.get("replayed", 0) > 0 for r in one)
    if algo == "uec":
        assert any(r.get("hard") for r in one) and any(r["popped"] == 12 for r in one)
        assert any(not r["updated"] for r in one)  # the buffer held back at least one step
    if algo == "dapo":
        assert all(len(r["kept_groups"]) == 6 for r in one)


def test_replay_fires_every_freq_rollout_steps(runs):
    """uec.replay.freq=3, trigger=steps: replay on steps 3, 6, 9, 12 whenever the buffer holds n0 = 6."""
    rows = _decisions(runs["root"] / "p1" / "uec", 0)
    replayed = [r["step"] for r in rows if r["replayed"] > 0]
    assert replayed == [r["step"] for r in rows if r["step"] % 3 == 0 and r["replay_size"] >= 6]
    assert replayed == [3, 6, 9, 12]
    assert [r["replayed"] for r in rows if r["replayed"] > 0] == [6.0, 6.0, 12.0, 12.0]  # subsets, then full


def test_lr_schedule_reaches_its_end_at_the_last_update(runs):
    """Cosine (warm-up 2 optimizer steps) and linear, sized by progress: after the update of step s the LR
    is lr * decay(s / 12); a step without an update keeps the LR; the last update leaves it at 0."""
    rows = _decisions(runs["root"] / "p1" / "uec", 0)
    last = None
    for r in rows:
        if r["updated"]:
            last = r["step"]
        assert r["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * last / STEPS)), abs=1e-12), r["step"]
    assert rows[-1]["updated"] and rows[-1]["lr"] == pytest.approx(0.0, abs=1e-15)
    for r in _decisions(runs["root"] / "p1" / "aer", 0):
        assert r["updated"] and r["optimizer_steps"] == 3.0
        assert r["lr"] == pytest.approx(1e-3 * (1 - r["step"] / STEPS), abs=1e-12)


def test_a_failing_rank_stops_every_node_with_its_message_and_resume_continues(runs):
    root = runs["root"]
    codes, seconds = runs["fault"]
    assert all(c != 0 for c in codes) and seconds < 120, (codes, seconds)
    cause = f"RankFailure: rank 1 failed: ValueError: bad record {runs['bad']}: grader cannot parse its answer"
    for node in (0, 1):
        assert cause in (root / "fault" / f"node{node}.log").read_text(), f"node {node}"
    codes, _ = runs["resume"]
    assert codes == [0, 0], (root / "resume" / "node0.log").read_text()[-3000:]
    for node in (0, 1):
        assert "(step 4)" in (root / "resume" / f"node{node}.log").read_text()
    # 2 nodes x 1 process (crashed at step 5, resumed from step 4) == 1 node x 2 processes, straight through.
    straight = root / "p2" / "uec"
    for rank in (0, 1):
        assert _decisions(root / "nodes" / "uec", rank) == _decisions(straight, 0)
    a, b = _weights(root / "nodes" / "uec"), _weights(straight)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=TOL, msg=k)
