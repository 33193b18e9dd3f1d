"""torch.distributed set-up for torchrun: process group, policy wrapping (FSDP2 or DDP), small collectives,
the split of a global batch into equal per-rank shares, and loud, bounded failure.

Single-process runs never initialise a group and every helper degrades to the identity.
See docs/training.md ("Scale-out") for what is rank-local, what is global and why nothing can deadlock.
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

FAILURE_KEY = "uec_vlm/failure"


class RankFailure(RuntimeError):
    """A rank failed; raised on every rank with the failing rank's number and message."""


def is_distributed() -> bool:
    # World size 1 counts as not distributed: an in-process vLLM engine creates such a group by itself.
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env(timeout_s: float = 1800.0) -> bool:
    """Initialise the default group when launched by torchrun (WORLD_SIZE > 1). gloo on CPU, nccl on GPU.

    `timeout_s` bounds every collective: a rank that waits longer for its peers raises (gloo) or is torn
    down by the NCCL watchdog (TORCH_NCCL_ASYNC_ERROR_HANDLING=1) instead of hanging.
    """
    if is_distributed() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    cuda = torch.cuda.is_available()
    if cuda:
        os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=timedelta(seconds=timeout_s))
    return True


def all_reduce_sum(value: float) -> float:
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item())


def all_gather_objects(obj) -> list:
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if is_distributed():
        dist.barrier()


# ---------------------------------------------------------------------- errors
def describe(exc: BaseException) -> str:
    """'Type: message (file:line)' of an exception: what the other ranks print as the cause."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


@contextmanager
def rank_local(errors: list[str]):
    """Run rank-local work (prompts, generation, rewards); an exception is recorded in `errors` instead of
    escaping, so that this rank still reaches the next `gather_checked` and every rank raises together.
    Single process: the exception propagates unchanged."""
    try:
        yield
    except Exception as e:
        if not is_distributed():
            raise
        traceback.print_exc(file=sys.stderr)
        errors.append(describe(e))


def gather_checked(payload, errors: list[str]) -> list:
    """all_gather_object of (errors, payload) -> the payloads of every rank, in rank order.

    If any rank recorded an error, EVERY rank raises RankFailure naming the failing rank(s) and message(s):
    errors in rank-local phases cost no time-out and no extra collective."""
    items = all_gather_objects((list(errors), payload))
    failed = [f"rank {r} failed: {'; '.join(e)}" for r, (e, _) in enumerate(items) if e]
    if failed:
        raise RankFailure("; ".join(failed))
    return [p for _, p in items]


def named_failure(exc: BaseException) -> BaseException:
    """What this rank raises for `exc`: the first failure of the run, by name.

    The first rank to fail writes 'rank r failed: Type: message' into the rendezvous store (set-if-absent)
    before it exits; a rank whose collective then breaks (peer gone) or times out finds that record and
    raises RankFailure naming the culprit instead of an anonymous 'Connection closed by peer'.
    """
    if not is_distributed() or isinstance(exc, RankFailure):
        return exc
    mine = f"rank {rank()} failed: {describe(exc)}"
    try:
        first = dist.distributed_c10d._get_default_store().compare_set(FAILURE_KEY, "", mine).decode()
    except Exception:  # noqa: BLE001 - the store may be gone with its host; the exception still propagates
        return exc
    if first == mine:
        return exc
    return RankFailure(f"{first} (rank {rank()} then saw: {describe(exc)})")


# ---------------------------------------------------------------------- shares of a global batch
def shard_rows(lengths: list[int], world: int) -> list[list[int]]:
    """Split rows of a global batch into `world` shares of EQUAL count (up to one row) balanced by tokens.

    lengths [N] (tokens per row) -> world lists of row indices (ascending). Deterministic: longest rows
    first, each to the share with the fewest tokens among those still below ceil(N / world) rows (ties:
    lower rank). Shares with one row less are padded by the caller (zero-weight rows), so every rank runs
    the same number of forward/backward calls.
    """
    cap = -(-len(lengths) // world) if lengths else 0
    shares: list[list[int]] = [[] for _ in range(world)]
    tokens = [0] * world
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        r = min((r for r in range(world) if len(shares[r]) < cap), key=lambda r: (tokens[r], r))
        shares[r].append(i)
        tokens[r] += lengths[i]
    return [sorted(s) for s in shares]


def block(n: int, world: int, r: int) -> range:
    """Contiguous share r of n items, sizes differing by at most one (the first n % world get one more)."""
    base, extra = divmod(n, world)
    start = r * base + min(r, extra)
    return range(start, start + base + (1 if r < extra else 0))


# ---------------------------------------------------------------------- wrapping
def wrap_policy(model, strategy: str = "auto"):
    """Shard with FSDP2 (`fully_shard` per decoder layer, then the root) or replicate with DDP.

    `auto` = FSDP2 on CUDA, DDP on CPU (both are tested on CPU with gloo; DDP is the cheaper one there).
    Returns the model to train; `unwrap(model)` gives the module to save/generate with.
    """
    if not is_distributed():
        return model
    if strategy == "auto":
        strategy = "fsdp2" if torch.cuda.is_available() else "ddp"
    if strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        from uec_vlm.logprobs import TrainingForward

        # DDP wraps the training forward (prompt pass + completion pass in one call), not the bare policy:
        # its hooks then fire once per micro-batch and the prefix-shared forward stays on.
        return DistributedDataParallel(TrainingForward(model), find_unused_parameters=True)
    if strategy == "fsdp2":
        from torch.distributed.fsdp import fully_shard

        for module in model.modules():
            if type(module).__name__.endswith("DecoderLayer") or type(module).__name__.endswith("VisionBlock"):
                fully_shard(module)
        fully_shard(model)
        return model
    raise ValueError(f"unknown distributed strategy {strategy!r}: use auto, ddp or fsdp2")


@contextmanager
def gathered_for_generation(model):
    """FSDP2: unshard every sharded module once (a collective all ranks enter together) and keep the full
    weights for the duration, so rank-local generation of any length runs no collective. DDP and single
    process: nothing to do."""
    from torch.distributed.fsdp import FSDPModule

    sharded = [m for m in model.modules() if isinstance(m, FSDPModule)] if is_distributed() else []
    for m in sharded:
        m.unshard()
        m.set_reshard_after_forward(False)
    try:
        yield
    finally:
        for m in sharded:
            m.set_reshard_after_forward(True)
            m.reshard()


def full_state_dict(model) -> dict | None:
    """The whole model's state dict (FSDP2 DTensors gathered); a collective: call it on every rank."""
    state = model.state_dict()
    if not any(hasattr(v, "full_tensor") for v in state.values()):
        return None
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().cpu() for k, v in state.items()}


