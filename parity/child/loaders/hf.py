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
from zoo.layer_maps import MODEL_LOGITS
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
    with its key-value cache (what model.generate does for greedy search), under
    inference_mode, at any batch size (its DynamicCache grows to fit)."""

    def __init__(self, model):
        import torch

        self.torch, self.model = torch, model
        config = model.config
        self.context = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )
        # transformers 5 names the cache argument `cache` (`past_key_values` before).
        accepted = inspect.signature(model.forward).parameters
        self.cache_name = "cache" if "cache" in accepted else "past_key_values"

    def in_mode(self, mode: str, width: int, total: int, batch: int = 1):
        if mode == "eager":
            return self
        if mode == "compile":
            return CompiledTorchDecoder(self, width, total, batch)
        raise ValueError(
            f"a causal LM's decoding runs in eager or compile mode on PyTorch, not {mode!r}"
        )

    def _ids(self, ids):
        """Token ids as a (rows, S) tensor on the model's device; one row from a 1-D array."""
        device = next(self.model.parameters()).device
        ids = np.asarray(ids, dtype=np.int64)
        return self.torch.as_tensor(ids.reshape(1, -1) if ids.ndim == 1 else ids, device=device)

    def _cache(self, out):
        return getattr(out, self.cache_name)

    def logits(self, ids):
        with self.torch.inference_mode():
            return self.model(input_ids=self._ids(ids)).logits[0].float().cpu().numpy()

    def prefill(self, ids, total):
        with self.torch.inference_mode():
            out = self.model(input_ids=self._ids(ids), use_cache=True, logits_to_keep=1)
        return out.logits[:, -1].float().cpu().numpy(), self._cache(out)

    def step(self, tokens, position, state):
        with self.torch.inference_mode():
            out = self.model(
                input_ids=self._ids(np.reshape(tokens, (-1, 1))),
                use_cache=True,
                **{self.cache_name: state},
            )
        return out.logits[:, -1].float().cpu().numpy(), self._cache(out)

    def cache_bytes(self, state) -> int:
        return torch_cache_bytes(state)


def torch_cache_bytes(cache) -> int:
    """The bytes of a transformers Cache's key and value tensors, layer by layer (a
    DynamicCache holds the positions decoded so far; a StaticCache all it has room for)."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise TypeError(f"a {type(cache).__name__} has no cache layers to read")
    tensors = [
        tensor
        for layer in layers
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None))
        if tensor is not None and hasattr(tensor, "element_size")
    ]
    if not tensors:
        raise ValueError(f"the {type(cache).__name__} holds no key or value tensors")
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


# Graphs one compiled causal LM may hold: the full forward, then a prefill and a step per
# batch size, for up to about fifteen batch sizes.
COMPILED_GRAPHS_LIMIT = 32


class CompiledTorchDecoder:
    """The same decoding under torch.compile (inductor, static shapes), with transformers'
    StaticCache, the cache its own generate compiles with, allocated for `batch` rows
    (the batch of the first input, in __init__). Every prompt is padded to `width` tokens
    and the cache holds `total` positions, so at most three graphs are compiled per batch
    size, once each: the full forward (evaluation, batch 1 only), the prefill and the
    one-token step. After the prefill the
    cache's length is moved back to the prompt's: the padding's keys and values lie beyond
    it, masked as the future, and each decode step overwrites one of them."""

    def __init__(self, eager: TorchDecoder, width: int, total: int, batch: int = 1):
        from transformers import StaticCache

        torch = eager.torch
        self.torch, self.model, self.context = torch, eager.model, eager.context
        self.width, self.total, self.cache_name = width, total, eager.cache_name
        self._ids = eager._ids
        # Each batch size adds its own prefill and step graphs of the one forward: past
        # dynamo's recompile limit (8, a fourth batch size) it would run the rest eagerly
        # without a word, timed as if compiled. So the limit is raised, and reaching it
        # fails the cell with dynamo's message instead.
        dynamo = torch._dynamo.config
        dynamo.recompile_limit = max(dynamo.recompile_limit, COMPILED_GRAPHS_LIMIT)
        dynamo.fail_on_recompile_limit_hit = True
        self.compiled = torch.compile(self.model, dynamic=False)
        self.cache = StaticCache(config=self.model.config, max_cache_len=total)
        # Allocate the cache's tensors eagerly, outside any compiled graph, so they keep
        # one address (transformers marks them static only outside compiling). They are
        # inference tensors: every in-place change to them (reset, crop) stays inside
        # inference_mode.
        with torch.inference_mode():
            first = self._padded(np.zeros((batch, 1), dtype=np.int64))
            self.model(input_ids=first, use_cache=True, **{self.cache_name: self.cache})
            self.cache.reset()

    def _padded(self, ids):
        """Token ids right-padded to `width`: (rows, width); one row from a 1-D array."""
        ids = np.atleast_2d(np.asarray(ids, dtype=np.int64))
        buffer = np.zeros((len(ids), self.width), dtype=np.int64)
        buffer[:, : ids.shape[1]] = ids
        return self._ids(buffer)

    def logits(self, ids):
        with self.torch.inference_mode():
            out = self.compiled(input_ids=self._padded(ids), use_cache=False)
        return out.logits[0, : len(ids)].float().cpu().numpy()

    def prefill(self, ids, total):
        device = next(self.model.parameters()).device
        length = np.shape(ids)[-1]
        last = self.torch.tensor([length - 1], device=device)  # a tensor: no recompiling
        with self.torch.inference_mode():
            self.cache.reset()
            out = self.compiled(
                input_ids=self._padded(ids),
                use_cache=True,
                logits_to_keep=last,
                **{self.cache_name: self.cache},
            )
            self.cache.crop(-(self.width - length))
        return out.logits[:, -1].float().cpu().numpy(), self.cache

    def step(self, tokens, position, state):
        with self.torch.inference_mode():
            out = self.compiled(
                input_ids=self._ids(np.reshape(tokens, (-1, 1))),
                use_cache=True,
                **{self.cache_name: state},
            )
        return out.logits[:, -1].float().cpu().numpy(), state

    def cache_bytes(self, state) -> int:
        return torch_cache_bytes(state)


def causal_lm(model, location: Location) -> LoadedModel:
    decoder = TorchDecoder(model)

    def forward(inputs: dict[str, Any]):  # the modules the engine places on a device
        return model(input_ids=inputs["input_ids"]).logits

    def capture(inputs: dict[str, Any], layers: list[str] | None):
        """A full forward over the first prompts, right-padded, with their attention mask
        and no cache; the logits kept as the curve's last point."""
        mask = inputs["attention_mask"]

        def run():
            return model(input_ids=inputs["input_ids"], attention_mask=mask, use_cache=False).logits

        found = torch_module_outputs(model, run, layers, output_name=MODEL_LOGITS)
        return zero_padding(found, mask.cpu().numpy())  # real tokens only

    return LoadedModel(
        forward=forward,
        parameters=sum(p.numel() for p in model.parameters()),
        input_dtypes={"input_ids": "int64", "attention_mask": "int64"},
        weights_bytes=weight_files_bytes(location.path),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        details={
            "class": type(model).__name__,
            "context": decoder.context,
            "attention": getattr(model.config, "_attn_implementation", None),
        },
        capture=capture,
        decoder=decoder,
    )
