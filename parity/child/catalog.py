"""What the installed zoos say they hold, read where importing them is allowed: the facts the
derived catalog (zoo.derived) joins its tables with.

    python -m parity.child.catalog torch        torchvision and timm (imports torch)
    python -m parity.child.catalog tensorflow   keras.applications and keras-hub (imports TF)

Prints one JSON object as its last line of stdout, {LIBRARY: facts, ...}; a library that is
not installed, or fails to import, is {"error": "why"} instead, so the other one still
counts. Everything is read offline, from the packages' own registries: nothing is built or
downloaded. The parent (parity.run.catalog) caches the result per installed versions.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _guarded(read) -> dict[str, Any]:
    try:
        return read()
    except Exception as error:  # an absent or broken library: say why, keep the others
        return {"error": f"{type(error).__name__}: {error}"}


def torchvision_facts() -> dict[str, Any]:
    """Classification architectures with each Weights member's published accuracy and
    inference transforms, and the DEFAULT member."""
    import torchvision
    import torchvision.models as models

    found: dict[str, Any] = {}
    for arch in models.list_models(module=models):
        enum = models.get_model_weights(arch)
        weights = {}
        for member in enum:
            metrics = member.meta.get("_metrics", {}).get("ImageNet-1K", {})
            transform = member.transforms()
            weights[member.name] = {
                "acc1": metrics.get("acc@1"),
                "acc5": metrics.get("acc@5"),
                "crop": int(transform.crop_size[0]),
                "resize": int(transform.resize_size[0]),
                "interpolation": transform.interpolation.value,
                "classes": len(member.meta.get("categories") or ()),
            }
        default = enum.DEFAULT.name if hasattr(enum, "DEFAULT") else None
        found[arch] = {"default": default, "weights": weights}
    return {"version": torchvision.__version__, "models": found}


def timm_facts() -> dict[str, Any]:
    """Every pretrained tag with its pretrained_cfg's preprocessing; each architecture's tags
    in timm's priority order (the first is what `pretrained=True` loads)."""
    import timm
    from timm.models import get_arch_pretrained_cfgs

    pretrained = set(timm.list_models(pretrained=True))
    tags: dict[str, list[str]] = {}
    cfgs: dict[str, Any] = {}
    for arch in sorted({name.partition(".")[0] for name in pretrained}):
        for name, cfg in get_arch_pretrained_cfgs(arch).items():
            tag = name.partition(".")[2]
            if name not in pretrained or not tag:
                continue
            tags.setdefault(arch, []).append(tag)
            cfgs[name] = {
                "input_size": list(cfg.input_size),
                "crop_pct": cfg.crop_pct,
                "interpolation": cfg.interpolation,
                "mean": list(cfg.mean),
                "std": list(cfg.std),
                "classes": cfg.num_classes,
            }
    return {
        "version": timm.__version__,
        "architectures": sorted(timm.list_models()),
        "tags": tags,
        "cfgs": cfgs,
    }


def keras_facts() -> dict[str, Any]:
    import keras

    applications = sorted(
        name
        for name in dir(keras.applications)
        if name[:1].isupper() and callable(getattr(keras.applications, name))
    )
    return {"version": keras.__version__, "applications": applications}


def keras_hub_facts() -> dict[str, Any]:
    """Every built-in preset with its metadata (family, description, parameters) and which
    task classes can load it."""
    import keras_hub
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS_FOR_BACKBONE

    tasks = {
        name: set(getattr(keras_hub.models, name).presets)
        for name in ("ImageClassifier", "CausalLM", "TextClassifier")
    }
    presets: dict[str, Any] = {}
    for backbone, entries in BUILTIN_PRESETS_FOR_BACKBONE.items():
        for preset, entry in entries.items():
            metadata = entry.get("metadata", {})
            presets[preset] = {
                "family": metadata.get("path"),
                "description": metadata.get("description", ""),
                "params": metadata.get("params"),
                "kaggle_handle": entry.get("kaggle_handle"),
                "backbone": backbone.__name__,
                "tasks": sorted(name for name, names in tasks.items() if preset in names),
            }
    return {"version": keras_hub.__version__, "presets": presets}


READERS = {
    "torch": {"torchvision": torchvision_facts, "timm": timm_facts},
    "tensorflow": {"keras": keras_facts, "keras-hub": keras_hub_facts},
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in READERS:
        print(f"usage: python -m parity.child.catalog {{{','.join(READERS)}}}", file=sys.stderr)
        return 2
    found = {library: _guarded(read) for library, read in READERS[argv[0]].items()}
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
