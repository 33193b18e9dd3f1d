"""Resume state as plain data, so that a checkpoint is read with `torch.load(weights_only=True)`.

A run folder may be shared or copied from elsewhere; unpickling a planted `trainer_state.pt` would run
any code its author chose. So the state is encoded into what the weights-only loader accepts (tensors,
numbers, strings, bytes, lists, tuples, dicts) and decoded back through an allow-list of classes:

    dataclass instance of an allowed class -> {"__obj__": k}, with objects[k] = {"cls": name, "fields": {...}}
    PIL image                              -> {"__pil__": raw bytes, "mode", "size"}
    numpy array / scalar                   -> {"__ndarray__": raw bytes, "dtype", "shape", "scalar"}
    deque                                  -> {"__deque__": items, "maxlen"}

Objects referenced several times (the encoded prompt shared by a group's samples) are stored once and
come back shared. Decoding is exact: a resumed run continues bit-for-bit.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

FORMAT = "uec-vlm-state/1"
_CLASSES: dict[str, type] = {}


class StateCodecError(TypeError):
    """A value the codec cannot store or an encoded state it does not accept; the message names it."""


def register_state_class(cls: type) -> type:
    """Allow instances of dataclass `cls` in saved state (usable as a decorator)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    _CLASSES[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def _builtin_classes() -> None:
    if _CLASSES:
        return
    from data_zoo.example import Example, ImageRef
    from uec_vlm.prompts import PromptInputs
    from uec_vlm.trainer.samples import Sample

    for cls in (Example, ImageRef, PromptInputs, Sample):
        register_state_class(cls)


def encode_state(state: Any) -> dict:
    """`state` -> a weights-only-loadable dict {"format", "objects", "root"}. Raises StateCodecError
    naming the path of a value of an unsupported type."""
    import numpy as np
    import torch

    _builtin_classes()
    objects: list[Any] = []
    memo: dict[int, int] = {}

    def enc(value: Any, where: str) -> Any:
        # Exact types only: numpy's float64 / str_ subclass float / str but would be pickled as numpy objects.
        if value is None or type(value) in (bool, int, float, str, bytes) or \
                isinstance(value, (torch.Tensor, torch.dtype)):
            return value
        if isinstance(value, list):
            return [enc(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return tuple(enc(v, f"{where}[{i}]") for i, v in enumerate(value))
        if isinstance(value, deque):
            return {"__deque__": [enc(v, f"{where}[{i}]") for i, v in enumerate(value)], "maxlen": value.maxlen}
        if isinstance(value, dict):
            return {k: enc(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype.hasobject:
                raise StateCodecError(f"{where}: numpy arrays of Python objects cannot be stored without pickle")
            return {"__ndarray__": arr.tobytes(), "dtype": arr.dtype.str, "shape": list(arr.shape),
                    "scalar": isinstance(value, np.generic)}
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name in _CLASSES or _is_pil(value):
            if id(value) in memo:
                return {"__obj__": memo[id(value)]}
            memo[id(value)] = len(objects)
            objects.append(None)
            if _is_pil(value):
                if value.mode not in ("RGB", "RGBA", "L", "LA", "I", "F", "1"):
                    raise StateCodecError(f"{where}: PIL image mode {value.mode!r} cannot be stored")
                item = {"cls": "PIL.Image", "mode": value.mode, "size": list(value.size), "data": value.tobytes()}
            else:
                item = {"cls": name, "fields": {f.name: enc(getattr(value, f.name), f"{where}.{f.name}")
                                                for f in dataclasses.fields(value)}}
            objects[memo[id(value)]] = item
            return {"__obj__": memo[id(value)]}
        raise StateCodecError(f"{where}: cannot store a {name} in a checkpoint without pickle; "
                              "convert it to tensors/numbers/strings or register its dataclass")

    root = enc(state, "state")
    return {"format": FORMAT, "objects": objects, "root": root}


def _is_pil(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("PIL.") and hasattr(value, "tobytes") and hasattr(value, "mode")


def decode_state(blob: Any, origin: str = "state") -> Any:
    """Inverse of `encode_state`. Only allow-listed classes are built; anything else is a StateCodecError
    naming `origin`."""
    import numpy as np

    _builtin_classes()
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise StateCodecError(f"{origin}: not a {FORMAT} state (format {blob.get('format') if isinstance(blob, dict) else type(blob).__name__!r})")
    objects = blob["objects"]
    built: dict[int, Any] = {}

    def obj(k: int) -> Any:
        if k in built:
            return built[k]
        item = objects[k]
        cls_name = item.get("cls")
        if cls_name == "PIL.Image":
            from PIL import Image

            built[k] = Image.frombytes(item["mode"], tuple(item["size"]), item["data"])
        elif cls_name in _CLASSES:
            built[k] = _CLASSES[cls_name](**{n: dec(v) for n, v in item["fields"].items()})
        else:
            raise StateCodecError(f"{origin}: class {cls_name!r} is not allowed in saved state")
        return built[k]

    def dec(value: Any) -> Any:
        if isinstance(value, list):
            return [dec(v) for v in value]
        if isinstance(value, tuple):
            return tuple(dec(v) for v in value)
        if isinstance(value, dict):
            if "__obj__" in value:
                return obj(int(value["__obj__"]))
            if "__deque__" in value:
                return deque((dec(v) for v in value["__deque__"]), maxlen=value["maxlen"])
            if "__ndarray__" in value:
                arr = np.frombuffer(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
                return arr[()] if value["scalar"] else arr
            return {k: dec(v) for k, v in value.items()}
        return value

    return dec(blob["root"])
