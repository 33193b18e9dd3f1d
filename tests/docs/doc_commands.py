"""How CI checks every command shown in README.md and docs/*.md (tests/docs/test_doc_commands.py).

Adding a command to the docs? Add its line here, exactly as `python tests/docs/doc_extract.py` prints it:

    run("...")        runs it in a scratch workspace (tiny model, small eval runs, a metrics file, the
                      README adapter and its data; see the test's `workspace`), as written or in the
                      given tiny/fast form; it must exit 0
    config()          a train / sft / eval command whose data or model CI does not have: its config sources
                      and overrides are resolved with `uec-vlm config` (catches renamed keys, missing files)
    study_list()      a study command: resolved with `--list` (prints the plan, trains nothing)
    usage()           a synopsis with placeholders: its --options must exist in the command's --help
    not_in_ci("why")  cannot run in CI (GPU, hub download, minutes of compute, installs): say why

Every uec-vlm command's --options are also checked against its --help, whatever its mode.
"""

from __future__ import annotations

from typing import NamedTuple


class Check(NamedTuple):
    mode: str
    detail: str = ""


def run(form: str = "") -> Check:
    return Check("run", form)


def config() -> Check:
    return Check("config")


def study_list() -> Check:
    return Check("study_list")


def usage() -> Check:
    return Check("usage")


def not_in_ci(reason: str) -> Check:
    return Check("not_in_ci", reason)


TINY_DEMO = ("uec-vlm demo --out demo_run sft.steps=2 trainer.steps=2 trainer.val_every=0 uec.n0=8 "
             "data.train=synthgeo:train?n=32&seed=0&difficulty=0 "
             "data.val=synthgeo:validation?n=3&seed=0&difficulty=0 eval.suite=[synthgeo:test?n=3&seed=0&difficulty=0]")

