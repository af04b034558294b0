"""The worker: one child process, one framework, one model, one execution mode.

    python -m parity.child.worker CELL.json

The parent sets the thread environment before this process starts. The worker
imports its framework (timed, memory), loads the model (timed, memory), computes the
evaluation outputs in its mode, then times each batch size, and writes:
  - the evaluation outputs as .npy (spec "output_path"),
  - when spec "capture" asks ({"layers": [...], "rows": K, "path": ...}), the named
    intermediate activations of the first K evaluation inputs (a causal LM's: its first K
    prompts, a full forward without cache) as .npz, captured in one extra eager call
    after all timing (layers null: every candidate layer, with the record an automatic
    layer map is derived from; parity/child/capture.py),
  - metrics as JSON (spec "metrics_path"); an export mode's also name each exported file
    (exporter, versions, batch size, export time, file size) under "exports",
  - on an exception, its type, message, kind (unavailable, unknown-architecture or error)
    and traceback as JSON (spec "error_path").
Exit status: 0 done; 1 an error; 2 the model needs something this machine lacks.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from parity.contention import CpuClock, is_contended
from parity.errors import ModelUnavailableError, UnknownArchitectureError
from parity.files import load_npy, save_npy, write_json
from parity.machine import batch_fits, peak_mib, reset_peak, rss_mib
from parity.vocabulary import PROTOCOL

EXIT_ERROR = 1
EXIT_UNAVAILABLE = 2
# What error.json's "kind" says: the model needs the network or a package this machine
# lacks (exit 2), its source's library does not know the name (a typo: exit 1), or any
# other failure (exit 1).
UNAVAILABLE, UNKNOWN_ARCHITECTURE, ERROR = "unavailable", "unknown-architecture", "error"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
    "CUDA_VISIBLE_DEVICES",
)


def _log(message: str) -> None:
    print(f"[worker {os.getpid()}] {message}", file=sys.stderr, flush=True)


def batches(arrays: dict[str, np.ndarray], size: int):
    """Fixed-size batches; the last is padded by repeating its final row, and the
    count of real rows is returned so padding never reaches the outputs."""
    total = len(next(iter(arrays.values())))
    for start in range(0, total, size):
        real = min(size, total - start)
        chunk = {}
        for name, array in arrays.items():
            part = array[start : start + real]
            if real < size:
                part = np.concatenate([part, np.repeat(part[-1:], size - real, axis=0)])
            chunk[name] = part
        yield chunk, real


def repeat_rows(array: np.ndarray, count: int) -> np.ndarray:
    repeats = -(-count // len(array))
    return np.concatenate([array] * repeats)[:count] if repeats > 1 else array[:count]


def to_tensors(engine, model, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The model's inputs as the engine's tensors, in the dtypes the model asks for."""
    if model.adapt_inputs is not None:
        arrays = model.adapt_inputs(arrays)
    return {
        name: engine.to_tensor(array.astype(model.input_dtypes.get(name, array.dtype)))
        for name, array in arrays.items()
    }


def timed_loop(
    call, inputs, block, profile: dict[str, Any], threads: int = 1
) -> tuple[list[float], str, float | None]:
    """Time calls until both min_count and min_time_s are reached, or a cap is hit.
    Returns the samples (ms), why the loop stopped, and the CPU share the process got
    over the loop (parity.contention: below 0.90 the loop was contended)."""
    samples: list[float] = []
    clock = CpuClock(threads).start()
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter_ns()
        block(call(inputs))
        samples.append((time.perf_counter_ns() - t0) / 1e6)
        elapsed = time.perf_counter() - start
        if len(samples) >= profile["min_count"] and elapsed >= profile["min_time_s"]:
            return samples, "min_count and min_time reached", clock.share()
        if len(samples) >= profile["max_count"]:
            return samples, "max_count reached", clock.share()
        if elapsed >= profile["max_time_s"]:
            return samples, "max_time reached", clock.share()


