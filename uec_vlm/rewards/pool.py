"""`grade_many`: batch grading with a per-item time limit, slow cases in persistent worker processes.

Why processes: math parsing of model output can hang (`9^{9^{9^{9}}}`), blow the stack (thousands of nested
braces) or allocate without bound, and math-verify's own timeouts use SIGALRM, which only works on the main
thread. So the parent extracts and fast-grades every item itself (string code only, bounded time), sends the
rest to small worker subprocesses (`python -m uec_vlm.rewards.worker`, no re-import of the caller's
`__main__`, unlike multiprocessing's spawn), and kills + respawns a worker that runs past `timeout_s`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from data_zoo.example import Example

from .extract import Extraction, extract_answer
from .graders import Grade, fast_grade

logger = logging.getLogger("uec_vlm.rewards")

STARTUP_TIMEOUT_S = 120.0
"""How long a fresh worker may take to import its parsers (generous: CI machines are shared)."""

_ROOT = str(Path(__file__).resolve().parents[2])


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uec_vlm.rewards.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.ready = False
        self.job: int | None = None
        self.deadline = time.monotonic() + STARTUP_TIMEOUT_S

    def send(self, job: int, message: dict, timeout_s: float) -> bool:
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        self.job, self.deadline = job, time.monotonic() + timeout_s
        return True

    def read_lines(self) -> list | None:
        """Decoded protocol messages now available; None at end of file (the worker died)."""
        data = os.read(self.fd, 1 << 20)
        if not data:
            return None
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        return [json.loads(line) for line in lines if line]

    def kill(self) -> int:
        self.proc.kill()
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return code


_GRADER_FIELDS = ("id", "source", "split", "answer", "answer_kind", "choices", "gold_letter", "precision")
_RULE_FIELDS = (*_GRADER_FIELDS, "question", "unit", "metadata")

CALL_PREFIXES = ("evals.benchmarks", "uec_vlm.rewards")
"""Modules whose functions a `Call` may name (the worker refuses anything else)."""


@dataclass(frozen=True)
class Call:
    """A job for a worker: `target` ("module:function", under CALL_PREFIXES) called with `kwargs` (JSON),
    returning a Grade. `example` is the record it grades (for log lines and time-out verdicts)."""

    target: str
    kwargs: dict
    example: Example


def _jsonable(value):
    """Plain JSON types for the worker protocol: hub parquet rows carry numpy scalars and arrays."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    return str(value)


def example_fields(example: Example, *, with_metadata: bool = False) -> dict:
    """The JSON-safe fields a worker rebuilds the Example from (never images)."""
    fields = _RULE_FIELDS if with_metadata else _GRADER_FIELDS
    out = {f: _jsonable(getattr(example, f)) for f in fields}
    out.setdefault("question", "")
    return out


def _message(i: int, job) -> dict:
    if isinstance(job, Call):
        return {"i": i, "call": job.target, "kwargs": job.kwargs}
    extraction, example = job
    return {"i": i, "text": extraction.text, "path": extraction.path, "example": example_fields(example)}


def _job_text(job) -> str | None:
    return None if isinstance(job, Call) else job[0].text


def _job_example(job) -> Example:
    return job.example if isinstance(job, Call) else job[1]


