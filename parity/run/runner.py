"""The runner: plans cells, prepares shared inputs, spawns one worker per cell, and
turns what the workers wrote into one results record. Imports no framework.

A cell is (pair, side, mode), or a pair's diagnostic variant. Cells run one at a time,
so no two measurements share the machine, unless --jobs allows more (parity.run.scheduler).
A worker that crashes, hangs past its timeout, passes its memory limit, or raises
becomes a failed cell with the tail of its stderr; the run goes on. Each finished cell
is saved in the run's work folder at once (parity.run.journal), so a killed run resumes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from parity import spawn
from parity.evaluate import deployment, divergence
from parity.evaluate.statistics import median_ratio, summarize
from parity.files import write_json
from parity.results import store as results
from parity.run import budget, comparisons, executors, journal, load, peak, scheduler, shards
from parity.run.progress import Progress
from parity.run.settings import PRETRAINED, SEEDED, RunConfig
from parity.tasks import image_classifier, text_encoder, text_generation
from parity.vocabulary import (
    EAGER,
    EXPORT_MODES,
    FAILED,
    OK,
    ONNX,
    PROTOCOL,
    UNAVAILABLE,
)
from zoo.catalog import SAME_WEIGHTS, SIDES, Pair
from zoo.seeding import seeded_pair
from zoo.sources import ChildJob, Location, RunChild, get_source, refuse_empty_file

# Each task's handler: prepare(pair, config, work_dir), accuracy(pair, prepared, cell),
# agreement(pair, prepared, cell_a, cell_b); optionally speed(pair, prepared, cells) (what
# its workers time outside the latency loops: a causal LM's generation).
TASK_HANDLERS = {
    "text-encoder": text_encoder,
    "image-classifier": image_classifier,
    "text-generation": text_generation,
}


@dataclass
class Cell:
    pair: Pair
    side: str
    mode: str
    handle: str
    load_options: dict[str, Any]
    diagnostic: str | None = None
    occurrence: int = 0  # the same pair twice in one run: 0 for the first, 1 the next...

    @property
    def id(self) -> str:
        tail = f"diagnostic:{self.diagnostic}" if self.diagnostic else self.mode
        return f"{self.pair.id}/{self.side}/{tail}"

    @property
    def key(self) -> str:
        """Names the cell's folder in the run's work folder: unique within the run."""
        return self.id if not self.occurrence else f"{self.id}#{self.occurrence}"


def plan_cells(pair: Pair, config: RunConfig) -> list[Cell]:
    cells = []
    for side in SIDES:
        spec = pair.side(side)
        source, _ = get_source(spec.handle)
        for mode in config.modes_for(side, source.framework, pair.task):
            cells.append(Cell(pair, side, mode, spec.handle, spec.load_options))
    if config.diagnostics:
        for diag in pair.diagnostics:
            handle = pair.side(diag.side).handle
            cells.append(Cell(pair, diag.side, EAGER, handle, diag.load_options, diag.name))
    return cells


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU, asked of the driver, not of a framework (the
    parent imports none). Each worker then checks its own framework can use it."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def resolve_device(wanted: str) -> str:
    if wanted == "auto":
        return "cuda" if gpu_present() else "cpu"
    if wanted not in ("cpu", "cuda"):
        raise ValueError(f"--device {wanted!r}: use cpu, cuda or auto")
    return wanted


def run_worker(
    spec: dict[str, Any],
    cell_dir: Path,
    framework: str,
    threads: int,
    timeout_s: float,
    memory_limit_mib: float | None = None,
    placement: Any = None,
) -> dict[str, Any]:
    """Run one worker through the run's executor (locally: holding one of the run's
    worker slots) and classify how it ended. Raises executors.CellLost when its node was
    lost."""
    spec_path = cell_dir / "cell.json"
    write_json(spec_path, spec)
    job = executors.WorkerJob(
        spec,
        cell_dir,
        framework,
        threads,
        timeout_s,
        memory_limit_mib,
        timed=bool(spec["latency_batches"]),
        placement=placement,
    )
    outcome, node = executors.current().run_worker(job)
    record = classify(outcome, spec)
    if node is not None:
        record["node"] = node
    return record


def classify(outcome: spawn.Outcome, spec: dict[str, Any]) -> dict[str, Any]:
    """A worker's record from how it ended and the files it wrote: ok with its metrics,
    unavailable, or failed with the reason."""
    record: dict[str, Any] = {"returncode": outcome.returncode, "wall_s": outcome.wall_s}
    error_path, metrics_path = Path(spec["error_path"]), Path(spec["metrics_path"])
    if outcome.peak_rss_mib is not None:
        record["peak_rss_seen_mib"] = round(outcome.peak_rss_mib, 1)
    if outcome.memory_killed:
        reason = f"{outcome.reason()}; raise --memory-limit or lower --batch-sizes"
        record.update(status=FAILED, reason=reason)
    elif outcome.timed_out or outcome.signal:
        record.update(status=FAILED, reason=outcome.reason())
    elif outcome.ok and metrics_path.is_file():
        record.update(status=OK, metrics=json.loads(metrics_path.read_text()))
    elif error_path.is_file():
        error = json.loads(error_path.read_text())
        record.update(
            status=UNAVAILABLE if error.get("unavailable") else FAILED,
            reason=f"{error['type']}: {error['message']}",
        )
    else:
        reason = f"exited with code {outcome.returncode} and wrote no result"
        record.update(status=FAILED, reason=reason)
    if record["status"] != OK:
        record["stderr_tail"] = outcome.stderr_tail
    return record


def zoo_child_runner(config: RunConfig) -> RunChild:
    """How the run starts the children zoo describes (a seeded checkpoint, a conversion):
    through parity.spawn, with the run's threads, timeout and memory limit."""

    def run_job(job: ChildJob) -> None:
        outcome = spawn.run_child(
            job.module,
            job.args,
            env=spawn.child_environment(config.threads, job.framework),
            timeout_s=config.timeout_s,
            memory_limit_mib=config.memory_limit_mib,
        )
        if not outcome.ok:
            raise ValueError(f"{job.failure}: {outcome.reason()}")

    return run_job