def bookkeeping_ns(calls: int = 20000) -> float:
    """What timed_loop itself adds to each call, in ns: timed_loop around a call that does
    nothing, against a bare loop of the same call. Free of the machine's noise, which the
    comparison on a real model (below) is not."""

    def nothing(_inputs):
        return None

    def no_block(_value):
        return None

    profile = {"min_count": calls, "min_time_s": 0.0, "max_count": calls, "max_time_s": 1e9}
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            no_block(nothing(None))
        bare = time.perf_counter_ns() - t0
        t0 = time.perf_counter_ns()
        timed_loop(nothing, None, no_block, profile)
        best = min(best, (time.perf_counter_ns() - t0 - bare) / calls)
    return max(best, 0.0)


def harness_check(call, inputs, block, calls: int, chunks: int = 10) -> dict[str, Any]:
    """What the harness's bookkeeping costs (`nox -s bench`): alternating runs of the same
    call, bare (back-to-back, the run timed as a whole) and as the timed loop makes them
    (each call timed and its sample kept), each run also timed as a whole. Alternating
    keeps the machine's drift out of the comparison. Returns each run's ms per call, and
    the per-call samples the harness runs recorded."""
    per_chunk = max(calls // chunks, 5)
    bare, harnessed, samples = [], [], []
    for _ in range(chunks):
        t0 = time.perf_counter_ns()
        for _ in range(per_chunk):
            block(call(inputs))
        bare.append((time.perf_counter_ns() - t0) / 1e6 / per_chunk)
        t0 = time.perf_counter_ns()
        for _ in range(per_chunk):
            t1 = time.perf_counter_ns()
            block(call(inputs))
            samples.append((time.perf_counter_ns() - t1) / 1e6)
        harnessed.append((time.perf_counter_ns() - t0) / 1e6 / per_chunk)
    return {
        "bare_ms": bare,
        "harness_ms": harnessed,
        "harness_samples_ms": samples,
        "bookkeeping_ns": bookkeeping_ns(),
    }


def count_flops(engine, forward, example) -> dict[str, Any]:
    """FLOPs per sample by the engine's own counter, or the reason there is none."""
    counter = getattr(engine, "count_flops", None)
    if counter is None:
        return {"per_sample": None, "error": f"the {engine.name} engine counts no FLOPs"}
    try:
        return counter(forward, example)
    except Exception as error:  # a count that failed is reported, never guessed
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"per_sample": None, "error": f"{type(error).__name__}: {message}"}


def _reset_device_peak(engine) -> None:
    if hasattr(engine, "reset_device_peak"):
        engine.reset_device_peak()


def _device_peak(engine) -> float | None:
    """Peak GPU memory since the last reset (None on the CPU): torch's
    max_memory_allocated, or TF's get_memory_info peak."""
    return engine.device_peak_mib() if hasattr(engine, "device_peak_mib") else None


def start_engine(spec: dict[str, Any]):
    """The spec's framework imported, its threads set and its device chosen, before any
    model loads: (engine, threads as set, device). Every worker and duel worker starts so."""
    from parity.child.engines import get_engine
    from zoo.sources import load_plugins

    load_plugins()
    engine = get_engine(spec["framework"])
    threads = engine.configure_threads(spec["threads"])
    # Engines of plugins (the tests' numpy engine) know no devices: they run on the CPU.
    use_device = getattr(engine, "use_device", None)
    device = use_device(spec.get("device", "cpu")) if use_device else {"device": "cpu"}
    return engine, threads, device


def load_model(spec: dict[str, Any], engine):
    """The spec's model from its source's loader, placed on the engine's device."""
    from parity.child.loaders import get_loader
    from zoo.sources import Location, all_sources

    source = all_sources()[spec["source_prefix"]]
    if source.tasks and spec["task"] not in source.tasks:
        raise ValueError(
            f"{source.prefix}: loads {', '.join(source.tasks)} models, not {spec['task']!r}"
        )
    model = get_loader(source.prefix)(
        Location(**spec["location"]),
        spec["task"],
        spec.get("load_options", {}),
        weights=spec.get("weights", "pretrained"),
        seed=spec.get("seed", 0),
    )
    if hasattr(engine, "place"):
        engine.place(model.forward)
    return model