class GradingPool:
    """A fixed number of persistent grading workers (started lazily, restarted when killed or dead)."""

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"grading workers must be >= 1, got {workers}")
        self.size = workers
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    @property
    def live_workers(self) -> int:
        """Worker processes currently running (0 until the first batch that needs the slow path)."""
        return sum(w.proc.poll() is None for w in self._workers)

    def close(self) -> None:
        with self._lock:
            for w in self._workers:
                w.kill()
            self._workers = []

    def run(self, jobs: list, timeout_s: float) -> list[Grade]:
        """Grade each job with at most `timeout_s` seconds of worker time per item. A job is an
        (extraction, example) pair for `slow_grade`, or a `Call`."""
        if timeout_s <= 0:
            raise ValueError(f"grading timeout_s must be > 0, got {timeout_s}")
        with self._lock:
            while len(self._workers) < min(self.size, len(jobs)):
                self._workers.append(_Worker())
            return self._run(jobs, timeout_s)

    def _replace(self, w: _Worker) -> int:
        code = w.kill()
        self._workers[self._workers.index(w)] = _Worker()
        return code

    def _run(self, jobs: list, timeout_s: float) -> list[Grade]:
        results: list[Grade | None] = [None] * len(jobs)
        pending = deque(range(len(jobs)))
        while pending or any(w.job is not None for w in self._workers):
            for w in self._workers:
                if w.ready and w.job is None and pending:
                    i = pending.popleft()
                    if not w.send(i, _message(i, jobs[i]), timeout_s):
                        pending.appendleft(i)  # died while idle: the item never started, retry it
                        self._replace(w)
            waiting = [w for w in self._workers if w.job is not None or not w.ready]
            wait_s = max(0.0, min(w.deadline for w in waiting) - time.monotonic())
            readable, _, _ = select.select([w.fd for w in waiting], [], [], wait_s)
            for w in [w for w in waiting if w.fd in readable]:
                self._collect(w, jobs, results)
            now = time.monotonic()
            for w in list(self._workers):
                if w.deadline < now and (w.job is not None or not w.ready):
                    self._expire(w, jobs, results, timeout_s)
        return results  # type: ignore[return-value]

    def _collect(self, w: _Worker, jobs, results) -> None:
        messages = w.read_lines()
        if messages is None:
            if not w.ready:
                self._replace(w)
                raise RuntimeError("a grading worker exited during start-up (see its stderr above)")
            i = w.job
            code = self._replace(w)
            if i is not None:
                results[i] = Grade(False, _job_text(jobs[i]), "error", reason=f"grading worker died (exit {code})")
                logger.warning("grading %s: worker died (exit %s)", _job_example(jobs[i]).uid, code)
            return
        for msg in messages:
            if msg == "ready":
                w.ready = True
            else:
                results[msg["i"]] = Grade(**msg["grade"])
                w.job = None

    def _expire(self, w: _Worker, jobs, results, timeout_s: float) -> None:
        if w.job is None:
            self._replace(w)
            raise RuntimeError(f"a grading worker did not start within {STARTUP_TIMEOUT_S} s")
        i = w.job
        self._replace(w)
        reason = f"grading exceeded {timeout_s} s; worker killed"
        results[i] = Grade(False, _job_text(jobs[i]), "timeout", reason=reason)
        logger.warning("grading %s: %s", _job_example(jobs[i]).uid, reason)


_POOLS: dict[int, GradingPool] = {}


def shared_pool(workers: int) -> GradingPool:
    """The process-wide pool with `workers` workers (kept warm between batches, closed at exit)."""
    if workers not in _POOLS:
        _POOLS[workers] = GradingPool(workers)
    return _POOLS[workers]


@atexit.register
def close_pools() -> None:
    """Stop every shared grading worker."""
    for pool in _POOLS.values():
        pool.close()


def grade_many(
    responses: list[str],
    examples: list[Example],
    *,
    timeout_s: float = 5.0,
    workers: int = 2,
    paths: tuple[str, ...] | None = None,
) -> list[Grade]:
    """Grade responses[i] against examples[i] (N each -> N Grades, same order).

    Extraction and the fast path run here (string code only); the rest runs in worker processes with at
    most `timeout_s` per item. An item that times out or crashes its worker scores 0 with path "timeout" /
    "error" and a `reason`, is logged, and the batch goes on. A malformed gold answer raises ValueError
    naming the record. Model output never reaches eval or sympy's string parsing in this process.
    """
    if len(responses) != len(examples):
        raise ValueError(f"grade_many: {len(responses)} responses but {len(examples)} examples")
    grades: list[Grade | None] = []
    jobs: list[tuple[Extraction, Example]] = []
    slots: list[int] = []
    for i, (response, example) in enumerate(zip(responses, examples)):
        extraction = extract_answer(response, paths)
        verdict = fast_grade(extraction, example)
        grades.append(verdict)
        if verdict is None:
            jobs.append((extraction, example))
            slots.append(i)
    if jobs:
        for i, verdict in zip(slots, shared_pool(workers).run(jobs, timeout_s)):
            grades[i] = verdict
    return grades  # type: ignore[return-value]
