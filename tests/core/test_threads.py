import os
import subprocess
import sys
from pathlib import Path

from uec_vlm.threads import AUTO_MARK, plan_threads

ROOT = Path(__file__).resolve().parents[2]


def test_default_uses_every_usable_core_with_passive_waiting():
    plan = plan_threads({}, cores=8)
    assert plan.threads == 8
    assert plan.env == {"OMP_NUM_THREADS": "8", "MKL_NUM_THREADS": "8", "OMP_WAIT_POLICY": "PASSIVE", AUTO_MARK: "1"}


def test_cores_are_divided_among_torchrun_and_sibling_processes():
    assert plan_threads({"LOCAL_WORLD_SIZE": "4"}, cores=16).threads == 4
    assert plan_threads({"LOCAL_WORLD_SIZE": "2", "UEC_VLM_SIBLINGS": "3"}, cores=16).threads == 2
    assert plan_threads({"LOCAL_WORLD_SIZE": "8"}, cores=2).threads == 1  # never 0
    assert plan_threads({"LOCAL_WORLD_SIZE": "junk"}, cores=4).threads == 4


def test_user_settings_are_kept():
    plan = plan_threads({"OMP_NUM_THREADS": "3", "OMP_WAIT_POLICY": "ACTIVE"}, cores=8)
    assert plan.threads == 3
    assert plan.env == {"MKL_NUM_THREADS": "3"}
    assert "OMP_NUM_THREADS=3" in plan.reason


def test_a_value_the_policy_set_in_a_parent_is_recomputed_for_siblings():
    parent = dict(plan_threads({}, cores=8).env)
    child = plan_threads({**parent, "UEC_VLM_SIBLINGS": "4"}, cores=8)
    assert child.threads == 2
    assert child.env == {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", AUTO_MARK: "1"}


def test_cli_entry_applies_the_policy_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    code = ("import os, sys; from uec_vlm.cli import main; main(['config', '--presets']);"
            "import torch; print(torch.get_num_threads(), len(os.sched_getaffinity(0)), os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    threads, cores, policy = out.stdout.split()[-3:]
    assert (threads, policy) == (cores, "PASSIVE")
