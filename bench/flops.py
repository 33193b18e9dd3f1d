"""How close to the machine: achieved FLOP/s of the update and of generation's prefill against a plain torch.mm.

Counted FLOPs are the language model's matmuls only (decoder layers + LM head, 2 per parameter per token
position forward, 6 with backward; attention scores and the tiny vision tower are left out: a lower bound,
about 3 % low at 100M with 200-position contexts). Token positions are the ones actually run (padding
included, each prompt once in the prefix-shared training forward), counted by hooks on the language model.
"""

from __future__ import annotations

from common import table


def section(row: dict) -> str:
    f, update_s = row["flops"], row["ours_phases"]["update"]
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
    return (f"The {row['size']} row of section 1 (ours, activation checkpointing "
            f"{'on' if row['checkpointing'] else 'off'}, {f['matmul_params'] / 1e6:.1f}M matmul parameters in the "
            f"language model), one step; peak = the best of 5 float32 `torch.mm` [4096 x 1024] x [1024 x 1024] "
            f"in the same process right after the step: **{peak:.1f} GFLOP/s** at the same thread count. "
            "The update's seconds are the whole phase (forward, backward, loss, optimizer step, Python).\n\n"
            + table(["what", "token positions", "seconds", "achieved GFLOP/s", "fraction of torch.mm peak"], rows)
            + "\n\n" + __doc__.split("\n\n", 1)[1].strip())
