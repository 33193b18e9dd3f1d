"""`uec-vlm study CONFIG`: methods x seeds on one dataset -> runs -> held-out evals -> a report with error bars."""

from __future__ import annotations

import argparse

HELP = ("Run a multi-seed study (methods x seeds, each an ordinary resumable run) and write its report: "
        "mean +- std with t-intervals, paired tests against a baseline, curves with seed bands.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="study YAML, or a name in configs/study/ (e.g. synthgeo)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the study config "
                        "(e.g. seeds=[0,1] common.trainer.steps=10 output_dir=runs/study/mine)")
    parser.add_argument("--run", default=None, metavar="METHOD/seedK", help="run only this one run")
    parser.add_argument("--report-only", action="store_true", help="aggregate the finished runs, train nothing")
    parser.add_argument("--no-report", action="store_true", help="train and evaluate, but write no report")
    parser.add_argument("--list", action="store_true", help="print the runs and whether each is finished")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="train nothing: sample N responses per held-out problem from the warm start and write "
                             "its pass-rate histogram and Pass@k-vs-k curve (REPORT_DIR/profile/)")


def run(args) -> int:
    from uec_vlm.study.spec import load_study

    spec = load_study(args.config, args.overrides)
    if args.list:
        for method in spec.methods:
            for seed in spec.seeds:
                done = (spec.run_dir(method, seed) / "eval" / "summary.json").is_file()
                print(f"{method}/seed{seed}\t{'finished' if done else 'to do'}\t{spec.run_dir(method, seed)}")
        return 0
    if args.profile:
        from uec_vlm.study.profile import profile_study

        print(f"profile: {profile_study(spec, args.profile)}")
        return 0
    if not args.report_only:
        from uec_vlm.study.runner import run_study

        run_study(spec, only=args.run, relaunch=[args.config, *args.overrides])
    if args.no_report or args.run:
        return 0
    from uec_vlm.study.collect import report_study

    paths = report_study(spec)
    print(f"study report: {paths[1]}  (json: {paths[0]}; {len(paths) - 2} plots in {spec.report_dir})")
    return 0
