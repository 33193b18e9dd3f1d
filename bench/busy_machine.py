"""Speed on a busy machine: the CPU demo and an eval, alone and next to competing busy processes.

    python bench/busy_machine.py            # the full demo (120 RL steps) and a 200-problem eval
    python bench/busy_machine.py --quick    # a 30-step demo and a 50-problem eval (a few minutes)

Each job runs as `uec-vlm` would on a user's machine (a fresh process, the thread policy of
`uec_vlm/threads.py`, no OMP_NUM_THREADS set), first with nothing added, then next to `--busy` processes
that spin on a core each (`python -c "while True: pass"`). The eval also runs once next to the busy
processes with torch's defaults (one spinning OpenMP thread per core: OMP_WAIT_POLICY=ACTIVE), which is
what the policy replaces. The load average before each run is recorded: on a shared machine "alone" means
"with no processes added by this script", and the report says how busy the machine already was.

Writes the "Busy machine" section of docs/benchmarks.md (between its markers; run_all.py keeps it).
Target: next to 2 busy processes, at most 3x the time alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- busy_machine:start -->", "<!-- busy_machine:end -->"
TARGET = 3.0


def replace_section(doc: str, section: str) -> str:
    """`doc` with the text between the busy-machine markers replaced by `section` (appended if absent)."""
    block = f"{START}\n{section.strip()}\n{END}"
    if START in doc and END in doc:
        return doc[: doc.index(START)] + block + doc[doc.index(END) + len(END):]
    return doc.rstrip() + "\n\n" + block + "\n"


def current_section(doc: str) -> str:
    """The busy-machine section of `doc` (with its markers), or "" (for run_all.py, which rewrites the file)."""
    if START in doc and END in doc:
        return doc[doc.index(START): doc.index(END) + len(END)]
    return ""


def jobs(quick: bool, work: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "uec_vlm.cli"]
    demo = [*cli, "demo", "--out", str(work / "demo")]
    problems = 200
    if quick:
        demo += ["trainer.steps=30", "trainer.save_every=30", "trainer.val_every=0",
                 "eval.suite=[synthgeo:test?n=50&seed=0&difficulty=0]"]
        problems = 50
    # The eval scores the demo's warm-started model (built by the first demo run).
    evaluate = [*cli, "eval", "demo", f"model.path={work / 'model'}",
                f"eval.suite=[synthgeo:test?n={problems}&seed=0&difficulty=0]", f"eval.output_dir={work / 'eval'}"]
    return {"demo": demo, "eval": evaluate}


def timed(cmd: list[str], env: dict, clean: list[Path]) -> tuple[float, tuple[float, float, float]]:
    for path in clean:
        shutil.rmtree(path, ignore_errors=True)
    load = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0, load


def start_busy(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(2.0)  # let them take their cores before the job starts
    return procs


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def render(rows: list[dict], *, quick: bool, busy: int, cpus: int, minutes: float) -> list[str]:
    """The Markdown lines of the section from the measured rows (also used with --from-log)."""
    alone = {r["job"]: r["seconds"] for r in rows if r["condition"] == "alone"}
    lines = [
        "## Busy machine", "",
        f"Written by `python bench/busy_machine.py{' --quick' if quick else ''}` ({minutes:.1f} min, "
        f"{datetime.date.today().isoformat()}); do not edit by hand. {cpus} CPUs. Jobs: "
        + ("the demo with 30 RL steps and a 50-problem held-out eval, and a 50-problem eval of its warm-started "
           "model (4 samples each)" if quick else
           "the full demo, and a 200-problem eval of its warm-started model (4 samples each)")
        + f". Busy = {busy} extra processes spinning on a core each. Thread policy: `uec_vlm/threads.py` "
        "(cores / processes, passive OpenMP waiting); \"torch defaults\" = one spinning OpenMP thread per core "
        "(OMP_WAIT_POLICY=ACTIVE), what the policy replaces.", "",
        "**The load average column is how busy the machine already was** (1-minute value before the run). This "
        "machine is shared with other jobs, so \"alone\" means \"no processes added by this script\", not idle, "
        "and repeated runs vary with the background load.", "",
        f"| job | condition | load before | seconds | slowdown vs alone | target <= {TARGET:g}x |", "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["seconds"] / alone[r["job"]]
        verdict = "" if r["condition"] == "alone" else ("met" if ratio <= TARGET else "**missed**")
        lines.append(f"| {r['job']} | {r['condition']} | {r['load'][0]:.1f} | {r['seconds']:.1f} | {ratio:.2f}x "
                     f"| {verdict} |")
    policy = next((r for r in rows if r["job"] == "eval" and r["condition"] == "busy"), None)
    defaults = next((r for r in rows if r["job"] == "eval" and r["condition"] == "busy, torch defaults"), None)
    if policy and defaults:
        lines += ["", f"Next to the busy processes the policy's eval took {policy['seconds']:.1f} s and torch's defaults "
                  f"{defaults['seconds']:.1f} s: {defaults['seconds'] / policy['seconds']:.2f}x faster with the policy. "
                  "Short jobs (the eval: tens of seconds, much of it start-up) vary most from run to run at this load."]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="30-step demo, 50-problem eval")
    ap.add_argument("--busy", type=int, default=2, help="competing busy processes")
    ap.add_argument("--no-doc", action="store_true", help="print the results, leave docs/benchmarks.md alone")
    ap.add_argument("--from-log", default=None, help="re-render the section from the JSON rows a run printed")
    a = ap.parse_args()
    if a.from_log:
        text = Path(a.from_log).read_text().splitlines()
        rows = [json.loads(line) for line in text if line.startswith("{")]
        head = next(line for line in text if line.startswith("Written by"))
        minutes = float(head.split("(")[1].split(" min")[0])
        lines = render(rows, quick="--quick" in head, busy=rows[-1]["busy"], cpus=int(head.split(" CPUs")[0].split()[-1]),
                       minutes=minutes)
        DOC.write_text(replace_section(DOC.read_text(), "\n".join(lines)))
        return 0
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "UEC_VLM_THREADS_AUTO")}
    base_env.update(PYTHONPATH=f"{ROOT}{os.pathsep}{base_env.get('PYTHONPATH', '')}", HF_HUB_OFFLINE="1")
    cpus = len(os.sched_getaffinity(0))
    torch_defaults = dict(base_env, OMP_NUM_THREADS=str(cpus), MKL_NUM_THREADS=str(cpus), OMP_WAIT_POLICY="ACTIVE")
    t_start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="busy_bench_") as tmp:
        work = Path(tmp)
        cmds = jobs(a.quick, work)
        clean = {"demo": [work / "demo"], "eval": [work / "eval"]}
        plan = [("demo", "alone", 0, base_env), ("demo", "busy", a.busy, base_env)]
        plan += [("eval", "alone", 0, base_env), ("eval", "busy", a.busy, base_env),
                 ("eval", "busy, torch defaults", a.busy, torch_defaults)]
        for job, condition, n_busy, env in plan:
            procs = start_busy(n_busy)
            try:
                seconds, load = timed(cmds[job], env, clean[job])
            finally:
                stop_busy(procs)
            if job == "demo" and not (work / "model").exists():
                shutil.copytree(work / "demo" / "sft" / "model", work / "model")
            rows.append({"job": job, "condition": condition, "busy": n_busy, "seconds": seconds, "load": load})
            print(json.dumps(rows[-1]), flush=True)
    minutes = (time.perf_counter() - t_start) / 60
    lines = render(rows, quick=a.quick, busy=a.busy, cpus=cpus, minutes=minutes)
    section = "\n".join(lines)
    print(section)
    if not a.no_doc:
        DOC.write_text(replace_section(DOC.read_text(), section))
        print(f"wrote the busy-machine section of {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
