"""`uec-vlm report RUN`: PNG training curves from RUN/metrics.jsonl into RUN/plots/."""

from __future__ import annotations

import argparse
import sys

HELP = "draw PNG training curves (reward, entropy, bucket pass rates, length, validation) from a run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory holding metrics.jsonl")
    parser.add_argument("--out", default=None, help="where to write the PNG files (default: RUN/plots/)")


def run(args: argparse.Namespace) -> int:
    from uec_vlm.report import plot_run
    from uec_vlm.trainer.run_dir import MetricsFileError

    try:
        paths, notes = plot_run(args.run, args.out)
    except MetricsFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in paths:
        print(path)
    return 0
