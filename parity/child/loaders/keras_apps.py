"""The `keras-apps:` loader (zoo/sources/keras_apps.py): keras.applications models with
ImageNet weights, a local weights file, or a whole .keras file (safe_mode=True)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.child.loaders import (
    LoadedModel,
    fetch_failed,
    keras_classifier,
    register_loader,
    unavailable,
    unknown_architecture,
)
from zoo.sources import LOCAL, Location


def applications(keras) -> list[str]:
    """The model builders keras.applications offers (its CamelCase callables)."""
    return [
        name
        for name in dir(keras.applications)
        if name[:1].isupper() and callable(getattr(keras.applications, name))
    ]


@register_loader("keras-apps")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    import keras

    name = location.handle.split(":", 1)[1]
    app = name.partition("@")[0]
    details: dict[str, Any] = {"application": app}
    if location.availability == LOCAL and location.path.endswith(".keras"):
        # safe_mode refuses Lambda layers and other deserialised code.
        try:
            model = keras.saving.load_model(location.path, safe_mode=True, compile=False)
        except ValueError as error:
            if "safe_mode" not in str(error):
                raise
            # Keras suggests safe_mode=False; this tool never offers that, so say so.
            raise ValueError(
                f"{location.path} holds Python code (e.g. a Lambda layer), which "
                "safe_mode=True refuses to deserialise; zoo-parity never disables safe_mode: "
                "save the model without Lambda layers, or give weights: NAME@/path.weights.h5"
            ) from None
        details["weights"] = location.path
    else:
        known = applications(keras)
        if app not in known:
            raise unknown_architecture(location, app, known, "keras.applications")
        builder = getattr(keras.applications, app)
        if weights == "seeded":
            keras.utils.set_random_seed(seed)
            model = builder(weights=None, **options)
            details["weights"] = f"seeded({seed})"
        elif location.availability == LOCAL:
            model = builder(weights=None, **options)
            model.load_weights(location.path)
            details["weights"] = location.path
        else:
            try:
                model = builder(weights="imagenet", **options)
            except Exception as error:  # keras wraps a failed download in a bare Exception
                if fetch_failed(error):
                    raise unavailable(location, error) from error
                raise
            details["weights"] = "imagenet"
    weights_bytes = (
        Path(location.path).stat().st_size if location.path and weights != "seeded" else None
    )
    return keras_classifier(model, weights_bytes=weights_bytes, details=details)
