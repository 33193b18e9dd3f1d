"""The `uec-vlm` command: a thin front that wires subcommands; heavy imports happen inside each one.

Each subcommand lives in `uec_vlm/commands/<name>.py` with `HELP`, `add_arguments(parser)` and
`run(args) -> int`. This file is the composition root: only the commands import both trainer and evals.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "train": "train",
    "sft": "sft",
    "eval": "eval",
    "data": "data",
    "make-tiny-model": "make_tiny_model",
    "report": "report",
    "study": "study",
    "demo": "demo",
    "config": "config",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uec-vlm",
        description="GRPO with Unified Entropy Control for vision-language models: data, training, evaluation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"uec_vlm.commands.{module_name}")
        except ModuleNotFoundError as e:
            if e.name != f"uec_vlm.commands.{module_name}":
                raise
            p = sub.add_parser(name, help="(not yet implemented)")
            p.set_defaults(_run=lambda args, n=name: _not_implemented(n))
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _not_implemented(name: str) -> int:
    print(f"uec-vlm {name}: not yet implemented in this version", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    import os

    from uec_vlm.progress import bars_enabled
    from uec_vlm.threads import apply_thread_policy

    apply_thread_policy()  # before any command imports torch
    if not bars_enabled():  # libraries' bars too (transformers' "Loading weights"): tqdm reads TQDM_DISABLE
        os.environ.setdefault("TQDM_DISABLE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    from uec_vlm.config import ConfigError

    try:
        return int(args._run(args) or 0)
    except ConfigError as e:
        print(f"uec-vlm {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
