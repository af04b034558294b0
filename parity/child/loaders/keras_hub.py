"""The `keras-hub:` loader (zoo/sources/keras_hub.py): keras-hub presets on TensorFlow, text
encoders (Backbone) and image classifiers (ImageClassifier), incl. HF checkpoints that
keras-hub converts on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from parity.child.capture import (
    keras_conversion_outputs,
    keras_layer_outputs,
    recording_conversion,
    remember_conversion,
    zero_padding,
)
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
from zoo.layer_maps import MODEL_LOGITS
from zoo.sources import Location

# keras-hub's names for the canonical text-encoder inputs (DistilBERT has no segment ids).
TEXT_INPUTS = {
    "input_ids": "token_ids",
    "token_type_ids": "segment_ids",
    "attention_mask": "padding_mask",
}
REQUIRED = ("token_ids", "padding_mask")


def from_preset(model_class, location: Location, **kwargs):
    """model_class.from_preset on the location. A bare name must be one of keras-hub's own
    presets (hf://, kaggle:// and folders are not checked here: their loader says)."""
    preset = location.path or location.hub_id
    if location.path is None and "://" not in preset and preset not in model_class.presets:
        raise unknown_architecture(
            location, preset, model_class.presets, f"keras_hub {model_class.__name__} presets"
        )
    try:
        # What the conversion fills from which checkpoint tensor, for an automatic layer map
        with recording_conversion() as filled:
            model = model_class.from_preset(preset, **kwargs)
        remember_conversion(model, filled)
        return model
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
    if task == "text-generation":
        return causal_lm(keras_hub, location)
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

    def capture(inputs: dict[str, Any], names: list[str] | None):
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


def checkpoint_context(folder: str | None) -> int | None:
    """The longest sequence a Hugging Face checkpoint's config.json allows, if it says."""
    path = Path(folder or "") / "config.json"
    if not folder or not path.is_file():
        return None
    config = json.loads(path.read_text())
    return config.get("max_position_embeddings") or config.get("n_positions")


class KerasDecoder:
    """keras-hub's own decoding, as CausalLM.generate runs it, called eagerly, at any batch
    size: _build_cache runs the whole buffer (prompt, then room for the new tokens) to seed
    the cache, then call_with_cache runs the prompt's last token (the sampler's first
    step) and each new token at its index. The cache is one tensor for every layer's keys
    and values, with room for all `total` positions from the start."""

    def __init__(self, model, context: int | None):
        import keras

        self.model, self.ops = model, keras.ops
        self.context = context or getattr(model.backbone, "max_sequence_length", None)

    def in_mode(self, mode: str, width: int, total: int, batch: int = 1):
        if mode == "eager":
            return self
        if mode in ("function", "xla"):
            return CompiledKerasDecoder(self, width, total, mode == "xla", batch)
        raise ValueError(
            f"a causal LM's decoding runs in eager, function or xla mode on TensorFlow, "
            f"not {mode!r}"
        )

    def logits(self, ids):
        ids = np.asarray(ids, dtype=np.int32).reshape(1, -1)
        found = self.model({"token_ids": ids, "padding_mask": np.ones_like(ids, dtype=bool)})
        return np.asarray(self.ops.convert_to_numpy(found), dtype=np.float32)[0]

    def prefill(self, ids, total):
        buffer = np.zeros((len(ids), total), dtype=np.int32)
        buffer[:, : ids.shape[1]] = ids
        _, cache = self.model._build_cache(self.ops.convert_to_tensor(buffer))
        return self.step(ids[:, -1], ids.shape[1] - 1, cache)

    def step(self, tokens, position, state):
        token_ids = self.ops.convert_to_tensor(np.reshape(tokens, (-1, 1)).astype(np.int32))
        logits, _, cache = self.model.call_with_cache(token_ids, state, position)
        return np.asarray(self.ops.convert_to_numpy(logits), dtype=np.float32)[:, -1], cache

    def cache_bytes(self, state) -> int:
        return keras_cache_bytes(state)


def keras_cache_bytes(cache) -> int:
    """The bytes of keras-hub's cache tensor (batch, layers, 2, positions, heads, head
    size for its decoders): its shape times its dtype's size, without copying it."""
    import keras

    shape = tuple(cache.shape)
    if not shape or any(size is None for size in shape):
        raise ValueError(f"the cache's shape {shape} is not fully known")
    itemsize = np.dtype(keras.backend.standardize_dtype(cache.dtype)).itemsize
    return int(np.prod(shape)) * itemsize


class CompiledKerasDecoder:
    """The same decoding as tf.functions with fixed input signatures, XLA-compiled when
    jit_compile (what keras-hub's generate does with its whole generate step, which it
    compiles with `jit_compile` from the model, True by default). Compiled here in two
    parts, the prefill (_build_cache over the buffer, then the prompt's last token) and
    the one-token step, so time to first token and decoding are timed apart; the full
    forward over a prompt right-padded to `width` is a third (evaluation, batch 1). The
    prefill and step signatures hold `batch` rows. Indices are tensors, so nothing
    retraces."""

    def __init__(
        self, eager: KerasDecoder, width: int, total: int, jit_compile: bool, batch: int = 1
    ):
        import tensorflow as tf

        model, self.tf, self.context = eager.model, tf, eager.context
        self.width, self.total, self.batch = width, total, batch
        int32 = tf.int32

        def forward(token_ids, padding_mask):
            return model({"token_ids": token_ids, "padding_mask": padding_mask})

        def prefill(buffer, last_token, last_index):
            _, cache = model._build_cache(buffer)
            logits, _, cache = model.call_with_cache(last_token, cache, last_index)
            return logits[:, -1], cache

        def step(token, cache, index):
            logits, _, cache = model.call_with_cache(token, cache, index)
            return logits[:, -1], cache

        self._token, self._index = tf.TensorSpec((batch, 1), int32), tf.TensorSpec((), int32)
        self._forward = tf.function(
            forward,
            input_signature=[tf.TensorSpec((1, width), int32), tf.TensorSpec((1, width), tf.bool)],
            jit_compile=jit_compile,
        )
        self._prefill = tf.function(
            prefill,
            input_signature=[tf.TensorSpec((batch, total), int32), self._token, self._index],
            jit_compile=jit_compile,
        )
        self._step_fn, self._jit_compile, self._step = step, jit_compile, None

    def _step_for(self, cache):
        """The step's tf.function, its signature taken from the first cache the prefill
        returned (its shape and dtype are the model's): made at the first step, so its
        tracing falls in the first generation, with the prefill's."""
        if self._step is None:
            tf = self.tf
            self._step = tf.function(
                self._step_fn,
                input_signature=[self._token, tf.TensorSpec(cache.shape, cache.dtype), self._index],
                jit_compile=self._jit_compile,
            )
        return self._step

    def logits(self, ids):
        buffer = np.zeros((1, self.width), dtype=np.int32)
        buffer[0, : len(ids)] = ids
        found = self._forward(buffer, _mask(len(ids), self.width))
        return np.asarray(found, dtype=np.float32)[0, : len(ids)]

    def prefill(self, ids, total):
        buffer = np.zeros((len(ids), self.total), dtype=np.int32)
        buffer[:, : ids.shape[1]] = ids
        last = ids[:, -1:].astype(np.int32)
        logits, cache = self._prefill(buffer, last, np.int32(ids.shape[1] - 1))
        return logits.numpy(), cache

    def step(self, tokens, position, state):
        token_ids = np.reshape(tokens, (-1, 1)).astype(np.int32)
        logits, cache = self._step_for(state)(token_ids, state, np.int32(position))
        return logits.numpy(), cache

    def cache_bytes(self, state) -> int:
        return keras_cache_bytes(state)


def _mask(length: int, width: int) -> np.ndarray:
    """The padding mask of a prompt of `length` tokens right-padded to `width`."""
    return (np.arange(width) < length).reshape(1, width)


def causal_lm(keras_hub, location: Location) -> LoadedModel:
    # No preprocessor: both sides take the parent's token ids, so keras-hub's tokenizer
    # (and the files it would need) stays out of the comparison.
    model = from_preset(keras_hub.models.CausalLM, location, preprocessor=None)
    decoder = KerasDecoder(model, checkpoint_context(location.path))

    def forward(inputs: dict[str, Any]):
        return model(inputs)

    def capture(inputs: dict[str, Any], names: list[str] | None):
        """As the PyTorch side's: a full forward over the first prompts, with their padding
        mask, no cache; an automatic capture keeps the logits too."""
        feed = {"token_ids": inputs["input_ids"], "padding_mask": inputs["attention_mask"]}
        if names is None:
            found = keras_conversion_outputs(model, feed, output_name=MODEL_LOGITS)
        else:
            found = keras_layer_outputs(model, feed, names)
        return zero_padding(found, np.asarray(inputs["attention_mask"]))  # real tokens only

    return LoadedModel(
        forward=forward,
        parameters=int(model.count_params()),
        input_dtypes={"input_ids": "int32", "attention_mask": "int32"},
        weights_bytes=weight_files_bytes(location.path),
        dtype=str(model.dtype_policy.compute_dtype),
        details={"class": type(model).__name__, "context": decoder.context},
        capture=capture,
        decoder=decoder,
    )
