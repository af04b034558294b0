"""`tfhub:` TF Hub / Kaggle Models SavedModels, TensorFlow side, through tensorflow_hub.load.

    tfhub:https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5
    tfhub:https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/100-224-classification/2
    tfhub:/path/to/saved_model_folder

Downloads are cached where tensorflow_hub caches them (TFHUB_CACHE_DIR, else
<tmp>/tfhub_modules, one folder per sha1 of the handle). TF Hub's ImageNet classifiers
have 1001 outputs with background at 0: the catalog says so (Side.classes) and the
checks align them. Options: `signature` and `output_key` pick a signature's output when
the SavedModel is not directly callable (a keras.Model.export() has serving_default).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from parity.errors import HandleError, closest
from zoo.sources import (
    CACHED,
    LOCAL,
    MISSING,
    NETWORK,
    LoadedModel,
    Location,
    Source,
    pretrained_only,
    register_source,
    unavailable,
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

    def load(
        self,
        location: Location,
        task: str,
        options: dict[str, Any],
        weights: str = "pretrained",
        seed: int = 0,
    ) -> LoadedModel:
        pretrained_only(self, weights)
        import numpy as np
        import tensorflow_hub as hub

        try:
            loaded = hub.load(location.path or location.hub_id)
        except Exception as error:  # resolver and download errors come in many types
            if location.path is None:
                raise unavailable(location, error) from error
            raise
        signature = options.get("signature")
        if signature is None and callable(loaded):
            call = loaded
            output_key = None
        else:
            signature = signature or "serving_default"
            if signature not in loaded.signatures:
                raise ValueError(
                    f"{location.handle} has no signature {signature!r}; it has "
                    f"{', '.join(loaded.signatures) or 'none'}"
                )
            call = loaded.signatures[signature]
            outputs = list(call.structured_outputs)
            output_key = options.get("output_key") or (outputs[0] if len(outputs) == 1 else None)
            if output_key is None:
                raise ValueError(
                    f"{location.handle}: signature {signature!r} has outputs "
                    f"{outputs}; choose one with the output_key load option"
                )

        def forward(inputs: dict[str, Any]):
            if output_key is None:
                return call(inputs["pixel_values"])
            (argument,) = call.structured_input_signature[1]
            return call(**{argument: inputs["pixel_values"]})[output_key]

        variables = getattr(loaded, "variables", [])
        return LoadedModel(
            forward=forward,
            parameters=int(sum(np.prod(v.shape) for v in variables)),
            weights_bytes=sum(
                f.stat().st_size for f in Path(location.path).rglob("*") if f.is_file()
            )
            if location.path
            else None,
            details={"signature": signature, "output_key": output_key},
        )
