"""torchrun worker: each rank draws its share of a mixture; rank 0 writes every rank's draws as JSON."""

import json
import sys

import torch.distributed as dist

from data_zoo.registry import load_dataset
from uec_vlm.trainer import distributed as dist_utils
from uec_vlm.trainer.mixture import MixtureStream

dist_utils.init_from_env()
sets = [load_dataset("synthgeo:train?n=5&seed=0"), load_dataset("synthgeo:test?n=3&seed=0")]
stream = MixtureStream(sets, [1, 2], seed=11, rank=dist_utils.rank(), world=dist_utils.world_size())
mine = [ex.uid for ex in stream.next(4) + stream.next(3)]
everyone = [None] * dist_utils.world_size()
if dist_utils.world_size() > 1:
    dist.all_gather_object(everyone, mine)
else:
    everyone = [mine]
if dist_utils.is_main():
    with open(sys.argv[1], "w") as f:
        json.dump({"draws": everyone, "state": stream.state_dict()}, f)
if dist_utils.world_size() > 1:  # leaving with live gloo threads can abort the process at exit
    dist.barrier()
    dist.destroy_process_group()
