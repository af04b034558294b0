"""Layer maps: which PyTorch module's output equals which Keras layer's output in a
same-weights conversion, in forward order, so intermediate activations can be compared.

The built-in maps follow keras-hub's timm converters
(keras_hub/src/utils/timm/convert_densenet.py and convert_resnet.py): each pair below
joins the timm module whose weights a `port_weight` call reads with the Keras layer it
fills, taken at a point where both sides have the same tensor. timm's BatchNormAct2d
includes its ReLU, so a timm norm is matched with the Keras Activation after the
BatchNormalization; a timm DenseLayer returns only its new features, which is the
output of Keras's `_2_conv` (before the concatenation).

Transformers (transformers on PyTorch, keras-hub's conversion on TensorFlow): BERT,
DistilBERT and ViT, by the `model_type` and layer count in the checkpoint's config.json,
read in the parent as plain JSON. EfficientNet-Lite0/1/2 (timm against this project's
Keras build, zoo/converters/efficientnet_lite.py): that build's layer names are timm's with
dots made underscores.

Imports no framework: the parent process reads these maps to ask each worker for its
side's names. A plugin (tests, a user's own source) adds maps with `register_layer_map`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from zoo.converters import efficientnet_lite as lite
from zoo.sources import get_source
from zoo.sources.files import split_checkpoint


@dataclass(frozen=True)
class LayerMatch:
    label: str  # short name for reports
    torch: str  # a module name in model.named_modules()
    tensorflow: str  # a Keras layer name (in the task model or its backbone)

    def name_for(self, side: str) -> str:
        return self.torch if side == "torch" else self.tensorflow


LayerMap = tuple[LayerMatch, ...]
# A finder gets (torch handle, tensorflow handle) and returns a map, or None if it has none.
Finder = Callable[[str, str], "LayerMap | None"]
_FINDERS: list[Finder] = []


def register_layer_map(finder: Finder) -> Finder:
    _FINDERS.append(finder)
    return finder


def layer_map_for(torch_handle: str, tf_handle: str) -> LayerMap | None:
    for finder in _FINDERS:
        found = finder(torch_handle, tf_handle)
        if found:
            return found
    return None


DENSENET_REPEATS = {
    "densenet121": (6, 12, 24, 16),
    "densenet169": (6, 12, 32, 32),
    "densenet201": (6, 12, 48, 32),
}
RESNET_BLOCKS = {
    "resnet18": (2, 2, 2, 2),
    "resnet26": (2, 2, 2, 2),
    "resnet34": (3, 4, 6, 3),
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
    "resnet152": (3, 8, 36, 3),
}
# keras-hub's ImageClassifier head; timm's is global_pool then the classifier.
POOLER, PREDICTIONS = "pooler", "predictions"


def densenet_map(repeats: tuple[int, ...]) -> LayerMap:
    matches = [
        LayerMatch("stem conv", "features.conv0", "conv1_conv"),
        LayerMatch("stem norm+relu", "features.norm0", "conv1_relu"),
        LayerMatch("stem max-pool", "features.pool0", "pool1"),
    ]
    for stack, count in enumerate(repeats, start=1):
        for layer in range(1, count + 1):
            matches.append(
                LayerMatch(
                    f"dense {stack}.{layer}",
                    f"features.denseblock{stack}.denselayer{layer}",
                    f"stack{stack}_block{layer}_2_conv",
                )
            )
        if stack < len(repeats):
            matches.append(
                LayerMatch(
                    f"transition {stack}",
                    f"features.transition{stack}",
                    f"transition{stack}_pool",
                )
            )
    matches += [
        LayerMatch("final norm+relu", "features.norm5", "relu"),
        LayerMatch("pooled", "global_pool", POOLER),
        LayerMatch("logits", "classifier", PREDICTIONS),
    ]
    return tuple(matches)


def resnet_map(blocks: tuple[int, ...]) -> LayerMap:
    """ResNet v1 (timm resnetNN): the stem step by step, then every residual block's output."""
    matches = [
        LayerMatch("stem conv", "conv1", "conv1_conv"),
        LayerMatch("stem norm", "bn1", "conv1_bn"),
        LayerMatch("stem relu", "act1", "conv1_relu"),
        LayerMatch("stem max-pool", "maxpool", "pool1_pool"),
    ]
    for stack, count in enumerate(blocks):
        for block in range(count):
            matches.append(
                LayerMatch(
                    f"block {stack + 1}.{block}",
                    f"layer{stack + 1}.{block}",
                    f"stack{stack}_block{block}_out",
                )
            )
    matches += [
        LayerMatch("pooled", "global_pool", POOLER),
        LayerMatch("logits", "fc", PREDICTIONS),
    ]
    return tuple(matches)


@register_layer_map
def timm_to_keras_hub(torch_handle: str, tf_handle: str) -> LayerMap | None:
    """timm -> keras-hub's conversion of the same checkpoint (by the timm architecture)."""
    try:
        (torch_source, torch_name), (tf_source, _) = (
            get_source(torch_handle),
            get_source(tf_handle),
        )
    except LookupError:
        return None
    if (torch_source.prefix, tf_source.prefix) != ("timm", "keras-hub"):
        return None
    arch = split_checkpoint(torch_name)[0].split(".")[0]  # densenet121.tv_in1k -> densenet121
    if arch in DENSENET_REPEATS:
        return densenet_map(DENSENET_REPEATS[arch])
    if arch in RESNET_BLOCKS:
        return resnet_map(RESNET_BLOCKS[arch])
    return None


