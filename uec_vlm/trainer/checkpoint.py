"""Atomic, resumable checkpoints that are also plain Hugging Face model directories.

    RUN/checkpoints/step_N/
        config.json, model.safetensors, ...   model.save_pretrained  (loads with AutoModelForImageTextToText)
        preprocessor_config.json, tokenizer*   processor.save_pretrained (when a processor is given)
        optimizer.pt, scheduler.pt            state dicts (tensors and numbers)
        trainer_state.pt                      what the trainer needs to resume (data position, buffers...),
                                              encoded as plain data by `state_codec`
        rng.pt                                python / numpy / torch (and CUDA) RNG states, encoded likewise
        meta.json                             {"step": N, "metrics": {...}, "saved_at": ...}
        COMPLETE                              written last: a directory without it is never used

Everything is written into `step_N.tmp/`, fsync'd, and renamed to `step_N/` only when complete, so a
process killed mid-save leaves the previous checkpoint as the latest usable one.

Nothing in a checkpoint is unpickled: every .pt file is read with `torch.load(weights_only=True)`, which
builds only tensors and plain data, so a planted file cannot run code (it fails with CheckpointError naming
it). Weights are read through safetensors and checked to be finite; a save that runs out of disk space
says so, with the path and the free space, and leaves the previous checkpoint in place.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from uec_vlm.trainer.run_dir import RunDir, clean_metrics
from uec_vlm.trainer.state_codec import StateCodecError, decode_state, encode_state

COMPLETE_MARKER = "COMPLETE"
_STEP_DIR = re.compile(r"^step_(\d+)$")
_STALE_DIR = re.compile(r"^step_(\d+)\.(tmp|old)$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or trusted; the message names the file and the cause."""


def _checkpoints_dir(run_dir: RunDir | str | os.PathLike) -> Path:
    return run_dir.checkpoints_dir if isinstance(run_dir, RunDir) else Path(run_dir) / "checkpoints"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def _state_dict_of(obj: Any) -> Any:
    """An optimizer/scheduler's state dict, or the object itself when the caller already gathered one."""
    return obj.state_dict() if hasattr(obj, "state_dict") else obj


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: Mapping[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    run_dir: RunDir | str | os.PathLike,
    step: int,
    *,
    model: Any,
    processor: Any = None,
    optimizer: Any = None,
    scheduler: Any = None,
    trainer_state: Mapping[str, Any] | None = None,
    rng: bool = True,
    metrics: Mapping[str, Any] | None = None,
    state_dict: Mapping[str, Any] | None = None,
    is_main: bool = True,
) -> Path | None:
    """Write `RUN/checkpoints/step_<step>/` atomically and return its path (None when not is_main).

    Args:
        model: a transformers PreTrainedModel (the unwrapped module, not a DDP/FSDP wrapper).
        processor: saved with `save_pretrained` next to the model; None skips it (the directory then
            loads with AutoModel* but not AutoProcessor).
        optimizer, scheduler: objects with `state_dict()`, or already-gathered state dicts (FSDP2:
            the trainer gathers the full optimizer state on rank 0 and passes the dict); None skips.
        trainer_state: a dict of plain data, tensors, numpy values, PIL images and allow-listed dataclasses
            (see `state_codec`); anything else is a CheckpointError naming the key.
        rng: also save python / numpy / torch / CUDA RNG states of this process.
        metrics: scalars stored in meta.json; `prune_checkpoints(best_metric=...)` ranks by them.
        state_dict: the full model state dict when the live module is sharded (FSDP2): gathered on
            rank 0 by the trainer and written instead of `model.state_dict()`.
        is_main: False on non-zero ranks: nothing is written and None is returned. The trainer does the
            gathering collectives on every rank and the barrier after this call.
    """
    if not is_main:
        return None
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"checkpoint step must be a non-negative int, got {step!r}")
    if not hasattr(model, "save_pretrained"):
        raise TypeError(
            f"model must be a transformers PreTrainedModel (has save_pretrained); got {type(model).__name__}. "
            "Pass the unwrapped module (model.module for DDP) and, for FSDP, the gathered full state_dict."
        )
    import torch

    ckpt_dir = _checkpoints_dir(run_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    final = ckpt_dir / f"step_{step}"
    tmp = ckpt_dir / f"step_{step}.tmp"
    if tmp.exists():  # left by a save that crashed
        shutil.rmtree(tmp)
    tmp.mkdir()

    try:
        encoded_state = encode_state(dict(trainer_state or {}))
    except StateCodecError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"checkpoint {final}: trainer state {e}") from e
    try:
        model.save_pretrained(tmp, state_dict=dict(state_dict) if state_dict is not None else None)
        if processor is not None:
            processor.save_pretrained(tmp)
        if optimizer is not None:
            torch.save(_state_dict_of(optimizer), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(_state_dict_of(scheduler), tmp / "scheduler.pt")
        torch.save(encoded_state, tmp / "trainer_state.pt")
        if rng:
            torch.save(encode_state(_rng_state()), tmp / "rng.pt")
        meta = {
            "step": step,
            "metrics": clean_metrics(metrics or {}),
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, allow_nan=True) + "\n")
        _fsync_tree(tmp)
        (tmp / COMPLETE_MARKER).write_text(f"{step}\n")
        _fsync_tree(tmp)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)  # frees what the failed save wrote
        if _out_of_space(e):
            raise CheckpointError(_disk_full_message(final, ckpt_dir, e)) from e
        raise

    if final.exists():  # re-saving a step (e.g. after a resume): swap so a complete copy always exists
        old = ckpt_dir / f"step_{step}.old"
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    _fsync_dir(ckpt_dir)
    return final


