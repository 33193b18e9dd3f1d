"""Multi-seed studies: a grid of methods x seeds on one dataset, each an ordinary resumable training run,
aggregated into a report with across-seed intervals and paired significance tests (`uec-vlm study`).

Like `uec_vlm.commands`, this package is a composition root: it drives the trainer and the evaluation
harness together, so it (unlike the rest of `uec_vlm`) imports `evals`.

    spec.load_study(path, overrides) -> StudySpec        runner.run_study(spec) -> list[RunPlan]
    collect.report_study(spec) -> [paths]                aggregate.build_study(results, baseline) -> dict
"""
