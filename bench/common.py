"""What every benchmark shares: the tiny checkpoints, the synthetic workload, the reward, child processes.

Each measured run happens in a fresh child process (`run_child`) that prints one JSON line: peak RSS is
then that run's own, and neither framework warms caches for the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "runs" / "bench"
# The tiny Qwen2.5-VL at three sizes (text hidden, layers, heads); parameter counts are measured and printed.
SIZES: dict[str, tuple[int, int, int]] = {"0.2M": (64, 2, 4), "3M": (256, 4, 4), "20M": (512, 8, 8)}
# Only the vLLM-vs-HF generation comparison (bench/vllm_vs_hf.py) goes this far.
LARGE_SIZES: dict[str, tuple[int, int, int]] = {"100M": (1024, 10, 16)}
THREADS = "2"


@dataclass(frozen=True)
class Workload:
    """One step's work: prompts x samples x new tokens, images per prompt of `image_tokens` tokens each."""

    prompts: int = 8
    n: int = 8
    new_tokens: int = 64
    image_tokens: int = 64
    images: int = 1

    @property
    def image_px(self) -> int:
        # One merged Qwen2.5-VL image token covers 28 x 28 pixels; a square image of side 28*sqrt(k).
        side = int(round(self.image_tokens ** 0.5))
        if side * side != self.image_tokens:
            raise ValueError(f"image_tokens={self.image_tokens} must be a perfect square")
        return 28 * side


def model_dir(size: str, max_image_tokens: int = 256) -> Path:
    """Build (once) and return the tiny Qwen2.5-VL checkpoint of `size` (a key of SIZES)."""
    from uec_vlm.models.tiny import make_tiny_model

    shapes = SIZES | LARGE_SIZES
    if size not in shapes:
        raise ValueError(f"unknown bench model size {size!r}; choose one of {', '.join(shapes)}")
    hidden, layers, heads = shapes[size]
    out = CACHE / "models" / f"qwen2_5_vl-{size}-img{max_image_tokens}"
    if not (out / "config.json").is_file():
        make_tiny_model("qwen2_5_vl", out, hidden_size=hidden, num_layers=layers, num_heads=heads,
                        max_image_tokens=max_image_tokens, seed=0)
    return out


def workload_images(w: Workload, index: int) -> list:
    """The `w.images` PIL images of prompt `index` (distinct per prompt, fixed size, no resize needed)."""
    from PIL import Image, ImageDraw

    out = []
    for j in range(w.images):
        img = Image.new("RGB", (w.image_px, w.image_px), (40 * (index % 6), 30 * (j % 8), 120))
        ImageDraw.Draw(img).line((0, 0, w.image_px - 1, (index * 37 + j * 11) % w.image_px), fill=(255, 255, 255),
                                 width=3)
        out.append(img)
    return out


QUESTION = "Based on the image, find the value of x. The figure shows a triangle with angles 60 and 70."


def bench_reward_values(texts: list[str]) -> list[float]:
    """The benchmark's reward: a deterministic function of the text with spread inside every group, so that
    advantages (and therefore gradients) are non-zero on both frameworks. Model output is only measured."""
    return [(len(t) % 7) / 6.0 for t in texts]


def bench_reward(completions, examples, *, truncated=None):
    """uec-vlm reward signature (`reward.name = bench.common:bench_reward`)."""
    return [{"overall": v, "accuracy": v, "format": 0.0} for v in bench_reward_values(completions)]


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_env(threads: str = THREADS) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}", HF_HUB_OFFLINE="1",
               TRANSFORMERS_VERBOSITY="error", PYTHONWARNINGS="ignore")
    return env


def run_child(script: str, args: dict, timeout: float = 900, launcher: list[str] | None = None,
              threads: str = THREADS) -> dict:
    """Run `bench/<script> ARGS_JSON` in a fresh interpreter (or under `launcher`, e.g. torchrun); return its
    last stdout JSON line, with the wall time of the whole process (imports included) as `process_s`.
    """
    t0 = time.perf_counter()
    cmd = (launcher or [sys.executable]) + [str(ROOT / "bench" / script), json.dumps(args)]
    proc = subprocess.run(cmd, cwd=ROOT, env=child_env(threads), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench/{script} {args} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1])
    out["process_s"] = time.perf_counter() - t0
    return out


def emit(result: dict) -> None:
    """A child's result line (the parent reads the last line starting with `{`)."""
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), flush=True)


def median(xs: list[float]) -> float:
    s = sorted(xs)
    k = len(s)
    return float("nan") if not k else (s[k // 2] if k % 2 else 0.5 * (s[k // 2 - 1] + s[k // 2]))


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table; floats get 3 significant digits."""
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


class PeakRSS:
    """Context manager sampling this process's RSS every 5 ms: `.peak_mb` is the highest value seen.

    For several measurements inside one process (ru_maxrss only ever grows).
    """

    def __enter__(self):
        import threading

        import psutil

        self._proc, self.peak_mb, self._stop = psutil.Process(), 0.0, threading.Event()

        def sample():
            while not self._stop.is_set():
                self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)
                self._stop.wait(0.005)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)
