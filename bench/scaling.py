"""How our step time grows with group size n, response length, images per prompt and processes.

Run as a child (`python bench/scaling.py JSON`) it measures every single-process cell in one interpreter
(one Trainer per cell, one warm-up and one timed step); the 2-process cell runs under torchrun.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, PeakRSS, emit, median, run_child, table  # noqa: E402

BASE = {"prompts": 8, "n": 8, "new_tokens": 64, "image_tokens": 64, "images": 1}
AXES = {"n": (4, 8, 16), "new_tokens": (32, 64, 128, 256), "images": (1, 2, 4)}
# The ~100M model gets a smaller base (2 prompts) and no 256-token cell, to keep a cell near a minute on 2 cores.
BASES = {"100M": dict(BASE, prompts=2)}
SKIP = {"100M": {("new_tokens", 256)}}


def base(size: str) -> dict:
    return BASES.get(size, BASE)


def cells(size: str) -> list[tuple[str, int, dict]]:
    """(axis, value, workload) for every cell; the base workload is measured once and shared by axes."""
    out = []
    for axis, values in AXES.items():
        for v in values:
            if (axis, v) not in SKIP.get(size, set()):
                out.append((axis, v, dict(base(size), **{axis: v})))
    return out


def measure(a: dict) -> dict:
    from worker_ours import measure as run_ours

    done: dict[str, dict] = {}
    rows = []
    warmup = 0 if a["size"] == "100M" else 1  # a 100M step's warm-up share is small; a second step is not
    for axis, value, w in cells(a["size"]):
        key = json.dumps(w, sort_keys=True)
        if key not in done:
            with PeakRSS() as mem:
                r = run_ours(dict(w, size=a["size"], warmup=warmup, steps=1, micro_batch_size=16))
            # CPU seconds (1 thread per process): the shared machine's load stretches wall seconds far more.
            done[key] = {"step_s": r["cpu_s"][0], "rollout_s": r["cpu_phases"]["rollout"],
                         "update_s": r["cpu_phases"]["update"], "wall_s": r["step_s"][0], "rss_mb": mem.peak_mb,
                         "tokens": r["mean_completion_tokens"][0]}
            print(json.dumps({axis: value, **done[key]}), file=sys.stderr, flush=True)
        rows.append({"axis": axis, "value": value, **done[key]})
    return {"rows": rows}


def processes(size: str) -> list[dict]:
    """1 and 2 processes (torchrun, gloo, 1 thread each), each process with the base per-rank workload."""
    out = []
    b = base(size)
    for world in (1, 2):
        args = dict(b, size=size, warmup=1, steps=2, micro_batch_size=16)
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={world}"]
        r = run_child("worker_ours.py", args, launcher=launcher, threads="1", timeout=1800)
        step = median(r["step_s"])
        out.append({"size": size, "world": world, "step_s": step, "rss_mb": r["peak_rss_mb"],
                    "cpu_s": median(r["cpu_s"]),
                    "samples_per_s": world * b["prompts"] * b["n"] / step})
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(AXES), figsize=(4 * len(AXES), 3.2))
    for ax, axis in zip(axes, AXES):
        pts = [r for r in rows if r["axis"] == axis]
        xs = [r["value"] for r in pts]
        ax.plot(xs, [r["step_s"] for r in pts], "o-", label="step")
        ax.plot(xs, [r["rollout_s"] for r in pts], "s--", label="rollout")
        ax.plot(xs, [r["update_s"] for r in pts], "^--", label="update")
        # The linear reference through the first point: growth above it would be super-linear.
        ax.plot(xs, [pts[0]["step_s"] * x / xs[0] for x in xs], ":", color="grey", label="linear from first")
        ax.set_xlabel(axis)
        ax.set_ylabel("CPU seconds")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def procs_section(procs: list[dict]) -> str:
    rows = []
    for p in procs:
        one = next(q for q in procs if q["size"] == p["size"] and q["world"] == 1)
        rows.append([p["size"], p["world"], p["step_s"], p["samples_per_s"],
                     f"{p['samples_per_s'] / one['samples_per_s']:.2f}", p["cpu_s"],
                     f"**{one['cpu_s'] / p['cpu_s']:.2f}**", p["rss_mb"]])
    sizes = {p["size"]: base(p["size"]) for p in procs}
    shapes = "; ".join(f"{s}: {b['prompts']} prompts x {b['n']} samples x {b['new_tokens']} tokens"
                       for s, b in sizes.items())
    return ("torchrun, gloo, DDP (which wraps the training forward module, so the prefix-shared forward is "
            "on), 1 thread per process; every process runs the base workload on its own prompts, so 2 "
            f"processes do twice the work per step ({shapes}); one warm-up and the median of 2 timed steps. "
            "On a machine whose 2 cores are also busy with other jobs, the wall-clock samples/s measure how much "
            "CPU the machine gave as much as our scaling; the CPU columns do not: `CPU efficiency` = CPU "
            "seconds of one process's step / CPU seconds of rank 0's step with 2 processes (each rank does the "
            "1-process work, so 1.00 = no CPU spent on distribution; with 2 free cores, samples/s vs 1 process "
            "would be 2 x this, less the time ranks wait for each other).\n\n"
            + table(["model", "processes", "wall s/step", "samples/s", "samples/s vs 1 process",
                     "rank-0 CPU s/step", "CPU efficiency", "rank-0 peak RSS MB"], rows))


def section(result: dict, size: str, png: Path) -> str:
    lines = []
    for axis in AXES:
        pts = [r for r in result["rows"] if r["axis"] == axis]
        first = pts[0]
        for r in pts:
            growth = (r["step_s"] / first["step_s"]) / (r["value"] / first["value"])
            lines.append([axis, r["value"], r["step_s"], r["rollout_s"], r["update_s"],
                          f"{growth:.2f}" if r is not first else "-", r["rss_mb"], f"{r['tokens']:.1f}"])
    head = ["axis", "value", "CPU s/step", "rollout CPU s", "update CPU s", "growth / linear", "peak RSS MB",
            "mean new tokens"]
    b = base(size)
    rel = png.relative_to(ROOT / "docs") if png.is_relative_to(ROOT / "docs") else png
    warm = "no warm-up and" if size == "100M" else "one warm-up and"
    return (f"The {size} model; base cell {b['prompts']} prompts x {b['n']} samples x {b['new_tokens']} "
            f"tokens x {b['images']} image of {b['image_tokens']} tokens, one axis varied at a time; {warm} "
            "one timed step per cell, all cells in one process at 1 thread, times in CPU seconds (peak RSS "
            "sampled during the cell; the cells share one process and each builds a fresh trainer whose "
            "predecessors' memory is not all returned to the OS, so after the first cell the peak RSS column "
            "is an upper bound that grows with the cells run before, most visibly at 100M). "
            "`growth / linear` = (time ratio to the first cell) / (value ratio): <= 1 means no faster than "
            "linear. Responses of a random-initialised model stop early sometimes, so the mean new tokens "
            f"column says how many were actually generated.\n\n{table(head, lines)}\n\n![scaling]({rel})")


if __name__ == "__main__":
    emit(measure(json.loads(sys.argv[1])))
