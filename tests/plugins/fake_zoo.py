"""A test plugin: a pure-numpy engine and a `fake:` source whose models misbehave on demand.

Loaded through PARITY_PLUGINS in the test process and in every worker, exactly as a
user's own source would be: it registers the source's parent half (resolve) and its child
half (the loader). Handles:

    fake:ok            a tiny deterministic text encoder
    fake:noisy         the same plus 1e-3 noise (fails atol 1e-4)
    fake:nan           outputs NaN
    fake:segfault      dereferences a null pointer while loading (SIGSEGV)
    fake:hang          sleeps while loading, until the runner's timeout kills it
    fake:raise         raises RuntimeError while loading
    fake:unavailable   fails to fetch, as a hub download would offline (ModelUnavailableError)
    fake:nocapture     fake:ok without a capture hook
    fake:impossible    claims 1e18 FLOPs per sample: faster than any machine's peak
    fake:slow          fake:ok after sleeping while loading: load option "sleep_s", else
                       FAKE_SLOW_S seconds (default 0.5)
    fake:memhog        touches ever more memory while loading (up to FAKE_MEMHOG_MIB), then hangs
    fake:forkhog       the same, in a child process of its own (as compile workers would be)
    fake:spin          fake:ok that also busy-loops a fixed amount of work per call (load
                       option "work": thousands of loop steps, default 20, about 1 ms), so
                       its latency is CPU-bound and slows when other processes take the cores
    fake:lm            a causal LM (task text-generation): a bigram table in numpy, its
                       decoder (parity.child.generation.Decoder) in modes eager and graph,
                       busy-looping like spin at each model call (load option "work",
                       default 2); load option "shift" adds to every logit

Any other name is an unknown architecture, reported with the closest of these names.

Every fake model but nocapture captures its steps (lookup, tanh, masked, output), and two
fake handles have a layer map joining those steps, so divergence localisation runs too.

With FAKE_TRACE_DIR set, each worker writes PID.json there with the wall-clock times its
model started loading and its process exited, so a test can count workers alive at once.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import subprocess
import sys
import time

import numpy as np

from parity.child.engines import register_engine
from parity.child.loaders import LoadedModel, register_loader, unavailable, unknown_architecture
from zoo.layer_maps import LayerMatch, register_layer_map
from zoo.sources import LOCAL, Location, Source, register_source

VOCAB, WIDTH = 4096, 16
STEPS = ("lookup", "tanh", "masked", "output")
MODELS = (
    "ok",
    "spin",
    "noisy",
    "nan",
    "segfault",
    "hang",
    "raise",
    "unavailable",
    "nocapture",
    "impossible",
    "slow",
    "memhog",
    "forkhog",
    "lm",
)
LM_VOCAB, LM_CONTEXT = 1024, 64
LM_CACHE_WIDTH = 4  # fake:lm's cache values per row and position


@register_layer_map
def fake_steps(torch_handle, tf_handle):
    if torch_handle.startswith("fake:") and tf_handle.startswith("fake:"):
        return tuple(LayerMatch(step, step, step) for step in STEPS)
    return None


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


def _steps(noise: float = 0.0, nan: bool = False):
    """The encoder's named intermediate results, for forward and for capture."""
    table = np.random.default_rng(0).standard_normal((VOCAB, WIDTH)).astype(np.float32)
    rng = np.random.default_rng(1)

    def steps(inputs):
        found = {"lookup": table[inputs["input_ids"] % VOCAB]}
        found["tanh"] = np.tanh(found["lookup"])
        found["masked"] = found["tanh"] * inputs["attention_mask"][..., None]
        hidden = found["masked"]
        if noise:
            hidden = hidden + noise * rng.standard_normal(hidden.shape).astype(np.float32)
        if nan:
            hidden = hidden.copy()
            hidden[..., 0] = np.nan
        found["output"] = hidden
        return found

    return steps


def _encoder(noise: float = 0.0, nan: bool = False):
    steps = _steps(noise, nan)
    return lambda inputs: steps(inputs)["output"]


def _hog() -> None:
    # 64 MiB a step, each page touched so it is resident; capped (FAKE_MEMHOG_MIB, default
    # 1024) so a runner without a limit only hangs, until its timeout.
    hoard = []
    while len(hoard) * 64 < int(os.environ.get("FAKE_MEMHOG_MIB", "1024")):
        hoard.append(np.ones(8 * 2**20, dtype=np.float64))
        time.sleep(0.05)
    time.sleep(3600)