def _out_of_space(e: BaseException) -> bool:
    """Whether a failed write ran out of disk space (torch's zip writer reports it as `unexpected pos`)."""
    import errno

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(e)
    return any(s in text for s in ("No space left", "unexpected pos", "file write failed", "Disk quota"))


def _disk_full_message(final: Path, ckpt_dir: Path, e: BaseException) -> str:
    free = shutil.disk_usage(ckpt_dir).free
    previous = [p for _, p in list_checkpoints(ckpt_dir.parent)]
    kept = f"the previous checkpoint {previous[-1]} is intact" if previous else "no earlier checkpoint exists"
    return (f"checkpoint {final} not saved: the disk holding {ckpt_dir} is full ({free / 2**20:.1f} MiB free; "
            f"{type(e).__name__}: {str(e).strip()[:120]}); {kept}. Free space, lower trainer.keep_last or move "
            "trainer.output_dir, then resume")


def _load_plain(path: Path, map_location: Any = "cpu") -> Any:
    """torch.load with weights_only=True; a file needing anything else is refused (CheckpointError naming it)."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln or "nsupported" in ln]
        first = lines[0] if lines else "not a weights-only file"
        raise CheckpointError(
            f"{path}: refused to load: it holds pickled Python objects, not plain tensors and data ({first}). "
            "uec-vlm never unpickles run-folder files: a file planted in a shared folder could run code. "
            "Delete this checkpoint, or start over with trainer.resume=never") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint file ({type(e).__name__}: {str(e)[:200]})") from None


def _load_state(path: Path, map_location: Any = "cpu") -> Any:
    try:
        return decode_state(_load_plain(path, map_location), str(path))
    except StateCodecError as e:
        raise CheckpointError(str(e)) from None


def _check_finite_weights(path: Path, state: Mapping[str, Any]) -> None:
    import torch

    for name, t in state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(f"{path}: weight {name} has {bad} non-finite (NaN/inf) values of {t.numel()}; "
                                  "this checkpoint is corrupt or diverged: resume from an earlier one "
                                  "(trainer.resume=RUN/checkpoints/step_N)")


def list_checkpoints(run_dir: RunDir | str | os.PathLike) -> list[tuple[int, Path]]:
    """Complete checkpoints as (step, path), by increasing step; `*.tmp` and unmarked dirs are ignored."""
    ckpt_dir = _checkpoints_dir(run_dir)
    if not ckpt_dir.is_dir():
        return []
    found = []
    for entry in ckpt_dir.iterdir():
        match = _STEP_DIR.match(entry.name)
        if match and entry.is_dir() and (entry / COMPLETE_MARKER).is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(run_dir: RunDir | str | os.PathLike) -> Path | None:
    """The complete checkpoint with the highest step, or None when there is none."""
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def read_checkpoint_meta(path: str | os.PathLike) -> dict[str, Any]:
    """meta.json of a checkpoint directory ({"step", "metrics", "saved_at"}); errors name the path."""
    path = Path(path)
    if not (path / COMPLETE_MARKER).is_file():
        raise FileNotFoundError(f"{path} is not a complete checkpoint (no {COMPLETE_MARKER} marker)")
    try:
        return json.loads((path / "meta.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path / 'meta.json'}: unreadable checkpoint metadata ({e})") from e


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: Any = None,
    optimizer: Any = None,
    scheduler: Any = None,
    restore_rng: bool = True,
    map_location: Any = "cpu",
) -> dict[str, Any]:
    """Restore a checkpoint into live objects and return its trainer_state dict.

    The model weights are read with `type(model).from_pretrained(path)` (so the checkpoint's on-disk key
    format is handled by transformers) and copied into `model` in place, keeping its devices and dtype.
    Load into the unwrapped module before sharding it (FSDP2) or wrapping it (DDP). None skips a part.
    RNG states are restored last, so the next random draw equals the one the saving run made next.
    """
    path = Path(path)
    read_checkpoint_meta(path)
    if model is not None:
        dtype = next(model.parameters()).dtype
        loaded, info = type(model).from_pretrained(path, dtype=dtype, output_loading_info=True)
        problems = {k: sorted(v) for k, v in info.items() if k != "error_msgs" and v}
        if problems or info.get("error_msgs"):
            raise ValueError(f"{path}: checkpoint weights do not match {type(model).__name__}: {problems or info}")
        weights = loaded.state_dict()
        _check_finite_weights(path, weights)
        model.load_state_dict(weights, strict=True)
        del loaded, weights
    for obj, name in ((optimizer, "optimizer.pt"), (scheduler, "scheduler.pt")):
        if obj is None:
            continue
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} is missing: this checkpoint was saved without it")
        obj.load_state_dict(_load_plain(path / name, map_location))
    for group in getattr(optimizer, "param_groups", []):
        if not math.isfinite(float(group.get("lr", 0.0))):
            raise CheckpointError(f"{path / 'optimizer.pt'}: learning rate {group['lr']} is not finite; "
                                  "resume from an earlier checkpoint or start over with a finite optim.lr")
    trainer_state = _load_state(path / "trainer_state.pt", map_location)
    if restore_rng:
        if not (path / "rng.pt").is_file():
            raise FileNotFoundError(f"{path / 'rng.pt'} is missing: saved with rng=False; pass restore_rng=False")
        _restore_rng(_load_state(path / "rng.pt"))
    return trainer_state


def prune_checkpoints(
    run_dir: RunDir | str | os.PathLike,
    *,
    keep_last: int,
    best_metric: str | None = None,
    mode: str = "max",
) -> list[Path]:
    """Delete checkpoints except the `keep_last` newest and the best by `best_metric`; return deleted paths.

    The best is read from each checkpoint's meta.json metrics (checkpoints without the metric, or with a
    NaN, are not candidates; ties go to the earliest step). Leftovers of crashed saves (`step_N.tmp`,
    `step_N.old`) and `step_N` directories without the COMPLETE marker are deleted too.
    """
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise ValueError(f"keep_last must be an int >= 1 (the newest checkpoint is needed to resume), got {keep_last!r}")
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    found = list_checkpoints(run_dir)
    keep = {path for _, path in found[-keep_last:]}
    if best_metric is not None:
        scored = []
        for step, path in found:
            value = read_checkpoint_meta(path)["metrics"].get(best_metric)
            if isinstance(value, (int, float)) and not math.isnan(value):
                scored.append((value if mode == "max" else -value, -step, path))
        if scored:
            keep.add(max(scored)[2])
    complete = {path for _, path in found}
    removed = [path for _, path in found if path not in keep]
    ckpt_dir = _checkpoints_dir(run_dir)
    if ckpt_dir.is_dir():
        for entry in sorted(ckpt_dir.iterdir()):
            stale = _STALE_DIR.match(entry.name) or (_STEP_DIR.match(entry.name) and entry not in complete)
            if stale and entry.is_dir():
                removed.append(entry)
    for path in removed:
        shutil.rmtree(path)
    return removed
