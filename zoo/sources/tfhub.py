"""`tfhub:` TF Hub / Kaggle Models SavedModels, TensorFlow side, through tensorflow_hub.load
(loader: parity/child/loaders/tfhub.py).

    tfhub:https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5
    tfhub:https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/100-224-classification/2
    tfhub:/path/to/saved_model_folder

Downloads are cached where tensorflow_hub caches them (TFHUB_CACHE_DIR, else
<tmp>/tfhub_modules, one folder per sha1 of the handle). TF Hub's ImageNet classifiers
have 1001 outputs with background at 0: the catalog says so (Side.classes) and the
checks align them. Its load options (`signature`, `output_key`) are the loader's.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from parity.errors import HandleError, closest
from zoo.sources import (
    CACHED,
    LOCAL,
    MISSING,
    NETWORK,
    Location,
    Source,
    register_source,
    user_path,
)

# Where TF Hub models are published; a host one or two letters off one of these is a typo.
HUB_HOSTS = ("tfhub.dev", "www.kaggle.com", "kaggle.com", "storage.googleapis.com")


def tfhub_cache() -> Path:
    return Path(os.environ.get("TFHUB_CACHE_DIR") or Path(tempfile.gettempdir()) / "tfhub_modules")


def check_url(handle: str, name: str) -> None:
    """Typos the parent can see offline: a scheme other than http(s), a misspelt hub host.
    A well-formed URL that is not cached merely needs the network."""
    if "://" in name and not name.startswith(("http://", "https://")):
        raise HandleError(
            f"{handle}: tfhub: takes an https:// URL or a SavedModel folder, "
            f"not a {name.split('://')[0]}:// address"
        )
    try:
        host = (urlsplit(name).hostname or "") if "://" in name else None
    except ValueError as error:  # a malformed address, e.g. an unclosed [ of an IPv6 host
        raise HandleError(f"{handle}: not a valid URL ({error}); check its spelling") from None
    near = closest(host, HUB_HOSTS, n=1, cutoff=0.85) if host else []
    if near and host not in HUB_HOSTS:
        raise HandleError(f"{handle}: unknown host {host!r}; did you mean {near[0]!r}?")


@register_source
class TFHub(Source):
    prefix = "tfhub"
    framework = "tensorflow"
    description = "TF Hub / Kaggle Models SavedModels via tensorflow_hub.load, or a local folder"
    tasks = ("image-classifier",)

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        check_url(handle, name)
        if not name.startswith(("http://", "https://")):
            folder = user_path(name)
            if (folder / "saved_model.pb").is_file():
                return Location(handle, LOCAL, path=str(folder.resolve()))
            return Location(
                handle,
                MISSING,
                path=str(folder),
                note=f"{folder} is not a SavedModel folder (no saved_model.pb)",
            )
        cached = tfhub_cache() / hashlib.sha1(name.encode("utf8")).hexdigest()
        if (cached / "saved_model.pb").is_file():
            return Location(handle, CACHED, path=str(cached), hub_id=name)
        return Location(
            handle,
            NETWORK,
            hub_id=name,
            note=f"needs tfhub.dev / Kaggle (or its cache at {tfhub_cache()}, "
            "set by TFHUB_CACHE_DIR)",
        )
