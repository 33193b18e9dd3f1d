"""torch.distributed set-up for torchrun: process group, policy wrapping (FSDP2 or DDP), small collectives.

Single-process runs never initialise a group and every helper degrades to the identity.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    # World size 1 counts as not distributed: an in-process vLLM engine creates such a group by itself.
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def is_main() -> bool:
    return rank() == 0


def init_from_env() -> bool:
    """Initialise the default group when launched by torchrun (WORLD_SIZE > 1). gloo on CPU, nccl on GPU."""
    if is_distributed() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
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

        return DistributedDataParallel(model, find_unused_parameters=True)
    if strategy == "fsdp2":
        from torch.distributed.fsdp import fully_shard

        for module in model.modules():
            if type(module).__name__.endswith("DecoderLayer") or type(module).__name__.endswith("VisionBlock"):
                fully_shard(module)
        fully_shard(model)
        return model
    raise ValueError(f"unknown distributed strategy {strategy!r}: use auto, ddp or fsdp2")


def full_state_dict(model) -> dict | None:
    """The whole model's state dict (FSDP2 DTensors gathered); a collective: call it on every rank."""
    state = model.state_dict()
    if not any(hasattr(v, "full_tensor") for v in state.values()):
        return None
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().cpu() for k, v in state.items()}


def unwrap(model):
    return model.module if hasattr(model, "module") and not hasattr(model, "generate") else model
