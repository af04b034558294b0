"""A small, made-up install as parity.child.catalog would describe it: what the fast tests
derive the catalog from, so they never start a child. conftest.py caches it for the whole
session (PARITY_CATALOG_CACHE), keyed by the versions actually installed."""

from __future__ import annotations

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "classes": 1000}


def _tv(default: str, acc1: float, resize: int = 232) -> dict:
    return {
        "default": default,
        "weights": {
            default: {
                "acc1": acc1,
                "acc5": 95.0,
                "crop": 224,
                "resize": resize,
                "interpolation": "bilinear",
                "classes": 1000,
            }
        },
    }


def _cfg(size: int = 224, crop_pct: float = 0.95, classes: int = 1000, **extra) -> dict:
    return {
        **IMAGENET,
        "input_size": [3, size, size],
        "crop_pct": crop_pct,
        "interpolation": "bicubic",
        "classes": classes,
        **extra,
    }


TORCH = {
    "torchvision": {
        "version": "0.0-fake",
        "models": {
            "resnet50": _tv("IMAGENET1K_V2", 80.858),
            "resnet101": _tv("IMAGENET1K_V2", 81.886),
            # resnet152 left out: the twin table's row for it is dropped
            "convnext_tiny": _tv("IMAGENET1K_V1", 82.52, resize=236),
        },
    },
    "timm": {
        "version": "0.0-fake",
        "architectures": ["resnet50", "resnet101", "resnetv2_152", "convnext_tiny", "vgg16"],
        "tags": {
            "resnet50": ["a1_in1k", "tv_in1k"],
            "resnet101": ["a1h_in1k", "a1_in1k"],
            "convnext_tiny": ["in12k_ft_in1k", "fb_in1k"],
            "legacy_xception": ["tf_in1k"],
            "efficientnet_b5": ["sw_in12k"],
        },
        "cfgs": {
            "resnet50.a1_in1k": _cfg(),
            "resnet50.tv_in1k": _cfg(crop_pct=0.875),
            "resnet101.a1h_in1k": _cfg(),
            "resnet101.a1_in1k": _cfg(),
            "convnext_tiny.in12k_ft_in1k": _cfg(),
            "convnext_tiny.fb_in1k": _cfg(crop_pct=0.875),
            "legacy_xception.tf_in1k": _cfg(
                size=299, crop_pct=0.8975, mean=[0.5] * 3, std=[0.5] * 3
            ),
            "efficientnet_b5.sw_in12k": _cfg(size=416, classes=11821),
        },
    },
}


def _preset(
    family: str, tasks: list[str], description: str = "a preset", kaggle: str | None = None
) -> dict:
    return {
        "family": family,
        "description": description,
        "params": 1,
        "kaggle_handle": kaggle,
        "backbone": f"{family}Backbone",
        "tasks": tasks,
    }


TENSORFLOW = {
    "keras": {
        "version": "0.0-fake",
        "applications": [
            "ConvNeXtTiny",
            "ResNet101",
            "ResNet152",
            "ResNet152V2",
            "ResNet50",
            "Xception",
        ],
    },
    "keras-hub": {
        "version": "0.0-fake",
        "presets": {
            "resnet_50_imagenet": _preset(
                "resnet",
                ["ImageClassifier"],
                "50-layer ResNet.",
                kaggle="kaggle://keras/resnetv1/keras/resnet_50_imagenet/3",
            ),
            "resnet_vd_18_imagenet": _preset("resnet", ["ImageClassifier"]),
            "efficientnet_b5_sw_imagenet": _preset("efficientnet", ["ImageClassifier"]),
            "bert_base_en_uncased": _preset("bert", ["TextClassifier"], "12-layer BERT."),
            "gpt2_base_en": _preset("gpt2", ["CausalLM"], "12-layer GPT-2."),
            "sam_base_sa1b": _preset("sam", []),
        },
    },
}

FACTS = {**TORCH, **TENSORFLOW}
BY_SIDE = {"torch": TORCH, "tensorflow": TENSORFLOW}
