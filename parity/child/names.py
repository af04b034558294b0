"""The model names a library knows, read where importing the library is allowed.

    python -m parity.child.names LIBRARY      LIBRARY: torchvision, timm or keras-hub

Prints one JSON object on stdout: {"names": [...], "variants": {name: [...]}}. `names` are
what a handle may name (architectures, presets); `variants` the weights each name offers
where the library lists them (torchvision Weights enum members, timm pretrained tags).
The parent (parity.run.names) reads it once per library version and caches it, so a typo
in a handle is caught before any cell starts, with the closest names.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def torchvision_names() -> dict[str, Any]:
    import torchvision.models as models

    names = sorted(models.list_models())
    variants = {name: [member.name for member in models.get_model_weights(name)] for name in names}
    return {"names": names, "variants": variants}


def timm_names() -> dict[str, Any]:
    import timm

    variants: dict[str, list[str]] = {}
    for tagged in timm.list_models(pretrained=True):
        arch, _, tag = tagged.partition(".")
        variants.setdefault(arch, []).append(tag)
    return {"names": sorted(timm.list_models()), "variants": variants}


def keras_hub_names() -> dict[str, Any]:
    import keras_hub

    presets = set(keras_hub.models.Backbone.presets) | set(keras_hub.models.Task.presets)
    return {"names": sorted(presets), "variants": {}}


READERS = {"torchvision": torchvision_names, "timm": timm_names, "keras-hub": keras_hub_names}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in READERS:
        print(f"usage: python -m parity.child.names {{{','.join(READERS)}}}", file=sys.stderr)
        return 2
    print(json.dumps(READERS[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
