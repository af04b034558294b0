"""Engines: the framework-specific half of a worker (threads, tensors, execution modes).

Imported only inside a worker child. Each engine module defines ENGINE; extra engines
(e.g. a pure-numpy one for tests) register through `register_engine` from a plugin
module named in PARITY_PLUGINS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from parity.vocabulary import EAGER, MODE_DESCRIPTIONS, MODES  # noqa: F401  (re-exported)


class Engine(Protocol):
    name: str

    def configure_threads(self, threads: int) -> dict[str, Any]: ...

    def versions(self) -> dict[str, str]: ...

    def to_tensor(self, array: np.ndarray) -> Any: ...

    def to_numpy(self, value: Any) -> np.ndarray: ...

    def compile(self, forward: Callable, mode: str, example: dict[str, Any]) -> Callable: ...

    def block(self, value: Any) -> None: ...


_MODULES = {
    "torch": "parity.child.engines.torch_engine",
    "tensorflow": "parity.child.engines.tf_engine",
}
_EXTRA: dict[str, Engine] = {}


def register_engine(engine: Engine, modes: tuple[str, ...]) -> None:
    _EXTRA[engine.name] = engine
    MODES[engine.name] = modes


def get_engine(framework: str) -> Engine:
    if framework in _EXTRA:
        return _EXTRA[framework]
    if framework not in _MODULES:
        raise ValueError(f"no engine for framework {framework!r}")
    return importlib.import_module(_MODULES[framework]).ENGINE