def run_cell(spec: dict[str, Any]) -> dict[str, Any]:
    memory: dict[str, Any] = {"rss_start_mib": rss_mib()}
    memory["peak_reset_supported"] = reset_peak()

    t0 = time.perf_counter()
    engine, threads, device = start_engine(spec)
    # An export mode writes its file in the cell's folder (parity.child.export).
    exports = getattr(engine, "exports", None)
    if exports is not None:
        exports.directory = Path(spec["output_path"]).parent / "export"
    import_s = time.perf_counter() - t0
    memory["rss_after_import_mib"] = rss_mib()
    memory["peak_import_mib"], memory["peak_method"] = peak_mib()
    _log(f"imported {spec['framework']} in {import_s:.1f} s")

    reset_peak()
    _reset_device_peak(engine)
    t0 = time.perf_counter()
    model = load_model(spec, engine)
    load_s = time.perf_counter() - t0
    memory["rss_after_load_mib"] = rss_mib()
    memory["peak_load_mib"], _ = peak_mib()
    memory["device_peak_load_mib"] = _device_peak(engine)
    _log(f"loaded {spec['location']['handle']} in {load_s:.1f} s")

    common = {
        "protocol": PROTOCOL,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "versions": engine.versions(),
        "threads": {**threads, "env": {k: os.environ.get(k) for k in THREAD_VARIABLES}},
        "device": device,
        "model": {
            "parameters": model.parameters,
            "weights_bytes": model.weights_bytes,
            "dtype": model.dtype,
            "details": model.details,
        },
    }

    def tensors(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return to_tensors(engine, model, arrays)

    if model.decoder is not None:
        found = measure_generation(model.decoder, spec, memory, engine)
        found["timings"] = {"import_s": import_s, "load_s": load_s, **found["timings"]}
        if spec.get("capture"):  # after every timed and memory figure, as below
            prompts = prompt_rows(spec["inputs"], spec["capture"]["rows"])
            found["capture"] = capture_layers(model, tensors, prompts, spec["capture"])
        return {**common, **found}

    reset_peak()
    _reset_device_peak(engine)
    eval_inputs = {name: load_npy(path) for name, path in spec["inputs"].items()}
    eval_batch = spec["eval_batch"]
    first = tensors(next(batches(eval_inputs, eval_batch))[0])
    call = engine.compile(model.forward, spec["mode"], first)
    t0 = time.perf_counter()
    engine.block(call(first))
    eval_first_call_s = time.perf_counter() - t0

    def evaluate(arrays: dict[str, np.ndarray]) -> np.ndarray:
        outputs = [
            engine.to_numpy(call(tensors(chunk)))[:real]
            for chunk, real in batches(arrays, eval_batch)
        ]
        return np.concatenate(outputs).astype(np.float32, copy=False)

    t0 = time.perf_counter()
    output = evaluate(eval_inputs)
    eval_s = time.perf_counter() - t0
    save_npy(spec["output_path"], output)
    _log(f"evaluated {len(output)} inputs in {eval_s:.1f} s")
    # Further input sets of the same shape (accuracy track B), through the same compiled
    # call, so no second model load; outside every timed region.
    extra_eval = {}
    for name, paths in spec.get("extra_inputs", {}).items():
        extra = evaluate({key: load_npy(path) for key, path in paths.items()})
        save_npy(spec["extra_output_paths"][name], extra)
        extra_eval[name] = {"rows": int(len(extra)), "nonfinite": int((~np.isfinite(extra)).sum())}

    latency: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    profile = spec["profile"]
    measured_batch = eval_batch
    for batch in spec.get("latency_batches", []):
        fits, why = batch_fits(batch, measured_batch, memory["rss_after_load_mib"], peak_mib()[0])
        if not fits:
            skipped[str(batch)] = why
            _log(f"batch {batch}: {why}")
            continue
        # Latency needs `batch` rows of real data; a small evaluation set is repeated.
        example = tensors({name: repeat_rows(array, batch) for name, array in eval_inputs.items()})
        call = engine.compile(model.forward, spec["mode"], example)
        t0 = time.perf_counter()
        engine.block(call(example))
        first_call_s = time.perf_counter() - t0
        for _ in range(profile["warmup"]):
            engine.block(call(example))
        samples, stopped, cpu_share = timed_loop(
            call, example, engine.block, profile, spec["threads"]
        )
        latency[str(batch)] = {
            "first_call_s": first_call_s,
            "warmup_calls": profile["warmup"],
            "samples_ms": samples,
            "stopped": stopped,
            "cpu_share": cpu_share,
            "contended": is_contended(cpu_share),
        }
        if spec.get("harness_check"):
            latency[str(batch)]["harness_check"] = harness_check(
                call, example, engine.block, len(samples)
            )
        _log(f"batch {batch}: {len(samples)} calls, median {np.median(samples):.2f} ms")
        measured_batch = max(measured_batch, batch)
    memory["peak_infer_mib"], _ = peak_mib()
    memory["device_peak_infer_mib"] = _device_peak(engine)
    memory["rss_end_mib"] = rss_mib()
    # After every timed and memory figure, so capturing changes none of them.
    captured = None
    if spec.get("capture"):
        captured = capture_layers(model, tensors, eval_inputs, spec["capture"])
    # After every timed loop and memory reading, so counting disturbs neither; a cell with
    # no timed loop (a diagnostic) has no rate to relate it to.
    flops = None
    if latency:
        example = tensors({name: array[:1] for name, array in eval_inputs.items()})
        flops = count_flops(engine, model.forward, example)

    return {
        **common,
        "timings": {
            "import_s": import_s,
            "load_s": load_s,
            "eval_first_call_s": eval_first_call_s,
            "eval_s": eval_s,
        },
        "memory": memory,
        "eval": {
            "rows": int(len(output)),
            "batch": eval_batch,
            "output_shape": list(output.shape),
            "nonfinite": int((~np.isfinite(output)).sum()),
            **({"extra": extra_eval} if extra_eval else {}),
        },
        "latency": latency,
        "latency_skipped": skipped,
        **({"capture": captured} if captured else {}),
        "flops": flops,
        # An export mode's files: exporter, versions, batch, export time, size.
        **({"exports": exports.report()} if exports is not None and exports.made else {}),
    }


def measure_generation(decoder, spec: dict[str, Any], memory: dict, engine) -> dict[str, Any]:
    """A causal LM's cell (parity/child/generation.py), in the cell's mode: the first
    generation timed cold, every prompt evaluated (logits, greedy tokens) at batch 1, then
    at each timed batch size its own first generation (a compiled mode compiles again for
    it), time to first token and decode time, the key-value cache's size and the peak
    resident memory so far. generation: {batch: figures}, None for a diagnostic cell."""
    from parity.child import generation

    reset_peak()
    _reset_device_peak(engine)
    prompts = generation.Prompts({name: load_npy(path) for name, path in spec["inputs"].items()})
    loaded, mode = decoder, spec["mode"]
    decoder = generation.in_mode(loaded, mode, prompts)
    batches = list(spec.get("latency_batches") or [])  # a diagnostic cell times nothing
    # Before anything else runs in this mode, so its compiling falls in this figure.
    first_generation_s = generation.first_generation(decoder, prompts) if 1 in batches else None
    t0 = time.perf_counter()
    found = generation.evaluate(decoder, prompts)
    eval_s = time.perf_counter() - t0
    generation.save_output(spec["output_path"], found)
    _log(f"evaluated {len(prompts.lengths)} prompts in {eval_s:.1f} s")
    speed = {}
    for batch in batches:
        timed, first_s = decoder, first_generation_s
        if batch != 1:  # B copies of the timed prompt; a compiled mode compiles for B here
            timed = generation.in_mode(loaded, mode, prompts, batch)
            first_s = generation.first_generation(timed, prompts, batch)
        figures = generation.time_generation(
            timed, prompts, first_s, spec["profile"], spec["threads"], batch
        )
        figures["peak_rss_mib"], _ = peak_mib()  # the cell's peak up to this batch's end
        speed[str(batch)] = figures
        _log(
            f"generation at batch {batch}: time to first token "
            f"{np.median(figures['ttft_ms']):.2f} ms, decode "
            f"{np.median(figures['decode_ms']):.2f} ms for {batch} x "
            f"{figures['new_tokens'] - 1} tokens, KV cache {figures['kv_cache']}"
        )
    memory["peak_infer_mib"], _ = peak_mib()
    memory["device_peak_infer_mib"] = _device_peak(engine)
    memory["rss_end_mib"] = rss_mib()
    return {
        "timings": {"eval_s": eval_s},
        "memory": memory,
        "eval": {
            "rows": int(len(prompts.lengths)),
            "batch": 1,
            "output_shape": list(found["last_logits"].shape),
            "nonfinite": int((~np.isfinite(found["last_logits"])).sum()),
        },
        "latency": {},
        "latency_skipped": {},
        "generation": speed or None,
        "flops": None,
    }


def prompt_rows(inputs: dict[str, str], rows: int) -> dict[str, np.ndarray]:
    """A causal LM's first prompts as a capture takes them: token ids right-padded to the
    longest of these rows, and the attention mask of their real tokens."""
    ids, lengths = load_npy(inputs["input_ids"])[:rows], load_npy(inputs["lengths"])[:rows]
    width = int(lengths.max())
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    return {"input_ids": ids[:, :width], "attention_mask": mask}


def capture_layers(model, tensors, eval_inputs: dict[str, np.ndarray], request: dict) -> dict:
    """Named activations of the first rows, saved as .npz; a capture that fails is
    reported in the metrics and leaves the cell's measurements standing."""
    if model.capture is None:
        return {"error": "this source has no capture hook (LoadedModel.capture)"}
    rows = {name: array[: request["rows"]] for name, array in eval_inputs.items()}
    t0 = time.perf_counter()
    try:
        # layers None: an automatic capture (a map derived from the conversion)
        layers = request["layers"]
        found = model.capture(tensors(rows), None if layers is None else list(layers))
    except Exception as error:  # a layer map that does not fit the model, say
        _log(f"capture failed: {type(error).__name__}: {error}")
        return {"error": f"{type(error).__name__}: {error}"}
    missing = [name for name in request["layers"] or () if name not in found]
    Path(request["path"]).parent.mkdir(parents=True, exist_ok=True)
    np.savez(request["path"], **{name: np.asarray(found[name]) for name in found})
    seconds = time.perf_counter() - t0
    _log(f"captured {len(found)} layers in {seconds:.1f} s")
    return {
        "path": request["path"],
        "rows": int(len(next(iter(rows.values())))),
        "layers": len(found),
        "missing": missing,
        "bytes": int(sum(np.asarray(a).nbytes for a in found.values())),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m parity.child.worker CELL.json", file=sys.stderr)
        return EXIT_ERROR
    spec = json.loads(Path(argv[0]).read_text())
    if spec.get("protocol") != PROTOCOL:
        print(
            f"cell protocol {spec.get('protocol')} != worker protocol {PROTOCOL}", file=sys.stderr
        )
        return EXIT_ERROR
    try:
        metrics = run_cell(spec)
    except Exception as error:  # every failure becomes a record the parent can show
        kind = (
            UNAVAILABLE
            if isinstance(error, ModelUnavailableError)
            else UNKNOWN_ARCHITECTURE
            if isinstance(error, UnknownArchitectureError)
            else ERROR
        )
        traceback.print_exc()
        write_json(
            spec["error_path"],
            {
                "type": type(error).__name__,
                "message": str(error).strip().splitlines()[0] if str(error).strip() else "",
                "kind": kind,
                "unavailable": kind == UNAVAILABLE,
                "traceback": traceback.format_exc(),
            },
        )
        return EXIT_UNAVAILABLE if kind == UNAVAILABLE else EXIT_ERROR
    write_json(spec["metrics_path"], metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
