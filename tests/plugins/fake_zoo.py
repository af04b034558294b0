"""A test plugin: a pure-numpy engine and a `fake:` source whose models misbehave on demand.

Loaded through PARITY_PLUGINS in the test process and in every worker, exactly as a
user's own source would be. Handles:

    fake:ok            a tiny deterministic text encoder
    fake:noisy         the same plus 1e-3 noise (fails atol 1e-4)
    fake:nan           outputs NaN
    fake:segfault      dereferences a null pointer while loading (SIGSEGV)
    fake:hang          sleeps while loading, until the runner's timeout kills it
    fake:raise         raises RuntimeError while loading
    fake:unavailable   raises ModelUnavailableError, as a hub download would offline
    fake:impossible    claims 1e18 FLOPs per sample: faster than any machine's peak
"""

from __future__ import annotations

import ctypes
import time

import numpy as np

from parity.worker_engines import register_engine
from zoo.sources import (
    LOCAL,
    LoadedModel,
    Location,
    ModelUnavailableError,
    Source,
    register_source,
)

VOCAB, WIDTH = 4096, 16


class NumpyEngine:
    name = "numpy"

    def configure_threads(self, threads):
        return {"intra_op": threads, "inter_op": 1}

    def versions(self):
        return {"numpy": np.__version__}

    def to_tensor(self, array):
        return np.asarray(array)

    def to_numpy(self, value):
        return np.asarray(value)

    def compile(self, forward, mode, example):
        if mode not in ("eager", "graph"):
            raise ValueError(f"numpy has no mode {mode!r}")
        return forward

    def block(self, value):
        pass

    def count_flops(self, forward, example):
        # A declared figure, not a count: the fake models do no real arithmetic to count.
        return {"per_sample": forward.flops_per_sample, "method": "declared by the fake model"}


register_engine(NumpyEngine(), modes=("eager", "graph"))


def _encoder(noise: float = 0.0, nan: bool = False):
    table = np.random.default_rng(0).standard_normal((VOCAB, WIDTH)).astype(np.float32)
    rng = np.random.default_rng(1)

    def forward(inputs):
        hidden = np.tanh(table[inputs["input_ids"] % VOCAB])
        hidden = hidden * inputs["attention_mask"][..., None]
        if noise:
            hidden = hidden + noise * rng.standard_normal(hidden.shape).astype(np.float32)
        if nan:
            hidden[..., 0] = np.nan
        return hidden

    return forward


@register_source
class FakeSource(Source):
    prefix = "fake"
    framework = "numpy"
    description = "test models that misbehave on demand"

    def resolve(self, name):
        return Location(f"fake:{name}", LOCAL, path=f"/fake/{name}")

    def load(self, location, task, options, weights="pretrained", seed=0):
        name = location.handle.split(":", 1)[1]
        if name == "segfault":
            ctypes.string_at(0)
        if name == "hang":
            time.sleep(3600)
        if name == "raise":
            raise RuntimeError("fake model refused to load: corrupt header")
        if name == "unavailable":
            raise ModelUnavailableError("fake:unavailable needs the network (set FAKE_CACHE)")
        forward = _encoder(noise=1e-3 if name == "noisy" else 0.0, nan=name == "nan")
        forward.flops_per_sample = 1e18 if name == "impossible" else 2.0 * WIDTH
        return LoadedModel(
            forward=forward,
            parameters=VOCAB * WIDTH,
            input_dtypes={"input_ids": "int64"},
            details={"name": name},
        )