def _cell_spec(
    cell: Cell,
    location: Location,
    inputs: dict[str, str],
    cell_dir: Path,
    config: RunConfig,
    weights: str,
    extra_inputs: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    source, _ = get_source(cell.handle)
    extra_inputs = extra_inputs or {}
    return {
        "protocol": PROTOCOL,
        "cell_id": cell.id,
        "framework": source.framework,
        "source_prefix": source.prefix,
        "location": location.to_dict(),
        "task": cell.pair.task,
        "load_options": cell.load_options,
        "mode": cell.mode,
        "threads": config.threads,
        "device": config.device,
        "inputs": inputs,
        "eval_batch": config.eval_batch,
        "latency_batches": [] if cell.diagnostic else list(config.latency_batches),
        "weights": weights,
        "seed": config.seed,
        "profile": config.profile.to_dict(),
        "harness_check": config.harness_check,
        "output_path": str(cell_dir / "output.npy"),
        "metrics_path": str(cell_dir / "metrics.json"),
        "error_path": str(cell_dir / "error.json"),
        "capture": divergence.capture_request(cell, config.divergence, cell_dir),
        # Further input sets evaluated in the same cell (accuracy track B), by name.
        "extra_inputs": extra_inputs,
        "extra_output_paths": {name: str(cell_dir / f"output_{name}.npy") for name in extra_inputs},
    }


def run_cell(
    cell: Cell,
    inputs: dict[str, str],
    work_dir: Path,
    config: RunConfig,
    weights: str,
    extra_inputs: dict[str, dict[str, str]] | None = None,
    placement: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure one cell. placement: the node its pair's timed cells run on (the executor's
    choice; None locally). Raises executors.CellLost when the cell was lost with its node."""
    source, name = get_source(cell.handle)
    location = source.resolve(name)
    record: dict[str, Any] = {
        "cell_id": cell.id,
        "side": cell.side,
        "mode": cell.mode,
        "diagnostic": cell.diagnostic,
        "framework": source.framework,
        "handle": cell.handle,
        "load_options": cell.load_options,
        "location": location.to_dict(),
    }
    needs_weights = weights == PRETRAINED
    if (
        needs_weights
        and not location.loadable_offline
        and (config.offline or location.availability == "missing")
    ):
        record.update(status=UNAVAILABLE, reason=f"{cell.handle}: {location.note}")
        return record
    try:
        with scheduler.setup_lock:  # two cells of a pair may convert the same file
            location = source.materialize(location, work_dir, zoo_child_runner(config))
        if needs_weights:
            refuse_empty_file(location)
    except (ValueError, OSError) as error:
        record.update(status=FAILED, reason=f"{cell.handle}: {error}")
        return record
    record["location"] = location.to_dict()
    cell_dir = journal.fresh_cell_dir(work_dir, cell.key)
    spec = _cell_spec(cell, location, inputs, cell_dir, config, weights, extra_inputs)
    record.update(_measure(cell, spec, cell_dir, source.framework, config, placement, progress))
    if record["status"] == OK:
        record["output_path"] = spec["output_path"]
        if spec["extra_output_paths"]:
            record["extra_output_paths"] = spec["extra_output_paths"]
        record["latency_stats"] = {
            batch: summarize(entry["samples_ms"]).to_dict()
            for batch, entry in record["metrics"]["latency"].items()
        }
    return record


def _measure(
    cell: Cell,
    spec: dict[str, Any],
    cell_dir: Path,
    framework: str,
    config: RunConfig,
    placement: Any,
    progress: Progress | None,
) -> dict[str, Any]:
    """The cell's worker; or, when its evaluation has more rows than the executor's
    shard_rows, the worker on the first shard and one evaluation worker per further shard,
    all at once, merged exactly (parity.run.shards). The progress counts every shard."""

    def one(each: dict[str, Any], folder: Path) -> dict[str, Any]:
        return run_worker(
            each,
            folder,
            framework,
            config.threads,
            config.timeout_s,
            config.memory_limit_mib,
            placement,
        )

    shard_rows = executors.current().shard_rows
    if not shard_rows or cell.diagnostic or cell.pair.task not in shards.TASKS:
        return one(spec, cell_dir)
    spans = shards.bounds(shards.rows_of(spec["inputs"]), shard_rows, spec["eval_batch"])
    if len(spans) == 1:
        return one(spec, cell_dir)
    specs = shards.split(spec, cell_dir, spans)
    if progress is not None:
        progress.add(len(spans) - 1)

    def run_shard(number: int) -> dict[str, Any] | executors.CellLost:
        folder = cell_dir if number == 0 else Path(specs[number]["metrics_path"]).parent
        try:
            found = one(specs[number], folder)
        except executors.CellLost as lost:  # the other shards still finish
            return lost
        if number and progress is not None:
            name = f"{cell.id} shard {number + 1}/{len(spans)}"
            detail = found.get("reason", "")
            progress.finish(name, found["status"], found.get("wall_s", 0.0), detail)
        return found

    found = scheduler.map_ordered(run_shard, range(len(spans)), len(spans))
    lost = [each for each in found if isinstance(each, executors.CellLost)]
    if lost:
        raise lost[0]
    return shards.merge(found, specs, spans)


def _judge(fn, *args) -> dict[str, Any]:
    """A check that cannot be computed (NaN outputs, say) is reported, not raised."""
    try:
        return fn(*args)
    except ValueError as error:
        return {"error": str(error)}


def evaluate_pair(
    pair: Pair,
    handler,
    prepared,
    cells: list[dict],
    weights: str,
    converted: bool = False,
    divergence_enabled: bool | None = None,
) -> dict:
    """converted: a seeded same-weights pair whose sides share one seeded checkpoint, so
    their agreement is measured (accuracy never is, with seeded weights)."""
    ok = {c["cell_id"]: c for c in cells if c["status"] == OK}
    main = [c for c in ok.values() if not c["diagnostic"]]
    seeded = weights == SEEDED

    def eager(side: str) -> dict | None:
        return next((c for c in main if c["side"] == side and c["mode"] == EAGER), None)

    def agree(a: dict, b: dict) -> dict:
        return _judge(handler.agreement, pair, prepared, a, b)

    evaluation: dict[str, Any] = {
        "accuracy": {},
        "agreement": None,
        "mode_consistency": {},
        "diagnostics": [],
        "latency": {},
    }
    # A task may score seeded weights both sides share (a causal LM's perplexity, set side
    # by side as a check of the two computations, not of the model).
    scored = not seeded or (converted and getattr(handler, "SCORED_WHEN_SEEDED", False))
    for cell in main:
        evaluation["accuracy"][cell["cell_id"]] = (
            _judge(handler.accuracy, pair, prepared, cell)
            if scored
            else {"error": "seeded weights: accuracy is not measured"}
        )
    if not seeded and hasattr(handler, "summarize_tracks"):
        evaluation["tracks"] = handler.summarize_tracks(
            pair, prepared, main, evaluation["accuracy"]
        )
    reference = {side: eager(side) for side in SIDES}
    if all(reference.values()) and (converted or not seeded):
        evaluation["agreement"] = {
            "torch_cell": reference["torch"]["cell_id"],
            "tensorflow_cell": reference["tensorflow"]["cell_id"],
            **agree(reference["torch"], reference["tensorflow"]),
        }
    # Each compiled or exported mode against its own side's eager output: does compiling,
    # or exporting and running elsewhere, change results? (A quantised export is judged by
    # its predictions: parity.evaluate.deployment.)
    for cell in main:
        ref = reference[cell["side"]]
        if cell["mode"] != EAGER and ref:
            evaluation["mode_consistency"][cell["cell_id"]] = {
                "against": ref["cell_id"],
                **deployment.judge(handler, pair, prepared, ref, cell, agree(ref, cell)),
            }
    # An exported model against the other side's eager output, where their numbers compare.
    if pair.relation == SAME_WEIGHTS and all(reference.values()) and (converted or not seeded):
        for cell in main:
            if cell["mode"] in EXPORT_MODES:
                other = reference["tensorflow" if cell["side"] == "torch" else "torch"]
                ordered = (cell, other) if cell["side"] == "torch" else (other, cell)
                evaluation.setdefault("export_agreement", {})[cell["cell_id"]] = (
                    deployment.judge_other_side(
                        handler, pair, prepared, ordered, cell, agree(*ordered)
                    )
                )
    if exported := deployment.export_latency(main):
        evaluation["export_latency"] = exported
    for diag in pair.diagnostics:
        cell = next((c for c in ok.values() if c["diagnostic"] == diag.name), None)
        other = "tensorflow" if diag.side == "torch" else "torch"
        entry = {
            "name": diag.name,
            "side": diag.side,
            "question": diag.question,
            "load_options": diag.load_options,
        }
        if cell and reference[other]:
            ordered = (cell, reference[other]) if diag.side == "torch" else (reference[other], cell)
            entry["agreement"] = agree(*ordered)
        evaluation["diagnostics"].append(entry)
    # The native comparison: framework modes only. Both sides exported to ONNX run in one
    # runtime, so their comparison is its own (parity.vocabulary.EXPORT_MODES).
    evaluation["latency"] = compare_latency([c for c in main if c["mode"] not in EXPORT_MODES])
    onnx = compare_latency([c for c in main if c["mode"] == ONNX])
    if any("torch_over_tf" in entry for entry in onnx.values()):  # both sides timed
        evaluation["onnx_latency"] = onnx
    if hasattr(handler, "speed"):
        evaluation["generation"] = handler.speed(pair, prepared, main)
    found = divergence.pair_divergence(
        pair, reference, getattr(prepared, "shared", True), divergence_enabled
    )
    if found is not None:
        evaluation["divergence"] = found
    return evaluation


def compare_latency(cells: list[dict]) -> dict[str, Any]:
    """Per batch size: each side's fastest mode, and the ratio torch/tensorflow of medians."""
    comparison: dict[str, Any] = {}
    batches = sorted({b for c in cells for b in c.get("latency_stats", {})}, key=int)
    for batch in batches:
        best: dict[str, dict] = {}
        for side in SIDES:
            timed = [c for c in cells if c["side"] == side and batch in c.get("latency_stats", {})]
            if timed:
                best[side] = min(timed, key=lambda c: c["latency_stats"][batch]["median"])
        entry: dict[str, Any] = {
            side: {"best_mode": c["mode"], "median_ms": c["latency_stats"][batch]["median"]}
            for side, c in best.items()
        }
        if len(best) == 2:
            ratio = median_ratio(
                best["torch"]["metrics"]["latency"][batch]["samples_ms"],
                best["tensorflow"]["metrics"]["latency"][batch]["samples_ms"],
                name_a="PyTorch",
                name_b="TensorFlow",
            )
            entry["torch_over_tf"] = ratio.to_dict()
        comparison[batch] = entry
    return comparison


def _timed(cell: Cell, config: RunConfig) -> bool:
    """Whether the cell's worker runs latency loops (and so needs its node to itself)."""
    return not cell.diagnostic and bool(config.latency_batches)


def _pair_header(pair: Pair) -> dict[str, Any]:
    return {
        "id": pair.id,
        "task": pair.task,
        "relation": pair.relation,
        "description": pair.description,
        "atol": pair.atol,
        "sides": {side: {"handle": pair.side(side).handle} for side in SIDES},
        "published": [vars(p) for p in pair.published],
    }


def run_pair(
    pair: Pair, config: RunConfig, work_dir: Path, progress: Progress, occurrence: int = 0
) -> dict[str, Any]:
    record = _pair_header(pair)
    record["settings"] = config.pair_settings()
    handler = TASK_HANDLERS[pair.task]
    # Seeded same-weights pairs load one seeded checkpoint on both sides, through the
    # real conversion, so their agreement is still measured.
    converted = config.weights == SEEDED and pair.relation == SAME_WEIGHTS
    cell_weights = PRETRAINED if converted else config.weights
    if converted:
        try:
            with scheduler.setup_lock:
                pair, record["seeded_checkpoint"] = seeded_pair(
                    pair, work_dir, config.seed, zoo_child_runner(config)
                )
        except (ValueError, OSError) as error:
            record.update(status=FAILED, reason=str(error), cells=[])
            progress.note(f"{pair.id}: {error}")
            progress.skip(len(plan_cells(pair, config)))
            return record
    try:
        with scheduler.setup_lock:
            inputs = handler.prepare(pair, config, work_dir)
    except (ValueError, OSError) as error:
        record.update(status=FAILED, reason=f"inputs could not be prepared: {error}", cells=[])
        progress.note(f"{pair.id}: {record['reason']}")
        progress.skip(len(plan_cells(pair, config)))
        return record
    record["dataset"] = inputs.describe()

    planned = [replace(cell, occurrence=occurrence) for cell in plan_cells(pair, config)]
    executor = executors.current()
    # A resumed run keeps what its earlier attempt finished; each new cell is saved as soon
    # as it ends, so a killed run loses at most the cells still running.
    kept = {cell.key: journal.load_cell(work_dir, cell.key, cell.id) for cell in planned}
    # Where the pair's timed cells run (one node on a cluster): where the kept ones did,
    # if the executor still can.
    kept_timed = [kept[c.key] for c in planned if _timed(c, config) and kept[c.key]]
    placement = executor.place_pair([(found.get("node") or {}).get("id") for found in kept_timed])

    def measure(cell: Cell) -> dict[str, Any]:
        progress.start(cell.id)
        found = kept[cell.key]
        if found is not None and _timed(cell, config) and not executor.keeps(found, placement):
            progress.note(f"{cell.id}: measured again, on the node of its pair's other timings")
            found = None
        if found is None:
            # Diagnostic cells test a hypothesis on track A's inputs only.
            extra_for = getattr(inputs, "extra_inputs_for", None)
            extra = extra_for(cell.side) if extra_for and not cell.diagnostic else {}
            try:
                found = run_cell(
                    cell,
                    inputs.paths_for(cell.side),
                    work_dir,
                    config,
                    cell_weights,
                    extra,
                    placement,
                    progress,
                )
            except executors.CellLost as error:
                # Not journaled: the resume measures it again. The run does not complete.
                executor.lost.append(cell.id)
                found = {
                    "cell_id": cell.id,
                    "side": cell.side,
                    "mode": cell.mode,
                    "diagnostic": cell.diagnostic,
                    "framework": get_source(cell.handle)[0].framework,
                    "handle": cell.handle,
                    "load_options": cell.load_options,
                    "status": FAILED,
                    "reason": f"lost on its node ({error}); `parity run --resume` "
                    "measures it again",
                }
            else:
                journal.save_cell(work_dir, cell.key, found)
        detail = "" if found["status"] == OK else found.get("reason", "")
        status = found["status"] + (
            " (kept from the interrupted run)" if found.get("resumed") else ""
        )
        progress.finish(cell.id, status, found.get("wall_s", 0.0), detail)
        return found

    cells = scheduler.map_ordered(measure, planned, executor.concurrency())
    record["cells"] = cells
    record["evaluation"] = evaluate_pair(
        pair, handler, inputs, cells, config.weights, converted, config.divergence
    )
    for latency, label in (
        (record["evaluation"]["latency"], ""),
        (record["evaluation"].get("onnx_latency", {}), ONNX),
    ):
        comparisons.replicate(
            pair,
            cells,
            latency,
            inputs,
            config,
            cell_weights,
            work_dir,
            progress.note,
            label,
            placement,
        )
    if record["evaluation"].get("generation"):  # a causal LM: its generations duel
        comparisons.replicate_generation(
            pair,
            cells,
            record["evaluation"],
            inputs,
            config,
            cell_weights,
            work_dir,
            progress.note,
            placement,
        )
    record["status"] = OK if any(c["status"] == OK for c in cells) else FAILED
    return record


def run(pairs: list[Pair | tuple[Pair, RunConfig]], config: RunConfig) -> dict[str, Any]:
    """Measure every pair; write results.json and report.md under config.out_dir.

    A pair may come with its own RunConfig (a suite entry's settings); where it does not,
    it runs under `config`, which also holds the run-wide settings (output, history, jobs).
    Its workers run where config.executor says (parity.run.executors); a cluster is
    checked before anything else happens.
    """
    executor = executors.open_executor(config)
    executors.use(executor)
    try:
        return _run(pairs, config, executor)
    finally:
        executors.use(None)
        executor.close()


def _run(pairs, config: RunConfig, executor) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    # A results file that cannot be read is the user's to inspect: never write over it.
    results.refuse_to_overwrite(config.out_dir / "results.json")
    planned = [item if isinstance(item, tuple) else (item, config) for item in pairs]
    total = sum(len(plan_cells(pair, pair_config)) for pair, pair_config in planned)
    record: dict[str, Any] = {
        "schema_version": results.SCHEMA_VERSION,
        "run_id": f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": results.machine_info(),
        "libraries": results.library_versions(),
        "commit": results.commit_info(),
        "settings": config.recorded_settings(),
        "pairs": [],
    }
    if executor.name != executors.LOCAL:
        record["executor"] = executor.describe()
    # A new run's worker slots; from here on Ctrl-C stops every child this run starts.
    slots = scheduler.use_slots(config.jobs)
    if config.device != "cpu":
        record["machine"]["gemm_peak"] = {
            "gflops_per_s": None,
            "error": "the GEMM calibration measures the CPU; no GPU peak is measured",
        }
    elif config.calibrate:
        executor.calibrate(config, record["machine"])  # on a cluster, each node's
    else:
        record["machine"]["gemm_peak"] = {"gflops_per_s": None, "error": "not calibrated"}
    # A busy machine gives no verdict (docs/measurement.md rule 6b): say so before starting.
    checked = load.check_load()
    record["load_check"] = checked.to_dict()
    if checked.warning:
        print(f"parity: warning: {checked.warning}", file=sys.stderr)
    if config.budget_s:
        planned = _plan_to_budget(planned, config, record)
        total = sum(len(plan_cells(pair, pair_config)) for pair, pair_config in planned)
    # What a resumed run must match: each pair with both sides' handles.
    pair_ids = [f"{p.id} ({p.torch.handle} | {p.tensorflow.handle})" for p, _ in planned]
    if config.resume is not None:
        work_dir = Path(config.resume)
        journal.resume(record, work_dir, pair_ids)
    else:
        work_dir = journal.start(record, config.out_dir, pair_ids, config.argv)
    completed = published = False
    try:
        with Progress(total) as progress:
            scheduler.map_ordered(
                lambda numbered: run_pair(*numbered[0], work_dir, progress, numbered[1]),
                zip(planned, journal.occurrences([p.id for p, _ in planned]), strict=True),
                executor.concurrency(),
                into=record["pairs"],
            )
        # A cell lost with its node was not journaled: the run is kept for --resume.
        completed = not executor.lost
    finally:
        record["finished_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        record["wall_s"] = time.perf_counter() - t0
        record["parent_framework_modules"] = results.framework_modules_loaded()
        record["workers"] = {"jobs": slots.jobs, "max_alive": slots.max_alive}
        peak.attach_efficiency(record)
        try:
            _publish(record, config)
            published = True
        finally:
            journal.finish(
                work_dir, config.out_dir, keep_work=config.keep_work, done=completed and published
            )
    return record


def _plan_to_budget(planned, config: RunConfig, record: dict[str, Any]):
    """Fit the run to config.budget_s from the calibrated peak (docs/measurement.md rule
    6c); record the plan, and print what it shortened or dropped."""
    peak_gflops = record["machine"]["gemm_peak"].get("gflops_per_s")
    if not peak_gflops:
        record["budget"] = {
            "budget_s": config.budget_s,
            "error": "no calibrated peak, so the run was not fitted to its budget",
        }
        print(f"parity: warning: {record['budget']['error']}", file=sys.stderr)
        return planned
    # The last run written here, if it was planned on this machine, corrects the estimates.
    try:
        previous = results.load_dict(config.out_dir / "results.json")
    except (OSError, ValueError):
        previous = None
    correction = budget.correction_from(previous, record["machine"])
    plan = budget.plan_budget(
        budget.run_work(planned, budget.previous_flops(previous) if previous else None),
        peak_gflops,
        config.budget_s,
        correction,
    )
    record["budget"] = {**plan.to_dict(), "lines": plan.lines()}
    for line in plan.lines():
        print(f"budget: {line}", file=sys.stderr)
    return budget.apply_plan(planned, plan)


def _publish(record: dict[str, Any], config: RunConfig) -> None:
    from parity.publish import report  # late: keeps the renderer out of the worker's import path

    config.out_dir.mkdir(parents=True, exist_ok=True)
    results.save(config.out_dir / "results.json", record)
    if config.history is not None:
        try:
            from parity.history import store as history

            history.append(config.history, record)
        except Exception as error:  # results.json is saved; the history must not undo that
            _progress(
                f"parity: could not record run {record['run_id']} in {config.history}: "
                f"{error} (results.json is saved)"
            )
    for path in report.publish(record, config.out_dir):
        _progress(f"wrote {path}")
