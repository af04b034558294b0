"""A warm worker: one side of a duel (parity.run.duel), loaded once, timed in short rounds.

    python -m parity.child.serve SPEC.json

It imports its framework, loads the model, compiles the call for one batch size, makes
the first call and the warm-up calls, then says it is ready and waits on stdin. Each
command line is JSON:

    {"op": "round", "loop": {"min_count": 5, "min_time_s": 0.2, "max_count": 1000,
                             "max_time_s": 5.0}}   one timed loop (worker.timed_loop)
    {"op": "stop"}                                 exit 0 (so does end of input)

and each answer one JSON line on stdout:

    {"event": "ready", "pid", "import_s", "load_s", "first_call_s", "versions", "threads"}
    {"event": "round", "samples_ms": [...], "stopped": "...", "cpu_share": 0.99}
        (a causal LM's round also answers "series": {"ttft_ms": [...]}: samples_ms are
        then whole generations' decode times, parity.child.generation)
    {"event": "error", "type": "...", "message": "...", "unavailable": false}

Waiting on stdin blocks in the kernel: an idle worker takes no CPU from the one being
timed. Anything the framework prints goes to stderr, so stdout carries only the protocol.

The spec holds what a cell spec holds for loading (framework, source_prefix, location,
task, load_options, weights, seed, mode, threads, device, inputs: name -> .npy) plus
"batch" (rows per call; the inputs are repeated to fill it; a causal LM's generations
decode that many copies of its timed prompt) and "warmup" (untimed calls).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from parity.child.worker import (
    EXIT_ERROR,
    EXIT_UNAVAILABLE,
    load_model,
    repeat_rows,
    start_engine,
    timed_loop,
    to_tensors,
)
from parity.files import load_npy
from parity.vocabulary import PROTOCOL


def protocol_channel() -> TextIO:
    """A private copy of stdout for the protocol; fd 1 then points at stderr, so a
    framework's prints cannot corrupt an answer."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def send(channel: TextIO, event: str, **fields: Any) -> None:
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


class WarmModel:
    """One model, compiled for one batch size, warmed up: call round() as often as asked."""

    def __init__(self, spec: dict[str, Any]):
        t0 = time.perf_counter()
        engine, self.threads, self.device = start_engine(spec)
        self.engine = engine
        self.thread_count = spec["threads"]
        self.import_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        model = load_model(spec, engine)
        self.load_s = time.perf_counter() - t0

        arrays = {name: load_npy(path) for name, path in spec["inputs"].items()}
        self.generation = None
        if model.decoder is not None:  # a causal LM: its rounds time whole generations
            self.generation = WarmGeneration(model.decoder, spec["mode"], arrays, spec["batch"])
            self.first_call_s = self.generation.first_generation_s
            return
        self.example = to_tensors(
            engine, model, {name: repeat_rows(a, spec["batch"]) for name, a in arrays.items()}
        )
        self.call = engine.compile(model.forward, spec["mode"], self.example)
        t0 = time.perf_counter()
        engine.block(self.call(self.example))
        self.first_call_s = time.perf_counter() - t0
        for _ in range(spec.get("warmup", 10)):
            engine.block(self.call(self.example))

    def ready(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "import_s": self.import_s,
            "load_s": self.load_s,
            "first_call_s": self.first_call_s,
            "versions": self.engine.versions(),
            "threads": self.threads,
            "device": self.device,
        }

    def round(self, loop: dict[str, Any]) -> dict[str, Any]:
        if self.generation is not None:
            return self.generation.round(loop, self.thread_count)
        samples, stopped, share = timed_loop(
            self.call, self.example, self.engine.block, loop, self.thread_count
        )
        return {"samples_ms": samples, "stopped": stopped, "cpu_share": share}


class WarmGeneration:
    """A causal LM's decoder in the duel's mode at the duel's batch size
    (parity.child.generation), its first generation made and timed, then its warm-up
    generations. A round times whole generations of `batch` copies of the longest prompt:
    samples_ms are their decode times (the new tokens after the first), and
    series.ttft_ms their times to first token, paired by index."""

    def __init__(self, decoder, mode: str, arrays: dict[str, Any], batch: int = 1):
        from parity.child import generation

        self.module, self.batch = generation, batch
        self.prompts = generation.Prompts(arrays)
        self.decoder = generation.in_mode(decoder, mode, self.prompts, batch)
        self.first_generation_s = generation.first_generation(self.decoder, self.prompts, batch)
        generation.warm_up(self.decoder, self.prompts, batch)

    def round(self, loop: dict[str, Any], threads: int) -> dict[str, Any]:
        found = self.module.timed_generations(self.decoder, self.prompts, loop, threads, self.batch)
        return {
            "samples_ms": found["decode_ms"],
            "series": {"ttft_ms": found["ttft_ms"]},
            "stopped": found["stopped"],
            "cpu_share": found["cpu_share"],
        }


def serve(spec: dict[str, Any], channel: TextIO, commands: TextIO) -> int:
    try:
        warm = WarmModel(spec)
    except Exception as error:  # every failure becomes an answer the parent can show
        from zoo.sources import ModelUnavailableError

        traceback.print_exc()
        unavailable = isinstance(error, ModelUnavailableError)
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        send(channel, "error", type=type(error).__name__, message=message, unavailable=unavailable)
        return EXIT_UNAVAILABLE if unavailable else EXIT_ERROR
    send(channel, "ready", **warm.ready())
    for line in commands:  # blocks, using no CPU, until the parent asks
        command = json.loads(line)
        if command.get("op") == "stop":
            break
        if command.get("op") != "round":
            send(channel, "error", type="ValueError", message=f"unknown command {line.strip()}")
            return EXIT_ERROR
        send(channel, "round", **warm.round(command["loop"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m parity.child.serve SPEC.json", file=sys.stderr)
        return EXIT_ERROR
    channel = protocol_channel()
    spec = json.loads(Path(argv[0]).read_text())
    if spec.get("protocol") != PROTOCOL:
        message = f"spec protocol {spec.get('protocol')} != worker protocol {PROTOCOL}"
        send(channel, "error", type="ValueError", message=message, unavailable=False)
        return EXIT_ERROR
    return serve(spec, channel, sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
