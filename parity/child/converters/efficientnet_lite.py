"""EfficientNet-Lite's framework half: the PyTorch checkpoint as numpy, and the Keras 3
build that takes it, for every variant (the scaling, name maps and the measured facts
behind them are in zoo/converters/efficientnet_lite.py).

    python -m parity.child.converters.efficientnet_lite export-npz CHECKPOINT.pth OUT.npz

runs in a PyTorch process of its own (keras-build's materialize starts it), so the
TensorFlow worker reads plain arrays and never imports torch.
"""

from __future__ import annotations

import os
from typing import Any

from zoo.converters.efficientnet_lite import (
    BN_EPS,
    BY_BUILDER,
    HEAD_CHANNELS,
    NUM_CLASSES,
    STEM_CHANNELS,
    remap_state_dict,
)


def load_state_dict(path: str) -> dict:
    """The checkpoint as shipped (torch tensors, source key names). Needs torch."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


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


def build_keras(
    state_dict_numpy: dict, arch: str = "efficientnet_lite0", image_size: int | None = 0
):
    """A Keras 3 functional EfficientNet-Lite (arch: a keras-build name, efficientnet_lite0,
    _lite1 ...) equal to timm's `tf_efficientnet_lite<n>`, weights copied in.

    `state_dict_numpy`: {key: np.ndarray} with timm keys (from `load_numpy`) or the source
    checkpoint's keys (remapped here). Input NHWC float32, preprocessed per
    zoo.catalog.lite_preprocessing; output: logits (no softmax). Inference only: dropout /
    drop-path are left out. `image_size` 0 takes the variant's own resolution; None accepts
    any height and width.

    Padding: Keras `padding="same"` is TensorFlow's SAME (stride-2 layers pad more at the
    bottom/right), which is what timm's Conv2dSame reproduces for `tf_` models; stride-1
    layers pad symmetrically on both sides.
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np

    if arch not in BY_BUILDER:
        raise ValueError(f"no EfficientNet-Lite variant {arch!r}; known: {', '.join(BY_BUILDER)}")
    variant = BY_BUILDER[arch]
    if image_size == 0:
        image_size = variant.resolution
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
    for s, (repeats, kernel, stride, expand, out_ch) in enumerate(variant.stages):
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
    model = keras.Model(inputs, logits, name=arch)

    for layer, weights in assign:
        layer.set_weights(weights)
    unused = sorted(set(sd) - used)
    if unused:
        raise ValueError(f"weights not used by the Keras model: {unused[:5]} ...")
    return model


def main(argv: list[str] | None = None) -> int:
    """The export-npz command (see the module's docstring)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "export-npz":
        print(
            "usage: python -m parity.child.converters.efficientnet_lite export-npz PTH NPZ",
            file=sys.stderr,
        )
        return 2
    export_numpy(args[1], args[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