def _trace_lifetime() -> None:
    folder = os.environ.get("FAKE_TRACE_DIR")
    if not folder:
        return
    started = time.time()

    def write() -> None:
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as handle:
            json.dump({"start": started, "end": time.time()}, handle)

    atexit.register(write)


@register_source
class FakeSource(Source):
    prefix = "fake"
    framework = "numpy"
    description = "test models that misbehave on demand"

    def resolve(self, name):
        return Location(f"fake:{name}", LOCAL, path=f"/fake/{name}")


@register_loader("fake")
def load_fake(location, task, options, weights="pretrained", seed=0):
    name = location.handle.split(":", 1)[1]
    if name not in MODELS:
        raise unknown_architecture(location, name, MODELS, "the fake zoo's MODELS")
    _trace_lifetime()
    if name == "slow":
        time.sleep(float(options.get("sleep_s", os.environ.get("FAKE_SLOW_S", "0.5"))))
    if name == "forkhog":
        hog = "from fake_zoo import _hog; _hog()"
        subprocess.Popen([sys.executable, "-c", hog])  # same process group, not waited for
        time.sleep(3600)
    if name == "memhog":
        _hog()
    if name == "segfault":
        ctypes.string_at(0)
    if name == "hang":
        time.sleep(3600)
    if name == "raise":
        raise RuntimeError("fake model refused to load: corrupt header")
    if name == "unavailable":  # a hub download that cannot connect, as offline
        raise unavailable(location, ConnectionError("no route to the fake hub"))
    if name == "lm":
        return _causal_lm(options)
    steps = _steps(noise=1e-3 if name == "noisy" else 0.0, nan=name == "nan")

    def capture(inputs, names):
        found = steps(inputs)
        return {name: found[name] for name in names}

    work = int(1000 * options.get("work", 20)) if name == "spin" else 0

    def forward(inputs):
        total = 0
        for step in range(work):  # `spin`: busy CPU work per call, set by the load option
            total += step
        return steps(inputs)["output"]

    forward.flops_per_sample = 1e18 if name == "impossible" else 2.0 * WIDTH
    return LoadedModel(
        forward=forward,
        capture=None if name == "nocapture" else capture,
        parameters=VOCAB * WIDTH,
        input_dtypes={"input_ids": "int64"},
        details={"name": name},
    )


class FakeDecoder:
    """fake:lm's decoding: the next token's logits are a row of a random table chosen by
    the last token; each model call also busy-loops `work`. Its cache is a float32 array
    of LM_CACHE_WIDTH values per row and position (`total` positions, as a preallocated
    cache holds), which it never reads: its size is what cache_bytes reports."""

    context = LM_CONTEXT

    def __init__(self, table: np.ndarray, work: int):
        self.table, self.work = table, work

    def in_mode(self, mode: str, width: int, total: int, batch: int = 1):
        if mode not in ("eager", "graph"):
            raise ValueError(f"fake:lm decodes in eager or graph mode, not {mode!r}")
        return self

    def _call(self, tokens) -> np.ndarray:
        total = 0
        for step in range(self.work):
            total += step
        return self.table[np.asarray(tokens) % LM_VOCAB]

    def logits(self, ids):
        return self._call(ids)

    def prefill(self, ids, total):
        return self._call(ids[:, -1]), np.zeros((len(ids), total, LM_CACHE_WIDTH), np.float32)

    def step(self, tokens, position, state):
        return self._call(tokens), state

    def cache_bytes(self, state) -> int:
        return state.nbytes


def _causal_lm(options) -> LoadedModel:
    table = np.random.default_rng(2).normal(0.0, 3.0, (LM_VOCAB, LM_VOCAB)).astype(np.float32)
    table += np.float32(options.get("shift", 0.0))
    decoder = FakeDecoder(table, int(1000 * options.get("work", 2)))
    return LoadedModel(
        forward=lambda inputs: table[inputs["input_ids"] % LM_VOCAB],
        parameters=LM_VOCAB * LM_VOCAB,
        input_dtypes={"input_ids": "int64"},
        details={"name": "lm"},
        decoder=decoder,
    )
