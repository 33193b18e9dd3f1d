"""Rank 1 fails inside a collective phase (its peer is already waiting in an all-reduce).

Usage: RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p python dist_failure_worker.py
Both ranks exit non-zero; rank 0 raises RankFailure naming rank 1's error (read from the store).
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def main() -> None:
    from uec_vlm.trainer import distributed as dist_utils

    dist_utils.init_from_env(timeout_s=30)
    try:
        dist.all_reduce(torch.ones(1))  # both ranks are up
        if dist_utils.rank() == 1:
            raise MemoryError("CUDA out of memory (simulated in the backward of rank 1)")
        dist.all_reduce(torch.ones(1))  # rank 0 waits here for a peer that is gone
    except Exception as e:
        failure = dist_utils.named_failure(e)
        if failure is e:
            raise
        raise failure from e


if __name__ == "__main__":
    main()
