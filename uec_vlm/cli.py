"""The `uec-vlm` command: a thin front that wires subcommands; heavy imports happen inside each one.

Each subcommand lives in `uec_vlm/commands/<name>.py` with `HELP`, `add_arguments(parser)` and
`run(args) -> int`. This file is the composition root: only the commands import both trainer and evals.
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    parser.add_argument("--debug", action="store_true",
                        help=f"show Python tracebacks for errors (also {DEBUG_ENV}=1); without it an expected error "
                             "prints one line naming the key, record or file, and exits 2")
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


DEBUG_ENV = "UEC_VLM_DEBUG"


def _debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """`--debug` anywhere on the command line (or UEC_VLM_DEBUG=1) shows tracebacks; it is removed from argv."""
    env = os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return env or "--debug" in argv, [a for a in argv if a != "--debug"]


def _one_line(e: BaseException) -> str:
    """The message of an expected error on as few lines as it has problems (a lone problem on one line)."""
    text = str(e) or type(e).__name__
    head, sep, rest = text.partition("\n  - ")
    if sep and "\n  - " not in rest:
        return f"{head} {rest}"
    return text


def main(argv: list[str] | None = None) -> int:
    from uec_vlm.progress import bars_enabled
    from uec_vlm.threads import apply_thread_policy

    apply_thread_policy()  # before any command imports torch
    if not bars_enabled():  # libraries' bars too (transformers' "Loading weights"): tqdm reads TQDM_DISABLE
        os.environ.setdefault("TQDM_DISABLE", "1")
    debug, argv = _debug_requested(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value overrides after a flag (`study X --report-only seeds=[0]`) belong to `overrides`
        if not hasattr(args, "overrides") or any(e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:  # bad config, data, checkpoint or file: the message names it
        if debug:
            raise
        print(f"uec-vlm {args.command}: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if debug:
            raise
        print(f"uec-vlm {args.command}: internal error {type(e).__name__}: {_one_line(e)}\n"
              f"(rerun with --debug or {DEBUG_ENV}=1 for the traceback, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
