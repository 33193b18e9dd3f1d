"""Fixture builders: small files in each upstream format, written fresh per test into tmp_path."""

import io
import json

import pytest
from PIL import Image


def png(colour=(255, 0, 0), size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path, colour=(255, 0, 0), size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png(colour, size))
    return path


def write_hf_parquet(path, columns: dict, features: dict):
    """A parquet file written by `datasets` itself, with its Image features."""
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(columns, features=datasets.Features(features)).to_parquet(str(path))
    return path


@pytest.fixture
def helpers():
    class H:
        pass

    h = H()
    h.png, h.write_png, h.write_hf_parquet = png, write_png, write_hf_parquet
    h.dump = lambda path, obj: (path.parent.mkdir(parents=True, exist_ok=True),
                                path.write_text(json.dumps(obj), encoding="utf-8"))[1]
    return h
