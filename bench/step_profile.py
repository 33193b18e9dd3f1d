"""Where one step of ours goes: the trainer's phase times and the top functions of a cProfile of the step."""

from __future__ import annotations

import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table  # noqa: E402


def section(profile_path: Path, phases: dict[str, float], top: int = 14) -> str:
    stats = pstats.Stats(str(profile_path))
    total = stats.total_tt
    rows = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in sorted(
            stats.stats.items(), key=lambda kv: -kv[1][2])[:top]:
        where = func if file == "~" else f"{Path(file).name}:{line} {func}"
        rows.append([f"`{where}`", ncalls, tottime, f"{100 * tottime / total:.0f}%", cumtime])
    step = phases.get("step", sum(phases.values()))
    phase_rows = [[k, v, f"{100 * v / step:.0f}%"] for k, v in sorted(phases.items(), key=lambda kv: -kv[1])
                  if k != "step" and v >= 0.001]
    return ("Phases of one step (the trainer's own `time/*` metrics):\n\n"
            + table(["phase", "seconds", "share"], phase_rows)
            + f"\n\ncProfile of the same step ({total:.2f} s profiled), functions by own time:\n\n"
            + table(["function", "calls", "own s", "share", "cumulative s"], rows))
