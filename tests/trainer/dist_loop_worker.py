"""Run several training configs one after the other in one process group (a torchrun launch or 1 process).

Usage: [torchrun --nproc_per_node=K] python dist_loop_worker.py RUN_ROOT NAME=ARGS [NAME=ARGS ...]
ARGS is a `|`-separated list of presets and key=value overrides; the run goes to RUN_ROOT/NAME and
`trainer.prompts_per_step` and `trainer.mini_batch_size` (both per rank) are set to GLOBAL_PROMPTS /
world size unless the spec sets them, so every world size trains on the same global prompts and
global mini-batches. Weights are the final checkpoint; decisions are RUN/decisions/rank<r>.jsonl.
"""

from __future__ import annotations

import sys

GLOBAL_PROMPTS = 6


def main(root: str, specs: list[str]) -> None:
    from uec_vlm.commands.train import train
    from uec_vlm.config_loader import load_config, split_cli_args
    from uec_vlm.trainer import distributed as dist_utils

    dist_utils.init_from_env(timeout_s=120)
    world = dist_utils.world_size()
    for spec in specs:
        name, _, args = spec.partition("=")
        sources, overrides = split_cli_args(args.split("|"))
        per_rank = [f"trainer.prompts_per_step={GLOBAL_PROMPTS // world}",
                    f"trainer.mini_batch_size={GLOBAL_PROMPTS // world}"]  # the spec may override these
        cfg = load_config(sources, per_rank + overrides + [f"trainer.output_dir={root}/{name}"])
        train(cfg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
