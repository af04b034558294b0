"""Loaders: each source's child half, building a model with the source's own library.

A source in zoo.sources says where a model is (`resolve`, in the parent); its loader,
registered here under the same prefix with `@register_loader(prefix)`, builds it inside
a worker child, where exactly one framework is imported. The worker finds the loader by
the cell's source prefix (`get_loader`).

Every loader is called as `load(location, task, options, weights="pretrained", seed=0)`
and returns a LoadedModel. weights="seeded" asks for the same architecture with random
weights from `seed`, for latency and memory rows only (no download needed).

Loader modules import their framework inside functions only: the worker imports every
loader module, and a TensorFlow worker must never import torch. A loader tells three
failures apart: a name its library does not know (UnknownArchitectureError, with the
closest names the library lists), a model it cannot fetch or a package that is missing
here (ModelUnavailableError), and anything else (raised as it is).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.child.capture import keras_layer_outputs
from parity.errors import ModelUnavailableError, UnknownArchitectureError, UnknownSourceError
from zoo.sources import Location, load_plugins


@dataclass
class LoadedModel:
    """A model ready to run, as a loader hands it to the worker's engine.

    forward takes a dict of framework tensors under the task's canonical input names
    and returns the task's canonical output as a framework tensor.
    """

    forward: Callable[[dict[str, Any]], Any]
    parameters: int
    input_dtypes: dict[str, str] = field(default_factory=dict)
    weights_bytes: int | None = None
    dtype: str = "float32"
    details: dict[str, Any] = field(default_factory=dict)
    # Numpy-side changes the model needs (NHWC -> NCHW, say), made before tensors are
    # built, so they are never inside a timed call.
    adapt_inputs: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None
    # Divergence localisation: capture(inputs, names) runs the model once, eagerly, on
    # framework tensors like forward's, and returns {name: activation} as float32 numpy
    # in channels-last layout (parity/child/capture.py); names None asks for an automatic
    # capture (a map derived from a keras-hub conversion). None: this source cannot capture.
    capture: Callable[[dict[str, Any], list[str] | None], dict[str, np.ndarray]] | None = None
    # Causal LMs: the side's own decoding machinery (parity.child.generation.Decoder); the
    # worker then evaluates and times generation instead of calling forward in loops.
    decoder: Any = None


Loader = Callable[..., LoadedModel]
_LOADERS: dict[str, Loader] = {}
_discovered = False


def register_loader(prefix: str) -> Callable[[Loader], Loader]:
    """Register `load` as the child half of the source with this prefix."""

    def register(load: Loader) -> Loader:
        known = _LOADERS.get(prefix)
        # The same function imported twice (a plugin named twice) is not a clash.
        if known is not None and (known.__module__, known.__qualname__) != (
            load.__module__,
            load.__qualname__,
        ):
            raise ValueError(f"a loader for source prefix {prefix!r} is registered twice")
        _LOADERS[prefix] = load
        return load

    return register


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    load_plugins()
    _discovered = True


def get_loader(prefix: str) -> Loader:
    _discover()
    if prefix not in _LOADERS:
        raise UnknownSourceError(
            f"source {prefix + ':'!r} has no loader; a module that registers a source "
            "must register its loader too (@register_loader in parity.child.loaders)"
        )
    return _LOADERS[prefix]


# ---- the three kinds of failure ----


def unknown_architecture(
    location: Location, name: str, known: Iterable[str], listed_by: str
) -> UnknownArchitectureError:
    """A name the source's library does not know, with the closest of those it does."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UnknownArchitectureError(
        f"{location.handle}: unknown architecture {name!r} (not in {listed_by}){hint}"
    )


def fetch_failed(error: BaseException) -> bool:
    """Whether an error is a failed download: an OSError (urllib's, requests', a socket's)
    anywhere in its chain, as libraries often wrap it (keras raises a bare Exception)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def unavailable(location: Location, error: Exception) -> ModelUnavailableError:
    """A download that failed: name the handle, and what to fill instead (location.note)."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
    return ModelUnavailableError(
        f"{location.handle} could not be fetched (needs the network): "
        f"{location.note or 'download it first'} [{type(error).__name__}: {detail}]"
    )


def library(location: Location, module: str, package: str):
    """The source's own library, imported in the worker; when it is not installed, the
    model is unavailable here, not broken."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module.split(".")[0]:
            raise  # the library is there but lacks something of its own: a real error
        raise ModelUnavailableError(
            f"{location.handle} needs the {package} package, which is not installed here: "
            f"pip install {package}"
        ) from error


def pretrained_only(prefix: str, weights: str) -> None:
    if weights != "pretrained":
        raise ValueError(f"{prefix}: seeded weights are not supported by this source")


# ---- shared by several loaders ----


def nchw(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Shared image tensors are NHWC; PyTorch models take NCHW."""
    return {k: np.ascontiguousarray(v.transpose(0, 3, 1, 2)) for k, v in arrays.items()}


def keras_classifier(model: Any, weights_bytes: int | None, details: dict) -> LoadedModel:
    """A Keras image classifier (keras.applications, keras-hub, a Keras build) as the worker
    runs it: called directly in inference mode on the pair's tensors, with its layers'
    outputs available for divergence localisation."""

    def forward(inputs: dict[str, Any]):
        return model(inputs["pixel_values"], training=False)

    def capture(inputs: dict[str, Any], names: list[str] | None):
        return keras_layer_outputs(model, inputs["pixel_values"], names)

    return LoadedModel(
        forward=forward,
        parameters=int(model.count_params()),
        weights_bytes=weights_bytes,
        dtype=str(model.dtype_policy.compute_dtype),
        details=details,
        capture=capture,
    )