def unwrap(model):
    model = model.module if hasattr(model, "module") and not hasattr(model, "generate") else model
    return getattr(model, "policy", model)  # DDP wraps logprobs.TrainingForward(policy)


class ShardedOptimizerState:
    """FSDP2: the optimizer state (AdamW moments) as ONE full state dict in the format a single process saves
    (parameters by index), gathered for saving and split back into shards on load. A checkpoint therefore
    resumes under 1 process, DDP or FSDP2 alike. Both methods are collectives: call them on every rank."""

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]  # the optimizer's param order

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def state_dict(self) -> dict:
        """The full state on rank 0 (an empty one elsewhere)."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        full = get_optimizer_state_dict(self.model, self.optimizer,
                                        options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        index = {n: i for i, n in enumerate(self.names)}
        return {"state": {index[k]: v for k, v in full.get("state", {}).items()},
                "param_groups": [dict(g, params=[index[n] for n in g["params"]]) for g in full.get("param_groups", [])]}

    def load_state_dict(self, state: dict) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        if len(self.names) != sum(len(g["params"]) for g in state["param_groups"]):
            raise ValueError(f"optimizer state holds {sum(len(g['params']) for g in state['param_groups'])} "
                             f"parameters, the model trains {len(self.names)}")
        fqn = {"state": {self.names[i]: v for i, v in state["state"].items()},
               "param_groups": [dict(g, params=[self.names[i] for i in g["params"]]) for g in state["param_groups"]]}
        set_optimizer_state_dict(self.model, self.optimizer, optim_state_dict=fqn,
                                 options=StateDictOptions(full_state_dict=True))
