"""The `keras-hub:` loader (zoo/sources/keras_hub.py): keras-hub presets on TensorFlow, text
encoders (Backbone) and image classifiers (ImageClassifier), incl. HF checkpoints that
keras-hub converts on load."""

from __future__ import annotations

from typing import Any

import numpy as np

from parity.child.capture import keras_layer_outputs, zero_padding
from parity.child.loaders import (
    LoadedModel,
    fetch_failed,
    keras_classifier,
    library,
    pretrained_only,
    register_loader,
    unavailable,
    unknown_architecture,
)
from parity.child.loaders.hf import weight_files_bytes
from zoo.sources import Location

# keras-hub's names for the canonical text-encoder inputs (DistilBERT has no segment ids).
TEXT_INPUTS = {
    "input_ids": "token_ids",
    "token_type_ids": "segment_ids",
    "attention_mask": "padding_mask",
}
REQUIRED = ("token_ids", "padding_mask")


def from_preset(model_class, location: Location):
    """model_class.from_preset on the location. A bare name must be one of keras-hub's own
    presets (hf://, kaggle:// and folders are not checked here: their loader says)."""
    preset = location.path or location.hub_id
    if location.path is None and "://" not in preset and preset not in model_class.presets:
        raise unknown_architecture(
            location, preset, model_class.presets, f"keras_hub {model_class.__name__} presets"
        )
    try:
        return model_class.from_preset(preset)
    except Exception as error:  # kagglehub and huggingface_hub fail with OSErrors underneath
        if location.path is None and fetch_failed(error):
            raise unavailable(location, error) from error
        raise


@register_loader("keras-hub")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    pretrained_only("keras-hub", weights)
    keras_hub = library(location, "keras_hub", "keras-hub")

    if task == "image-classifier":
        classifier = from_preset(keras_hub.models.ImageClassifier, location)
        # Called directly, the task model skips its preprocessor: the pair's recipe has
        # already made the tensors both sides get.
        return keras_classifier(
            classifier,
            weights_bytes=weight_files_bytes(location.path),
            details={"class": type(classifier).__name__},
        )
    backbone = from_preset(keras_hub.models.Backbone, location)
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
