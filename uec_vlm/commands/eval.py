"""`uec-vlm eval`: run an evaluation config, score responses produced elsewhere, or compare two runs.

    uec-vlm eval CONFIG [key=value ...]                 generate + score (evals.harness)
    uec-vlm eval score SPEC RESPONSES.jsonl --out DIR [--mode official|strict|boxed] [--k 1,4] [--extracted]
    uec-vlm eval compare RUN_A RUN_B [--k 1,4] [--out FILE.json]
    uec-vlm eval view RUN [--out FILE.html]             one self-contained HTML page to browse the samples
"""

from __future__ import annotations

import argparse
import sys

HELP = ("Evaluate: `eval CONFIG [overrides]`, `eval score SPEC RESPONSES.jsonl --out DIR`, `eval compare A B`, "
        "`eval view RUN`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="CONFIG [overrides] | score ... | compare ... | view RUN")


def _score_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="uec-vlm eval score", description="Score responses produced elsewhere.")
    p.add_argument("spec", help="dataset spec, e.g. mathvista:testmini@/data/MathVista")
    p.add_argument("responses", help="JSONL: one {id, [sample], response} object per line")
    p.add_argument("--out", required=True, help="output folder (samples.jsonl, summary.json/md, CSV, PNG)")
    p.add_argument("--mode", default="official", choices=("official", "strict", "boxed"),
                   help="official: published rules; strict: MathVista unmatched = wrong; boxed: We-Math also "
                        "reads boxed letters (not official)")
    p.add_argument("--extracted", action="store_true",
                   help="`response` holds already-extracted answers (an official pipeline's or lmms-eval's "
                        "extraction step): only normalisation and comparison apply")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per item for grading (worker processes)")
    p.add_argument("--k", default="1", help="comma-separated k values for Pass@k (each <= samples per problem)")
    p.add_argument("--judge-url", default=None, help="MathVerse only: OpenAI-compatible base URL for the LLM judge")
    p.add_argument("--judge-model", default=None, help="MathVerse only: judge model name")
    p.add_argument("--judge-key-env", default="OPENAI_API_KEY", help="environment variable holding the judge key")
    return p


def _compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="uec-vlm eval compare", description="Paired per-problem comparison of two runs.")
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--k", default="1", help="comma-separated k values")
    p.add_argument("--n-boot", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also write the comparison as JSON here")
    return p


def _view_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="uec-vlm eval view",
                                description="Write one self-contained HTML page to browse an eval run's samples.")
    p.add_argument("run", help="eval run folder (holds samples.jsonl)")
    p.add_argument("--out", default=None, help="HTML file to write (default RUN/view.html)")
    p.add_argument("--adapter-module", action="append", default=[], help="module registering a dataset adapter")
    return p


def _view(argv: list[str]) -> int:
    from evals.view import build_view

    a = _view_parser().parse_args(argv)
    path, notes = build_view(a.run, a.out, adapter_modules=a.adapter_module)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {path}  (open it in a browser; filters: benchmark, subset, outcome, disagreement, search)")
    return 0


def _score(argv: list[str]) -> int:
    import os

    from data_zoo.registry import load_dataset
    from evals.harness import benchmark_name
    from evals.report import parse_ks
    from evals.score import score_responses

    a = _score_parser().parse_args(argv)
    ks = parse_ks(a.k)

    dataset = load_dataset(a.spec, require_image_files=False)
    # The harness's name for the same spec, so that `eval compare` pairs a scored file with a harness run.
    name = benchmark_name(a.spec)
    info = {"spec": a.spec, "extracted": a.extracted}
    judge = None
    if a.judge_url or a.judge_model:
        if not (a.judge_url and a.judge_model):
            print("uec-vlm eval score: --judge-url and --judge-model go together", file=sys.stderr)
            return 2
        from evals.benchmarks.mathverse_judge import JudgeClient

        judge = JudgeClient(a.judge_url, a.judge_model, api_key=os.environ.get(a.judge_key_env))
    summary = score_responses(
        list(dataset), a.responses, a.out, name=name, mode=a.mode, ks=ks, extra_info=info, judge=judge,
        extracted=a.extracted, timeout_s=a.timeout,
    )
    b = summary["benchmarks"][name]
    cells = ", ".join(f"{m} {100 * v['value']:.2f}" for m, v in b["metrics"].items())
    print(f"{name}: {b['n_problems']} problems, {cells} ({b['scoring']}); report in {a.out}")
    return 0


def _compare(argv: list[str]) -> int:
    import json

    from evals.compare import compare_runs, format_comparison
    from evals.report import parse_ks

    a = _compare_parser().parse_args(argv)
    result = compare_runs(a.run_a, a.run_b, ks=parse_ks(a.k), n_boot=a.n_boot, seed=a.seed)
    print(format_comparison(result), end="")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    if not any(e["n_common"] for name, e in result.items() if not name.startswith("_")):
        print(f"uec-vlm eval compare: no problem is scored in both {a.run_a} and {a.run_b} "
              f"(benchmarks A: {result['_benchmarks'][0]}, B: {result['_benchmarks'][1]})", file=sys.stderr)
        return 1
    return 0


def run(args) -> int:
    argv = list(args.argv)
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[0] == "score":
            return _score(argv[1:])
        if argv[0] == "compare":
            return _compare(argv[1:])
        if argv[0] == "view":
            return _view(argv[1:])
    except (ValueError, FileNotFoundError) as e:
        print(f"uec-vlm eval {argv[0]}: {e}", file=sys.stderr)
        return 2
    from evals.harness import run_eval
    from uec_vlm.config_loader import load_config, split_cli_args
    from uec_vlm.resolve import resolve_names

    sources, overrides = split_cli_args(argv)
    run_eval(resolve_names(load_config(sources, overrides), datasets=("eval.suite",)))
    return 0
