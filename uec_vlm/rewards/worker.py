"""A grading worker process: `python -m uec_vlm.rewards.worker`, driven by `pool.GradingPool`.

Protocol (JSON lines): the worker prints `"ready"` once its parsers are imported and warmed up, then reads one
job per stdin line, `{"i", "text", "path", "example": {...}}` (slow-grade an extraction) or
`{"i", "call": "module:function", "kwargs": {...}}` (a benchmark rule on a raw response), and answers `{"i", "grade": {...}}` on the
protocol channel. That channel is a private copy of the original stdout; fd 1 is pointed at stderr so that a
stray print inside a parser cannot corrupt the protocol.

It runs with no signal-based timeouts (math-verify's are disabled: the parent kills a worker that runs past
the per-item limit) and with an address-space limit, so a huge exponent fails with MemoryError instead of
eating the machine's memory.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
from dataclasses import asdict

WORKER_MEMORY_BYTES = 3 * 1024**3


def _limit_memory() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY_BYTES, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _call(target: str):
    """The function a `pool.Call` names; only modules under `pool.CALL_PREFIXES` are importable here."""
    import importlib

    from uec_vlm.rewards.pool import CALL_PREFIXES

    module, _, name = target.partition(":")
    if not any(module == p or module.startswith(p + ".") for p in CALL_PREFIXES):
        raise ValueError(f"worker call {target!r} is outside {CALL_PREFIXES}")
    return getattr(importlib.import_module(module), name)


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _limit_memory()
    # The "timeout is disabled" warning is expected here: the parent enforces the limit.
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    from data_zoo.example import Example
    from uec_vlm.rewards.extract import Extraction
    from uec_vlm.rewards.graders import Grade, slow_grade

    # Warm the lazy imports (latex2sympy grammar, sympy, mathruler) before the parent starts the clock.
    warm = Example(id="warmup", source="worker", split="-", question="", answer="2", answer_kind="expression")
    slow_grade(Extraction("\\sqrt{4}", "boxed"), warm)
    channel.write('"ready"\n')
    channel.flush()

    for line in sys.stdin:
        job = json.loads(line)
        text = job.get("text")
        try:
            if "call" in job:
                verdict = _call(job["call"])(**job["kwargs"])
            else:
                verdict = slow_grade(Extraction(text, job["path"]), Example(**job["example"]))
        except Exception as e:  # noqa: BLE001 - a parser blowing up on model output scores 0, worker lives on
            verdict = Grade(False, text, "error", reason=f"{type(e).__name__}: {e}"[:500])
        channel.write(json.dumps({"i": job["i"], "grade": asdict(verdict)}) + "\n")
        channel.flush()


if __name__ == "__main__":
    main()