def bert_map(layers: int, torch_prefix: str = "encoder.layer") -> LayerMap:
    """BERT-like text encoders (transformers BertModel / DistilBertModel against keras-hub's
    BertBackbone / DistilBertBackbone): the embeddings after their LayerNorm, then each
    transformer layer's output; the last one is the sequence output the eval compares."""
    matches = [LayerMatch("embeddings (after LayerNorm)", "embeddings", "embeddings_layer_norm")]
    for index in range(layers):
        label = f"layer {index}" + (" = sequence output" if index == layers - 1 else "")
        matches.append(LayerMatch(label, f"{torch_prefix}.{index}", f"transformer_layer_{index}"))
    return tuple(matches)


def _transformers_major() -> int:
    try:
        return int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return 5


def vit_map(layers: int, transformers_major: int | None = None) -> LayerMap:
    """transformers ViTForImageClassification against keras-hub's ViT ImageClassifier.
    keras-hub's ViTEncoder holds its blocks (transformer_block_1..N) and final LayerNorm
    ("ln") inside one layer, hence the nested "vit_encoder/..." names."""
    major = _transformers_major() if transformers_major is None else transformers_major
    # transformers 5 keeps ViT's blocks in vit.layers; 4.x had them in vit.encoder.layer.
    blocks = "vit.layers" if major >= 5 else "vit.encoder.layer"
    matches = [
        LayerMatch("patch embedding + position", "vit.embeddings", "vit_patching_and_embedding")
    ]
    for index in range(layers):
        matches.append(
            LayerMatch(
                f"layer {index}", f"{blocks}.{index}", f"vit_encoder/transformer_block_{index + 1}"
            )
        )
    matches += [
        LayerMatch("final layernorm", "vit.layernorm", "vit_encoder/ln"),
        LayerMatch("logits", "classifier", PREDICTIONS),
    ]
    return tuple(matches)


# The catalog's hub checkpoints, as their config.json files say, for a first run that has
# not downloaded them yet (the map is planned before the worker fetches the checkpoint).
KNOWN_HF_CONFIGS = {
    "sentence-transformers/all-MiniLM-L6-v2": {"model_type": "bert", "num_hidden_layers": 6},
    "google-bert/bert-base-uncased": {"model_type": "bert", "num_hidden_layers": 12},
    "distilbert/distilbert-base-uncased": {"model_type": "distilbert", "n_layers": 6},
    "google/vit-base-patch16-224": {"model_type": "vit", "num_hidden_layers": 12},
}


def hf_config(handle: str) -> dict | None:
    """config.json of an hf: handle's checkpoint when it is on this machine; else the
    catalog's record of it, if any; else None."""
    try:
        source, name = get_source(handle)
        folder = source.resolve(name).path
    except (LookupError, ValueError):
        return None
    config = Path(folder) / "config.json" if folder else None
    if config is None or not config.is_file():
        return KNOWN_HF_CONFIGS.get(name)
    try:
        return json.loads(config.read_text())
    except (OSError, ValueError):
        return None


@register_layer_map
def hf_to_keras_hub(torch_handle: str, tf_handle: str) -> LayerMap | None:
    """transformers -> keras-hub's conversion of the same checkpoint (by its config.json)."""
    try:
        prefixes = (get_source(torch_handle)[0].prefix, get_source(tf_handle)[0].prefix)
    except LookupError:
        return None
    if prefixes != ("hf", "keras-hub"):
        return None
    config = hf_config(torch_handle)
    if config is None:
        return None
    kind = config.get("model_type")
    if kind == "bert":
        return bert_map(int(config.get("num_hidden_layers", 12)))
    if kind == "distilbert":
        return bert_map(int(config.get("n_layers", 6)), torch_prefix="transformer.layer")
    if kind == "vit":
        return vit_map(int(config.get("num_hidden_layers", 12)))
    return None


def efficientnet_lite_map(variant: lite.LiteVariant) -> LayerMap:
    """timm tf_efficientnet_lite<n> against the Keras build: the stem (BatchNormAct2d holds
    its ReLU6, so it meets Keras's *_relu6), every block's output (its residual Add, or
    its last BatchNormalization where the block has no shortcut), the head, pooled, logits."""
    matches = [
        LayerMatch("stem conv", "conv_stem", "conv_stem"),
        LayerMatch("stem bn+relu6", "bn1", "bn1_relu6"),
    ]
    channels = lite.STEM_CHANNELS
    for stage, (repeats, _, stride, _, out_channels) in enumerate(variant.stages):
        for index in range(repeats):
            keras = f"blocks_{stage}_{index}"
            residual = (stride == 1 or index > 0) and channels == out_channels
            last_bn = "bn2" if stage == 0 else "bn3"
            matches.append(
                LayerMatch(
                    f"block {stage}.{index}",
                    f"blocks.{stage}.{index}",
                    f"{keras}_add" if residual else f"{keras}_{last_bn}",
                )
            )
            channels = out_channels
    matches += [
        LayerMatch("head conv", "conv_head", "conv_head"),
        LayerMatch("head bn+relu6", "bn2", "bn2_relu6"),
        LayerMatch("pooled", "global_pool", "global_pool"),
        LayerMatch("logits", "classifier", "classifier"),
    ]
    return tuple(matches)


@register_layer_map
def timm_to_keras_build(torch_handle: str, tf_handle: str) -> LayerMap | None:
    """timm -> this project's Keras build of the same checkpoint."""
    try:
        (torch_source, torch_name), (tf_source, tf_name) = (
            get_source(torch_handle),
            get_source(tf_handle),
        )
    except LookupError:
        return None
    if (torch_source.prefix, tf_source.prefix) != ("timm", "keras-build"):
        return None
    archs = (split_checkpoint(torch_name)[0], split_checkpoint(tf_name)[0])
    variant = lite.BY_ARCH.get(archs[0])
    if variant is not None and archs[1] == variant.builder:
        return efficientnet_lite_map(variant)
    return None
