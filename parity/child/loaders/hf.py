"""The `hf:` loader (zoo/sources/hf.py): Hugging Face transformers models on PyTorch, from a
hub id or a save_pretrained folder, never running code a model folder ships."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from parity.child.capture import torch_module_outputs, zero_padding
from parity.child.loaders import (
    LoadedModel,
    library,
    nchw,
    pretrained_only,
    register_loader,
    unavailable,
)
from zoo.sources import Location
from zoo.sources.hf import refuse_remote_code


def weight_files_bytes(folder: str | None) -> int | None:
    if not folder:
        return None
    files = [p for p in Path(folder).iterdir() if p.suffix in (".safetensors", ".bin", ".h5")]
    return sum(p.stat().st_size for p in files) or None


@register_loader("hf")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    pretrained_only("hf", weights)
    transformers = library(location, "transformers", "transformers")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    refuse_remote_code(location.path, known_model_types=CONFIG_MAPPING_NAMES)
    auto = (
        transformers.AutoModelForImageClassification
        if task == "image-classifier"
        else transformers.AutoModel
    )
    target = location.path or location.hub_id
    try:
        # Config overrides (e.g. hidden_act) come from the pair's load options.
        model = auto.from_pretrained(
            target,
            trust_remote_code=False,
            local_files_only=location.path is not None,
            **options,
        )
    except OSError as error:  # transformers reports a hub it cannot reach as an OSError
        if location.path is None:
            raise unavailable(location, error) from error
        raise
    model.eval()

    def capture(inputs: dict[str, Any], layers: list[str]):
        found = torch_module_outputs(model, lambda: forward(inputs), layers)
        if "attention_mask" in inputs:  # text: compare real tokens only
            found = zero_padding(found, inputs["attention_mask"].cpu().numpy())
        return found

    if task == "image-classifier":

        def forward(inputs: dict[str, Any]):
            return model(pixel_values=inputs["pixel_values"]).logits

        return LoadedModel(
            forward=forward,
            parameters=sum(p.numel() for p in model.parameters()),
            weights_bytes=weight_files_bytes(location.path),
            dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
            details={"class": type(model).__name__},
            adapt_inputs=nchw,
            capture=capture,
        )
    # DistilBERT and others take no token types: pass only what forward() accepts.
    accepted = inspect.signature(model.forward).parameters
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]

    def forward(inputs: dict[str, Any]):
        return model(**{name: inputs[name] for name in names}).last_hidden_state

    config = model.config
    return LoadedModel(
        forward=forward,
        parameters=sum(p.numel() for p in model.parameters()),
        input_dtypes={name: "int64" for name in names},
        weights_bytes=weight_files_bytes(location.path),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        details={
            "class": type(model).__name__,
            "inputs": names,
            "activation": getattr(config, "hidden_act", getattr(config, "activation", None)),
        },
        capture=capture,
    )
