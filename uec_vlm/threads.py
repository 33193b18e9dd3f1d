"""CPU thread policy: fast on idle and busy machines alike, applied once per process before torch starts.

Torch's default is one OpenMP thread per core, with threads that spin while they wait (libgomp's ACTIVE
wait policy). On a machine where other processes also want the cores, a spinning thread that lost its
core stalls every parallel region until the scheduler gives it back: a 40-problem eval took 48-59 s
instead of 4-5 s at load 5-9 on 2 cores (docs/benchmarks.md, "Busy machine"). Passive waiting removes
that collapse, and dividing the cores among the processes of one torchrun job avoids oversubscribing them.

Policy (`plan_threads`): a variable the user set is kept as it is; otherwise
- `OMP_NUM_THREADS` = MKL_NUM_THREADS = the cores this process may run on (`os.sched_getaffinity`)
  divided by the processes of this job on this node (`LOCAL_WORLD_SIZE`, set by torchrun), at least 1;
- `OMP_WAIT_POLICY=PASSIVE`.
torchrun itself exports `OMP_NUM_THREADS=1` when it starts several processes, which is then respected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

AUTO_MARK = "UEC_VLM_THREADS_AUTO"


@dataclass(frozen=True)
class ThreadPlan:
    threads: int
    env: dict[str, str]  # the variables to set (only those the user did not set)
    reason: str


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; cgroup/taskset aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def plan_threads(env: Mapping[str, str], cores: int) -> ThreadPlan:
    """The thread settings for a process with environment `env` on `cores` usable cores (pure).

    Processes sharing the node: torchrun's `LOCAL_WORLD_SIZE` times `UEC_VLM_SIBLINGS` (set by commands
    that start several worker processes themselves, e.g. `study` with workers > 1). A value this policy set
    in a parent (marked by `UEC_VLM_THREADS_AUTO=1`) is recomputed; one the user set is kept.
    """
    procs = 1
    for key in ("LOCAL_WORLD_SIZE", "UEC_VLM_SIBLINGS"):
        value = env.get(key, "1")
        procs *= int(value) if value.isdigit() and int(value) > 0 else 1
    auto = env.get(AUTO_MARK) == "1"
    user = env.get("OMP_NUM_THREADS", "").strip()
    if user.isdigit() and int(user) > 0 and not auto:
        threads, reason = int(user), f"OMP_NUM_THREADS={user} (set by you or torchrun)"
    else:
        threads = max(1, cores // procs)
        reason = f"{cores} usable core(s) / {procs} process(es) on this node"
    wanted = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    chosen = {k: v for k, v in wanted.items() if not env.get(k) or (auto and k != "OMP_WAIT_POLICY")}
    if "OMP_NUM_THREADS" in chosen:
        chosen[AUTO_MARK] = "1"
    return ThreadPlan(threads, chosen, reason)


def apply_thread_policy() -> ThreadPlan:
    """Set the policy's environment variables (children inherit them), and torch's pool if already loaded.

    Call it before torch is imported: the OpenMP wait policy is read once, when torch loads.
    """
    plan = plan_threads(os.environ, available_cores())
    os.environ.update(plan.env)
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != plan.threads:
        torch.set_num_threads(plan.threads)
    return plan
