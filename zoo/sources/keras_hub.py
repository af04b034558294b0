"""`keras-hub:` keras-hub presets, TensorFlow side (Keras 3 with KERAS_BACKEND=tensorflow).

keras-hub:hf://sentence-transformers/all-MiniLM-L6-v2   HF checkpoint, converted on load
keras-hub:kaggle://keras/bert/keras/bert_base_en/2     a Kaggle Models preset (version optional)
keras-hub:/path/to/folder                              a preset or HF folder on disk
keras-hub:bert_base_en                                 a preset keras-hub names itself
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import HandleError
from zoo.sources import (
    CACHED,
    LOCAL,
    MISSING,
    NETWORK,
    LoadedModel,
    Location,
    Source,
    keras_classifier,
    pretrained_only,
    register_source,
    unavailable,
    user_path,
)
from zoo.sources.hf import locate_hf, weight_files_bytes

# keras-hub's names for the canonical text-encoder inputs (DistilBERT has no segment ids).
TEXT_INPUTS = {
    "input_ids": "token_ids",
    "token_type_ids": "segment_ids",
    "attention_mask": "padding_mask",
}
REQUIRED = ("token_ids", "padding_mask")


def kagglehub_cache() -> Path:
    """Where kagglehub keeps downloads (its KAGGLEHUB_CACHE, else ~/.cache/kagglehub)."""
    return Path(os.environ.get("KAGGLEHUB_CACHE") or Path.home() / ".cache" / "kagglehub")


def locate_kaggle(handle: str, spec: str) -> Location:
    """A Kaggle Models handle OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION] in kagglehub's cache:
    models/OWNER/MODEL/FRAMEWORK/VARIATION/VERSION, complete when VERSION.complete exists
    beside it. Without a version, the newest cached one (online, a newer one may exist)."""
    parts = spec.strip("/").split("/")
    if len(parts) not in (4, 5) or not all(parts):
        raise HandleError(
            f"{handle}: a Kaggle handle is kaggle://OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION], "
            "e.g. kaggle://keras/bert/keras/bert_base_en/2"
        )
    variation = kagglehub_cache().joinpath("models", *parts[:4])
    cached = sorted(
        (int(marker.name.split(".")[0]) for marker in variation.glob("*.complete")),
        reverse=True,
    )
    wanted = [int(parts[4])] if len(parts) == 5 and parts[4].isdigit() else cached[:1]
    found = [v for v in wanted if v in cached and (variation / str(v)).is_dir()]
    if found:
        note = "" if len(parts) == 5 else f"newest cached version, {found[0]}"
        return Location(handle, CACHED, path=str(variation / str(found[0])), note=note)
    return Location(
        handle,
        NETWORK,
        hub_id=f"kaggle://{spec}",
        note=f"needs Kaggle Models (or kagglehub's cache at {variation}, set by KAGGLEHUB_CACHE)",
    )


@register_source
class KerasHub(Source):
    prefix = "keras-hub"
    framework = "tensorflow"
    description = "keras-hub presets (Keras 3 on TensorFlow), incl. conversion of HF checkpoints"
    tasks = ("text-encoder", "image-classifier")
    names_library = "keras-hub"

    def listed_name(self, name: str) -> tuple[str, None] | None:
        """A bare name is one of keras-hub's built-in presets; hf://, kaggle://, paths are not."""
        if "://" in name or name.startswith(("/", ".", "~")):
            return None
        return name, None

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        if name.startswith("hf://"):
            found = locate_hf(handle, name[len("hf://") :])
            # keras-hub reads a hub id as hf://ID, so keep that form for the download case.
            return found if found.path else Location(handle, NETWORK, hub_id=name, note=found.note)
        if name.startswith("kaggle://"):
            return locate_kaggle(handle, name[len("kaggle://") :])
        path = user_path(name)
        if name.startswith(("/", ".", "~")):
            if path.exists():
                return Location(handle, LOCAL, path=str(path.resolve()))
            return Location(handle, MISSING, path=str(path), note=f"no such folder: {path}")
        return Location(
            handle,
            NETWORK,
            hub_id=name,
            note="needs Kaggle Models (or its cache, set by KAGGLEHUB_CACHE)",
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
        import keras_hub

        if task == "image-classifier":
            return self._image_classifier(keras_hub, location)
        try:
            backbone = keras_hub.models.Backbone.from_preset(location.path or location.hub_id)
        except (OSError, ValueError) as error:
            if location.path is None:
                raise unavailable(location, error) from error
            raise
        missing = [name for name in REQUIRED if name not in backbone.input]
        if missing:
            raise ValueError(
                f"{location.handle} loaded a {type(backbone).__name__}, which is not a text "
                f"encoder: it lacks inputs {missing}"
            )
        used = {ours: theirs for ours, theirs in TEXT_INPUTS.items() if theirs in backbone.input}

        def forward(inputs: dict[str, Any]):
            outputs = backbone({theirs: inputs[ours] for ours, theirs in used.items()})
            # BERT returns a dict with a pooled output too; DistilBERT the sequence alone.
            return outputs["sequence_output"] if isinstance(outputs, dict) else outputs

        def capture(inputs: dict[str, Any], names: list[str]):
            from parity.child.capture import keras_layer_outputs, zero_padding

            theirs = {theirs: inputs[ours] for ours, theirs in used.items()}
            found = keras_layer_outputs(backbone, theirs, names)
            # Real tokens only, as the PyTorch side's capture does.
            return zero_padding(found, np.asarray(inputs["attention_mask"]))

        return LoadedModel(
            forward=forward,
            parameters=int(backbone.count_params()),
            input_dtypes={name: "int32" for name in used},
            weights_bytes=weight_files_bytes(location.path),
            dtype=str(backbone.dtype_policy.compute_dtype),
            details={"class": type(backbone).__name__},
            capture=capture,
        )

    def _image_classifier(self, keras_hub, location: Location) -> LoadedModel:
        try:
            classifier = keras_hub.models.ImageClassifier.from_preset(
                location.path or location.hub_id
            )
        except (OSError, ValueError) as error:
            if location.path is None:
                raise unavailable(location, error) from error
            raise

        # Called directly, the task model skips its preprocessor: the pair's recipe has
        # already made the tensors both sides get.
        return keras_classifier(
            classifier,
            weights_bytes=weight_files_bytes(location.path),
            details={"class": type(classifier).__name__},
        )
