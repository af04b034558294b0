"""The child half of the conversion-fidelity sweep (parity/run/sweep.py; rows in
zoo/conversions.py). Each side runs in its own process, one framework each:

    python -m parity.child.conversions torch SPEC.json   # write the checkpoint, run it
    python -m parity.child.conversions keras SPEC.json   # keras-hub from_preset(folder), run it

The torch side writes a seeded checkpoint with the PyTorch library's own saver
(timm.models.save_for_hf, transformers' save_pretrained), draws the inputs, and writes
inputs and outputs to SPEC["io"] (.npz); with SPEC["confirm"] it also runs the model with
that diagnostic change (outputs "confirm/NAME"). The keras side loads the folder through
keras-hub's conversion, runs the same inputs and writes its outputs to SPEC["out"]. With
SPEC["phase"] == "capture", either side instead captures every candidate layer's output
for an automatic layer map (parity/child/capture.py) to SPEC["capture"]["path"]. Any
failure is a traceback on stderr; its last line is the row's load error.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from parity.child.capture import (
    keras_layer_outputs,
    recording_conversion,
    remember_conversion,
    torch_module_outputs,
)
from parity.child.seeding import randomize_norms
from zoo.conversions import (
    BACKBONE,
    CAUSAL_LM,
    CLASSIFIER,
    IMAGE_ENCODER,
    PRETRAINING,
    REDUCED_SIZES,
    ROUND_WEIGHTS,
    SEQ2SEQ,
    SEQUENCE_LENGTH,
    TIMM,
    TIMM_IMAGE_SIZE,
    ZERO_WEIGHTS,
)

USAGE = "usage: python -m parity.child.conversions {torch|keras} SPEC.json"
BATCH = 2
FIRST_TOKEN_ID = 3  # token ids drawn from here up: 0-2 are special tokens in most vocabularies
ERROR_CHARS = 400  # a load error's line in the table


# --- PyTorch side -------------------------------------------------------------------------


def randomize_parameters(model) -> None:
    """Random biases and norm scales, and linear layers at unit gain.

    Freshly built models zero every bias and set every LayerNorm / RMSNorm scale to one (or
    zero, where the norm scales by 1 + w), so a converter that dropped them, or mixed them
    up, would still agree. Hugging Face initialises linear layers with std 0.02, which at
    width 64 leaves pre-activations near 0.1, where tanh and exact GELU (and most other
    activation variants) agree to 1e-7: std 1/sqrt(fan_in) gives them a trained network's
    unit scale."""
    import torch

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, module.in_features**-0.5)
            norm = "norm" in type(module).__name__.lower()
            for name, parameter in module.named_parameters(recurse=False):
                if name == "bias":
                    parameter.normal_(0.0, 0.1)
                elif norm and name == "weight" and parameter.ndim == 1:
                    parameter.uniform_(0.5, 1.5)


def hf_config(model_type: str, settings: dict[str, Any]):
    """The model type's config class with its size fields reduced, then the row's settings."""
    from transformers import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        raise ValueError(f"transformers has no model type {model_type!r}")
    config_class = CONFIG_MAPPING[model_type]
    defaults = config_class().to_dict()
    reduced = {k: v for k, v in REDUCED_SIZES.items() if k in defaults}
    # Special tokens must lie inside the reduced vocabulary (an embedding's padding_idx must)
    vocab = settings.get("vocab_size", reduced.get("vocab_size"))
    for offset, key in enumerate(("pad_token_id", "bos_token_id", "eos_token_id")):
        if isinstance(defaults.get(key), int) and vocab and defaults[key] >= vocab:
            reduced[key] = offset
    return config_class(**{**reduced, **settings})


class PreTrainingOrMaskedLM:
    """AutoModelForPreTraining where the model type has one (BERT's keeps its pooler, which
    keras-hub's converter reads), else AutoModelForMaskedLM."""

    @staticmethod
    def _auto(config):
        import transformers

        try:
            transformers.AutoModelForPreTraining._model_mapping[type(config)]
            return transformers.AutoModelForPreTraining
        except KeyError:
            return transformers.AutoModelForMaskedLM

    @classmethod
    def from_config(cls, config):
        return cls._auto(config).from_config(config)

    @classmethod
    def from_pretrained(cls, folder, **kwargs):
        from transformers import AutoConfig

        config = kwargs.get("config") or AutoConfig.from_pretrained(folder)
        return cls._auto(config).from_pretrained(folder, **kwargs)


def hf_model_class(head: str):
    import transformers

    return {
        CLASSIFIER: transformers.AutoModelForImageClassification,
        BACKBONE: transformers.AutoModel,
        PRETRAINING: PreTrainingOrMaskedLM,
        IMAGE_ENCODER: transformers.AutoModelForImageClassification,
        CAUSAL_LM: transformers.AutoModelForCausalLM,
        SEQ2SEQ: transformers.AutoModel,
    }[head]


def draw_inputs(spec: dict, config) -> dict[str, np.ndarray]:
    """Batch BATCH of seeded inputs: NHWC images, or token ids with a full mask."""
    rng = np.random.default_rng(spec["seed"])
    if spec["kind"] == TIMM or spec["head"] == CLASSIFIER or _is_vision(config):
        size = TIMM_IMAGE_SIZE if spec["kind"] == TIMM else int(config.image_size)
        return {"images": rng.standard_normal((BATCH, size, size, 3)).astype(np.float32)}
    vocab = int(config.vocab_size)
    ids = rng.integers(FIRST_TOKEN_ID, vocab, (BATCH, SEQUENCE_LENGTH)).astype(np.int32)
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


def _is_vision(config) -> bool:
    return config is not None and hasattr(config, "image_size") and hasattr(config, "num_channels")


def torch_outputs(spec: dict, model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outputs this row compares, as float32 numpy (images' outputs need no transpose:
    logits and token sequences have no channel axis)."""
    import torch

    def numpy(tensor) -> np.ndarray:
        return tensor.detach().float().cpu().numpy()

    with torch.inference_mode():
        if "images" in inputs:
            pixels = torch.from_numpy(inputs["images"].transpose(0, 3, 1, 2).copy())
            if spec["kind"] == TIMM:
                return {"logits": numpy(model(pixels))}
            if spec["head"] == CLASSIFIER:
                return {"logits": numpy(model(pixel_values=pixels).logits)}
            encoder = model.base_model if spec["head"] == IMAGE_ENCODER else model
            return {"sequence": numpy(encoder(pixel_values=pixels).last_hidden_state)}
        ids = torch.from_numpy(inputs["token_ids"].astype(np.int64))
        mask = torch.from_numpy(inputs["padding_mask"].astype(np.int64))
        if spec["head"] == CAUSAL_LM:
            hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = model(input_ids=ids, attention_mask=mask).logits
            return {"hidden": numpy(hidden), "logits": numpy(logits)}
        if spec["head"] == SEQ2SEQ:
            found = model(
                input_ids=ids,
                attention_mask=mask,
                decoder_input_ids=ids,
                decoder_attention_mask=mask,
            )
            return {
                "encoder": numpy(found.encoder_last_hidden_state),
                "decoder": numpy(found.last_hidden_state),
            }
        encoder = model.base_model if spec["head"] == PRETRAINING else model
        return {"sequence": numpy(encoder(input_ids=ids, attention_mask=mask).last_hidden_state)}


def build_timm(arch: str, settings: dict[str, Any]):
    import timm

    if not timm.is_model(arch):
        raise ValueError(f"timm has no architecture {arch!r} (timm.list_models() lists them)")
    model = timm.create_model(arch, pretrained=False, **settings)
    randomize_parameters(model)
    randomize_norms(model, TIMM_IMAGE_SIZE)  # BatchNorms: scales, shifts, measured statistics
    return model.eval()


def load_timm(arch: str, folder: Path):
    import timm
    from safetensors.torch import load_file

    model = timm.create_model(arch, pretrained=False)
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    return model.eval()


def confirm_model(spec: dict, model, folder: Path):
    """The model with the row's diagnostic change: TF-style padding of named modules (timm,
    as the timm loader's tf_same_padding option does); for hf, config fields, named
    weights zeroed (ZERO_WEIGHTS) and every weight rounded through a dtype (ROUND_WEIGHTS),
    as a converter that drops or rounds them does."""
    if spec["kind"] == TIMM:
        from parity.child.loaders.timm import TF_SAME_PADDING, pad_like_tf_same

        changes = dict(spec["confirm"])
        changed = copy.deepcopy(model)
        pad_like_tf_same(changed, list(changes.pop(TF_SAME_PADDING)))
        if changes:
            raise ValueError(f"unknown timm diagnostic changes: {sorted(changes)}")
        return changed.eval()
    import torch
    from transformers import AutoConfig

    changes = dict(spec["confirm"])
    zeroed, rounded = changes.pop(ZERO_WEIGHTS, ()), changes.pop(ROUND_WEIGHTS, None)
    config = AutoConfig.from_pretrained(folder)
    for key, value in changes.items():
        setattr(config, key, value)
    changed = hf_model_class(spec["head"]).from_pretrained(folder, config=config).eval()
    with torch.no_grad():
        for name in zeroed:
            changed.get_parameter(name).zero_()
        if rounded:
            for parameter in changed.parameters():
                parameter.copy_(parameter.to(getattr(torch, rounded)).float())
    return changed


def torch_side(spec: dict) -> None:
    import torch

    torch.manual_seed(spec["seed"])
    folder = Path(spec["folder"])
    if spec.get("phase") == "capture":
        model = (
            load_timm(spec["name"], folder)
            if spec["kind"] == TIMM
            else hf_model_class(spec["head"]).from_pretrained(folder).eval()
        )
        with np.load(spec["io"]) as io:
            inputs = {k.split("/", 1)[1]: io[k] for k in io.files if k.startswith("input/")}
        # Every module of the whole saved model (its state-dict keys are the checkpoint's),
        # with the record an automatic layer map needs.
        captured = torch_module_outputs(model, lambda: torch_outputs(spec, model, inputs), None)
        np.savez(spec["capture"]["path"], **captured)
        return
    config = None
    if spec["kind"] == TIMM:
        model = build_timm(spec["name"], spec["settings"])
    else:
        config = hf_config(spec["name"], spec["settings"])
        model = hf_model_class(spec["head"]).from_config(config)
        randomize_parameters(model)
        model.eval()
    inputs = draw_inputs(spec, config)
    arrays = {f"input/{k}": v for k, v in inputs.items()}
    arrays.update({f"output/{k}": v for k, v in torch_outputs(spec, model, inputs).items()})
    if spec["kind"] == TIMM:
        import timm

        timm.models.save_for_hf(model, str(folder), safe_serialization=True)
    else:
        model.save_pretrained(str(folder), safe_serialization=True)
    if spec.get("confirm"):
        changed = confirm_model(spec, model, folder)
        for k, v in torch_outputs(spec, changed, inputs).items():
            arrays[f"confirm/{k}"] = v
    np.savez(spec["io"], **arrays)


# --- Keras side ---------------------------------------------------------------------------

# keras-hub input names -> the torch side's input they take
TOKEN_INPUTS = ("token_ids", "encoder_token_ids", "decoder_token_ids")
MASK_INPUTS = ("padding_mask", "encoder_padding_mask", "decoder_padding_mask")
# keras-hub output names -> the name the torch side compares them under
SEQUENCE_OUTPUTS = {
    "sequence_output": "sequence",
    "encoder_sequence_output": "encoder",
    "decoder_sequence_output": "decoder",
}


def keras_feed(backbone, inputs: dict[str, np.ndarray]):
    """The inputs in the structure the backbone was built with."""
    if "images" in inputs:
        return inputs["images"]
    wanted = backbone.input
    if not isinstance(wanted, dict):
        raise ValueError(f"{type(backbone).__name__} takes one input; the sweep has token ids")
    feed = {}
    for name in wanted:
        if name in TOKEN_INPUTS:
            feed[name] = inputs["token_ids"]
        elif name in MASK_INPUTS:
            feed[name] = inputs["padding_mask"]
        elif name == "segment_ids":
            feed[name] = np.zeros_like(inputs["token_ids"])
        else:
            raise ValueError(f"{type(backbone).__name__} takes an input {name!r} the sweep lacks")
    return feed


def keras_outputs(found, expected: list[str]) -> dict[str, np.ndarray]:
    if not isinstance(found, dict):
        return {expected[0]: np.asarray(found, dtype=np.float32)}
    renamed = {SEQUENCE_OUTPUTS[k]: v for k, v in found.items() if k in SEQUENCE_OUTPUTS}
    missing = [name for name in expected if name not in renamed]
    if missing:
        raise ValueError(f"backbone outputs {sorted(found)} hold no {missing}")
    return {name: np.asarray(renamed[name], dtype=np.float32) for name in expected}


def keras_model(spec: dict, folder: str):
    """The keras-hub model this row compares, loaded through the conversion."""
    import keras_hub

    if spec["head"] == CLASSIFIER:
        return keras_hub.models.ImageClassifier.from_preset(folder, preprocessor=None)
    if spec["head"] == CAUSAL_LM:
        return keras_hub.models.CausalLM.from_preset(folder, preprocessor=None)
    return keras_hub.models.Backbone.from_preset(folder)


def keras_side(spec: dict) -> None:
    folder = spec["folder"]
    with np.load(spec["io"]) as io:
        inputs = {k.split("/", 1)[1]: io[k] for k in io.files if k.startswith("input/")}
        expected = [k.split("/", 1)[1] for k in io.files if k.startswith("output/")]
    capturing = spec.get("phase") == "capture"
    # The capture child records which checkpoint tensor fills which variable (the
    # automatic layer map's record); the measuring child loads untouched.
    with recording_conversion() if capturing else contextlib.nullcontext([]) as filled:
        model = keras_model(spec, folder)
    if spec["head"] == CLASSIFIER:
        feed = inputs["images"]
    else:
        feed = keras_feed(getattr(model, "backbone", model), inputs)
    if capturing:
        remember_conversion(model, filled)
        np.savez(spec["capture"]["path"], **keras_layer_outputs(model, feed, None))
        return
    if spec["head"] == CLASSIFIER:
        arrays = {"logits": np.asarray(model(feed, training=False), dtype=np.float32)}
    elif spec["head"] == CAUSAL_LM:
        arrays = {
            "hidden": np.asarray(model.backbone(feed, training=False), dtype=np.float32),
            "logits": np.asarray(model(feed, training=False), dtype=np.float32),
        }
    else:
        arrays = keras_outputs(model(feed, training=False), expected)
    np.savez(spec["out"], **{f"output/{k}": v for k, v in arrays.items()})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("torch", "keras"):
        print(USAGE, file=sys.stderr)
        return 2
    spec = json.loads(Path(args[1]).read_text())
    try:
        (torch_side if args[0] == "torch" else keras_side)(spec)
    except Exception as error:  # the row's failure: the traceback, then one line for its table
        traceback.print_exc()
        print(one_line_error(error), file=sys.stderr)
        return 1
    return 0


def one_line_error(error: BaseException, limit: int = ERROR_CHARS) -> str:
    """`Type: message` on one line: a message may span lines (one holding a tensor's repr)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    raise SystemExit(main())