COMMANDS: dict[str, Check] = {
    # --- README.md
    "make demo": run(TINY_DEMO),  # = uec-vlm demo after set-up
    "make test": not_in_ci("is CI itself (.ci/run)"),
    "uec-vlm data validate shapes:test@DIR --adapter-module my_adapters": run(),
    "uec-vlm data show shapes:test@DIR --adapter-module my_adapters --n 2": run(),
    "uec-vlm train uec configs/models/qwen2_5_vl_3b.yaml configs/data/geometry3k.yaml": config(),
    "torchrun --nproc_per_node=8 -m uec_vlm.cli train ...": not_in_ci("8 GPUs; the full form is in docs/training.md"),
    "uec-vlm sft CONFIG sft.steps=500": config(),
    "uec-vlm eval CONFIG model.path=runs/x/checkpoints/step_100 eval.n=8 eval.ks=[1,4,8]": config(),
    "uec-vlm eval score mathvista:testmini@DIR responses.jsonl --out DIR": not_in_ci(
        "needs the MathVista download; `eval score` runs in tests/evals/test_report_and_cli.py"),
    "uec-vlm eval compare RUN_A RUN_B": run(),
    "uec-vlm eval view RUN": run(),
    "make study": not_in_ci("the full study trains 18 runs (tens of minutes); `study --list` forms run below"),
    "uec-vlm study synthgeo": study_list(),
    "uec-vlm data list": run(),
    "uec-vlm data show geometry3k:test@DIR --n 3": not_in_ci("needs the Geometry3K download; `data show` runs above"),
    "uec-vlm data validate SPEC": usage(),
    "uec-vlm report runs/x": run(),
    "uec-vlm config --fields": run(),
    "uec-vlm config --presets": run(),
    "uec-vlm make-tiny-model --arch qwen2_5_vl OUT": run(),
    "make bench": not_in_ci("minutes of timing runs against TRL; results in docs/benchmarks.md"),
    "python bench/busy_machine.py": not_in_ci("minutes of timing runs under load; results in docs/benchmarks.md"),
    "uec-vlm data": usage(),
    # --- docs/benchmarks.md, data_zoo.md, demo.md
    "python bench/run_all.py": not_in_ci("= make bench"),
    "huggingface-cli download": not_in_ci("hub download"),
    "uec-vlm data export": usage(),
    "uec-vlm demo": run(TINY_DEMO),
    "uec-vlm eval view runs/demo/eval_after": run("uec-vlm eval view demo_run/eval_after"),
    "uec-vlm demo --publish docs/demo": run(TINY_DEMO + " --publish published"),
    # --- docs/evaluation.md
    "uec-vlm eval CONFIG [key=value ...]": usage(),
    "uec-vlm eval compare RUN_A RUN_B [--k 1,4] [--out cmp.json]": run("uec-vlm eval compare RUN_A RUN_B --k 1,2 --out cmp.json"),
    "uec-vlm eval view RUN [--out page.html]": run("uec-vlm eval view RUN --out page.html"),
    "uec-vlm eval CONFIG": usage(),
    "uec-vlm eval score": usage(),
    "uec-vlm eval": usage(),
    "torchrun --nproc_per_node=N -m uec_vlm.cli eval CONFIG": not_in_ci(
        "several processes; sharded eval runs with gloo in tests/evals_harness"),
    "uec-vlm eval score SPEC RESPONSES.jsonl --out DIR": usage(),
    "uec-vlm eval view": usage(),
    "uec-vlm eval compare RUN_A RUN_B --k 1,4": run("uec-vlm eval compare RUN_A RUN_B --k 1,2"),
    # --- docs/models.md, rewards.md, runs.md
    "huggingface-cli download ID --local-dir DIR": not_in_ci("hub download"),
    "python -m uec_vlm.rewards.worker": not_in_ci("a worker the grading pool drives over stdin (tests/rewards)"),
    "uec-vlm report RUN": run("uec-vlm report runs/x"),
    "pip install wandb": not_in_ci("installs a package"),
    # --- docs/studies.md
    "uec-vlm study my_study.yaml seeds=[0,1,2,3]": study_list(),
    "uec-vlm study my_study.yaml common.trainer.steps=200 output_dir=runs/study/longer": study_list(),
    "uec-vlm study my_study.yaml --list": study_list(),
    "uec-vlm study my_study.yaml --run uec/seed1": not_in_ci("trains a run; tests/study/test_study_e2e.py runs one"),
    "uec-vlm study my_study.yaml --report-only": not_in_ci("needs finished runs; tests/study covers the report"),
    "uec-vlm study CONFIG": usage(),
    "uec-vlm study": usage(),
    "uec-vlm sft": usage(),
    "uec-vlm study CONFIG --run METHOD/seedK --no-report": usage(),
    "uec-vlm study synthgeo report_dir=docs/study": study_list(),
    "uec-vlm study synthgeo seeds=[0] output_dir=/tmp/probe --run grpo/seed0": study_list(),
    "uec-vlm study synthgeo common.trainer.steps=40": study_list(),
    # --- docs/training.md
    "uec-vlm sft demo model.path=runs/demo/tiny_model trainer.output_dir=runs/my_sft sft.steps=40": run(
        "uec-vlm sft demo model.path=OUT trainer.output_dir=runs/my_sft sft.steps=2 data.train=synthgeo:train?n=16"),
    "torchrun --nproc_per_node=8 -m uec_vlm.cli train grpo configs/models/qwen2_5_vl_7b.yaml "
    "configs/data/geometry3k.yaml trainer.output_dir=runs/geo3k_grpo_7b trainer.steps=120": config(),
    "torchrun --nproc_per_node=8 -m uec_vlm.cli train uec configs/models/qwen2_5_vl_7b.yaml "
    "configs/data/geometry3k.yaml trainer.output_dir=runs/geo3k_uec_7b trainer.steps=120": config(),
    "uec-vlm eval configs/models/qwen2_5_vl_7b.yaml model.path=runs/geo3k_uec_7b/checkpoints/step_120 "
    "eval.suite=[geometry3k:test@/data/geometry3k] eval.n=8 eval.ks=[1,4,8]": config(),
    "uec-vlm sft CONFIG [key=value ...]": usage(),
    # --- added by other issues (data mixtures, contamination, parity, multi-node)
    "uec-vlm data overlap --train SPEC... --eval SPEC...": usage(),
    "uec-vlm data overlap --train A B --eval C D E": usage(),
    "uec-vlm train uec configs/models/qwen2_5_vl_3b.yaml configs/data/geo3k_geoqa_mix.yaml "
    "'data.train=[geometry3k:train@/data/geometry3k, geoqa_r1v:train@/data/geoqa_r1v]' 'data.train_weights=[1, 2]'":
        config(),
    "python bench/overlap_precision.py": not_in_ci("a measurement script; its results are in docs/data_zoo.md"),
    "uec-vlm eval score SPEC RESPONSES.jsonl --out DIR [--mode official|strict|boxed] [--k 1,4] [--extracted] "
    "[--timeout 5]": usage(),
    "uec-vlm eval score mathvision:test@../shared/real-samples/mathvision "
    "../shared/real-samples/official-outputs/mathvision/Gemini-Pro-CoT.jsonl --out /tmp/mv_gemini": not_in_ci(
        "needs the real upstream samples in ../shared, absent in CI (their tests skip without them)"),
    "python -m evals.parity --shared ../shared --write docs/evaluation.md": not_in_ci(
        "needs the real upstream outputs in ../shared, absent in CI"),
    "torchrun --nproc_per_node=N [--nnodes=M --node_rank=i --master_addr=...] -m uec_vlm.cli train uec ...": not_in_ci(
        "several processes and nodes; multi-process training runs with gloo in tests/trainer"),
    # --- the family study, vLLM (docs/study_family.md, docs/vllm*.md, docs/benchmarks.md)
    "uec-vlm study family --profile 32": study_list(),
    "uec-vlm study family": study_list(),
    "uec-vlm study family seeds=[0,1] common.trainer.rollout_token_budget=60000": study_list(),
    "uec-vlm train clipped_grpo.yaml model.path=...": usage(),
    "pip install 'uec-vlm[vllm]'": not_in_ci("installs a package"),
    "pip install -e '.[vllm]'": not_in_ci("installs a package"),
    "pip check": not_in_ci("checks the installed environment, not the project"),
    "make setup": not_in_ci("part of `make test`, which is CI itself"),
    "make setup-vllm": not_in_ci(".ci/run runs it before the tests (installs vLLM's CPU build)"),
    "python bench/gpu_vllm_grpo_uec.py": not_in_ci("needs a GPU"),
    "python bench/vllm_vs_hf.py": not_in_ci("needs vLLM and minutes of timing; results in docs/benchmarks.md"),
    "uec-vlm train uec configs/models/qwen2_5_vl_3b.yaml rollout.backend=vllm": config(),
    "uec-vlm eval configs/models/qwen2_5_vl_3b.yaml model.path=RUN/checkpoints/step_N rollout.backend=vllm": config(),
    "uec-vlm make-tiny-model runs/tiny128 --hidden-size 128": run(),
    "uec-vlm train uec model.path=runs/tiny128 rollout.backend=vllm trainer.steps=2 trainer.prompts_per_step=2 "
    "rollout.n=4 rollout.max_new_tokens=8 \"data.train=synthgeo:train?n=8&seed=0\" \"data.val=synthgeo:test?n=2&seed=0\" "
    "uec.explore_n=4 prompt.template=direct prompt.max_prompt_length=512 trainer.output_dir=runs/tiny_vllm": not_in_ci(
        "needs vLLM (tests/vllm runs the vLLM paths after make setup-vllm)"),
    "uec-vlm eval model.path=runs/tiny_vllm/checkpoints/step_2 rollout.backend=vllm "
    "\"eval.suite=[synthgeo:test?n=3&seed=0]\" eval.greedy=true eval.max_new_tokens=8 prompt.template=direct "
    "eval.output_dir=runs/tiny_vllm_eval": not_in_ci("needs vLLM and the run above"),
    "uec-vlm eval ... rollout.backend=vllm": usage(),
    # --- docs/hardening.md
    "uec-vlm --debug ...": usage(),
    "uec-vlm train": usage(),
    "uec-vlm config ... --check": usage(),
    "uec-vlm": usage(),
}
