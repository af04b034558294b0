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

from zoo.sources import CACHED, LOCAL, MISSING, NETWORK, Location, Source, register_source


def tfhub_cache() -> Path:
    return Path(os.environ.get("TFHUB_CACHE_DIR") or Path(tempfile.gettempdir()) / "tfhub_modules")


@register_source
class TFHub(Source):
    prefix = "tfhub"
    framework = "tensorflow"
    description = "TF Hub / Kaggle Models SavedModels via tensorflow_hub.load, or a local folder"
    tasks = ("image-classifier",)

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        if not name.startswith(("http://", "https://")):
            folder = Path(name).expanduser()
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
