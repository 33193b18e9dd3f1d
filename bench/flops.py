"""How close to the machine: achieved FLOP/s of the update and of generation's prefill against a plain torch.mm.

Counted FLOPs are the language model's matmuls only (decoder layers + LM head, 2 per parameter per token
position forward, 6 with backward; attention scores and the tiny vision tower are left out: a lower bound,
about 3 % low at 100M with 200-position contexts). Token positions are the ones actually run (padding
included, each prompt once in the prefix-shared training forward), counted by hooks on the language model.
"""

from __future__ import annotations

from common import table
from vs_trl import shape


def fractions(row: dict) -> tuple[float, float]:
    """(update model FLOP/s, prefill FLOP/s) as fractions of the torch.mm peak."""
    f = row["flops"]
    update = 6 * f["matmul_params"] * f["train_tokens"] / row["cpu_phases"]["update"] / 1e9
    prefill = 2 * f["matmul_params"] * f["prefill_tokens"] / max(f["prefill_s"], 1e-9) / 1e9
    return update / f["mm_peak_gflops"], prefill / f["mm_peak_gflops"]


def summary(row: dict) -> str:
    update, prefill = fractions(row)
    return f"update {update:.0%} (model FLOPs), prefill {prefill:.0%} (section 5)"


def section(row: dict) -> str:
    f, update_s = row["flops"], row["cpu_phases"]["update"]
    peak = f["mm_peak_gflops"]
    model = 6 * f["matmul_params"] * f["train_tokens"] / update_s / 1e9
    executed = (8 if row["checkpointing"] else 6) * f["matmul_params"] * f["train_tokens"] / update_s / 1e9
    prefill = 2 * f["matmul_params"] * f["prefill_tokens"] / max(f["prefill_s"], 1e-9) / 1e9
    rows = [["update (model FLOPs: 6 per param per position)", f["train_tokens"], update_s, model,
             f"**{model / peak:.0%}**"],
            ["update (executed, with the checkpoint replay: 8)" if row["checkpointing"] else "update (executed)",
             f["train_tokens"], update_s, executed, f"{executed / peak:.0%}"],
            ["generation prefill (language model call)", f["prefill_tokens"], f["prefill_s"], prefill,
             f"**{prefill / peak:.0%}**"]]
    return (f"Ours at {row['size']} ({shape(row['workload'])}, activation checkpointing "
            f"{'on' if row['checkpointing'] else 'off'}, {f['matmul_params'] / 1e6:.1f}M matmul parameters in the "
            f"language model, {row['threads']} thread), one step; peak = the best of 5 float32 `torch.mm` "
            "[4096 x 1024] x [1024 x 1024] in the same process right after the step: "
            f"**{peak:.1f} GFLOP/s**. All seconds are CPU seconds of the process (`time.process_time`; with 1 "
            "thread that is the time the core spent on it, which the shared machine's load does not stretch). "
            "The update's seconds are the whole phase (forward, backward, loss, optimizer step, Python).\n\n"
            + table(["what", "token positions", "seconds", "achieved GFLOP/s", "fraction of torch.mm peak"], rows)
            + "\n\n" + __doc__.split("\n\n", 1)[1].strip())
