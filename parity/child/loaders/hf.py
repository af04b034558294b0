"""The `hf:` loader (zoo/sources/hf.py): Hugging Face transformers models on PyTorch, from a
hub id or a save_pretrained folder, never running code a model folder ships."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np

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
    auto = {
        "image-classifier": transformers.AutoModelForImageClassification,
        "text-generation": transformers.AutoModelForCausalLM,
    }.get(task, transformers.AutoModel)
    target = location.path or location.hub_id
    if task == "text-generation":
        import torch

        # fp32 on both sides (docs/measurement.md rule 10): transformers loads a checkpoint
        # in the dtype it was stored in (LMs often bf16), keras-hub converts to float32.
        options = {"dtype": torch.float32, **options}
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

    def capture(inputs: dict[str, Any], layers: list[str] | None):
        found = torch_module_outputs(model, lambda: forward(inputs), layers)
        if "attention_mask" in inputs:  # text: compare real tokens only
            found = zero_padding(found, inputs["attention_mask"].cpu().numpy())
        return found

    if task == "text-generation":
        return causal_lm(model, location)
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


class TorchDecoder:
    """transformers' own decoding: a forward pass with use_cache, then one token at a time
    with its past_key_values (what model.generate does for greedy search), under
    inference_mode, at batch 1."""

    def __init__(self, model):
        import torch

        self.torch, self.model = torch, model
        config = model.config
        self.context = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )

    def _ids(self, ids):
        device = next(self.model.parameters()).device
        return self.torch.as_tensor(np.asarray(ids, dtype=np.int64).reshape(1, -1), device=device)

    def logits(self, ids):
        with self.torch.inference_mode():
            return self.model(input_ids=self._ids(ids)).logits[0].float().cpu().numpy()

    def prefill(self, ids, total):
        with self.torch.inference_mode():
            out = self.model(input_ids=self._ids(ids), use_cache=True, logits_to_keep=1)
        return out.logits[0, -1].float().cpu().numpy(), out.past_key_values

    def step(self, token, position, state):
        with self.torch.inference_mode():
            out = self.model(input_ids=self._ids([token]), past_key_values=state, use_cache=True)
        return out.logits[0, -1].float().cpu().numpy(), out.past_key_values


def causal_lm(model, location: Location) -> LoadedModel:
    decoder = TorchDecoder(model)

    def forward(inputs: dict[str, Any]):  # the modules the engine places on a device
        return model(input_ids=inputs["input_ids"]).logits

    return LoadedModel(
        forward=forward,
        parameters=sum(p.numel() for p in model.parameters()),
        input_dtypes={"input_ids": "int64"},
        weights_bytes=weight_files_bytes(location.path),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        details={
            "class": type(model).__name__,
            "context": decoder.context,
            "attention": getattr(model.config, "_attn_implementation", None),
        },
        decoder=decoder,
    )
