"""The `tfhub:` loader (zoo/sources/tfhub.py): TF Hub / Kaggle Models SavedModels through
tensorflow_hub.load. Options: `signature` and `output_key` pick a signature's output when
the SavedModel is not directly callable (a keras.Model.export() has serving_default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from parity.child.loaders import (
    LoadedModel,
    fetch_failed,
    library,
    pretrained_only,
    register_loader,
    unavailable,
)
from zoo.sources import Location


@register_loader("tfhub")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    pretrained_only("tfhub", weights)
    hub = library(location, "tensorflow_hub", "tensorflow-hub")
    try:
        loaded = hub.load(location.path or location.hub_id)
    except Exception as error:  # resolver and download errors come in many types
        if location.path is None and fetch_failed(error):
            raise unavailable(location, error) from error
        raise
    signature = options.get("signature")
    if signature is None and callable(loaded):
        call = loaded
        output_key = None
    else:
        signature = signature or "serving_default"
        if signature not in loaded.signatures:
            raise ValueError(
                f"{location.handle} has no signature {signature!r}; it has "
                f"{', '.join(loaded.signatures) or 'none'}"
            )
        call = loaded.signatures[signature]
        outputs = list(call.structured_outputs)
        output_key = options.get("output_key") or (outputs[0] if len(outputs) == 1 else None)
        if output_key is None:
            raise ValueError(
                f"{location.handle}: signature {signature!r} has outputs "
                f"{outputs}; choose one with the output_key load option"
            )

    def forward(inputs: dict[str, Any]):
        if output_key is None:
            return call(inputs["pixel_values"])
        (argument,) = call.structured_input_signature[1]
        return call(**{argument: inputs["pixel_values"]})[output_key]

    variables = getattr(loaded, "variables", [])
    return LoadedModel(
        forward=forward,
        parameters=int(sum(np.prod(v.shape) for v in variables)),
        weights_bytes=sum(f.stat().st_size for f in Path(location.path).rglob("*") if f.is_file())
        if location.path
        else None,
        details={"signature": signature, "output_key": output_key},
    )
