"""Per-rank record of every control-flow decision, checked identical across ranks each step.

RUN/decisions/rank<r>.jsonl holds one row per step: which groups were kept / hard, how many samples were
retained, buffered and popped, whether an update and a replay ran, optimizer and skipped steps, the LR.
Each step the rows of all ranks are gathered (one small collective) and compared: a difference means the
ranks would run different collectives next, so every rank stops at once with RankFailure naming the
step and the first differing key, instead of training wrong or hanging later.
"""

from __future__ import annotations

import json
from pathlib import Path

from uec_vlm.trainer import distributed as dist_utils


class DecisionLog:
    def __init__(self, run_root: Path, rank: int, start_step: int):
        self.path = Path(run_root) / "decisions" / f"rank{rank}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if self.path.exists():  # a resumed run drops rows after its checkpoint (they are re-run)
            kept = [ln for ln in self.path.read_text().splitlines(keepends=True)
                    if ln.strip() and ln.endswith("\n") and json.loads(ln)["step"] <= start_step]
        self.path.write_text("".join(kept))

    def record(self, step: int, decisions: dict) -> None:
        """Collective: compare `decisions` across ranks (RankFailure on any difference), then append."""
        row = {"step": step, **decisions}
        rows = dist_utils.all_gather_objects(row)
        for r, other in enumerate(rows):
            if other != row:
                key = next(k for k in sorted(set(row) | set(other)) if row.get(k) != other.get(k))
                raise dist_utils.RankFailure(
                    f"ranks diverged at step {step}: {key} = {row.get(key)!r} on rank {dist_utils.rank()} but "
                    f"{other.get(key)!r} on rank {r}")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
