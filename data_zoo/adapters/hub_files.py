"""Hub datasets whose pictures live in a zip next to the annotations (Geo170K, ViRL39K): fetched once when
online into a local folder in the published layout, which the adapter then reads like any local copy.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from data_zoo.example import DataError
from data_zoo.sources import download_hint, hub_offline

DATA_HOME = "UEC_VLM_DATA"


def release_dir(hub_id: str) -> Path:
    """Where `hub_release` keeps a repo: $UEC_VLM_DATA (default ~/.cache/uec_vlm/datasets)/owner__name."""
    return Path(os.environ.get(DATA_HOME, "~/.cache/uec_vlm/datasets")).expanduser() / hub_id.replace("/", "__")


def hub_release(hub_id: str, files: list[str], local_spec: str) -> Path:
    """A folder holding `files` of dataset repo `hub_id` with every zip among them unzipped in place.

    Downloads once (`.complete` marks a finished fetch); offline, or when the download fails, a DataError
    says what to download by hand and which spec reads it."""
    target = release_dir(hub_id)
    if (target / ".complete").is_file():
        return target
    hint = f"{download_hint(hub_id, local_spec)} (unzip its images.zip inside DIR first)"
    if hub_offline():
        raise DataError(f"cannot load {hub_id} from the Hugging Face Hub: offline mode is set (HF_HUB_OFFLINE); {hint}")
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(hub_id, repo_type="dataset", local_dir=target, allow_patterns=files)
        for archive in sorted(target.glob("*.zip")):
            with zipfile.ZipFile(archive) as z:
                z.extractall(target)
    except Exception as e:  # network, auth and disk errors all end the same way for the user
        raise DataError(f"cannot fetch {hub_id} into {target} ({type(e).__name__}: {e}); {hint}") from e
    (target / ".complete").write_text("\n".join(files) + "\n")
    return target
