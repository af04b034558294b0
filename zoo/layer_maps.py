"""Layer maps: which PyTorch module's output equals which Keras layer's output in a
same-weights conversion, in forward order, so intermediate activations can be compared.

The built-in maps follow keras-hub's timm converters
(keras_hub/src/utils/timm/convert_densenet.py and convert_resnet.py): each pair below
joins the timm module whose weights a `port_weight` call reads with the Keras layer it
fills, taken at a point where both sides have the same tensor. timm's BatchNormAct2d
includes its ReLU, so a timm norm is matched with the Keras Activation after the
BatchNormalization; a timm DenseLayer returns only its new features, which is the
output of Keras's `_2_conv` (before the concatenation).

Imports no framework: the parent process reads these maps to ask each worker for its
side's names. A plugin (tests, a user's own source) adds maps with `register_layer_map`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
