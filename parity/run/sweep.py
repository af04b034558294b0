"""The conversion-fidelity sweep: for every converter keras-hub has (rows in
zoo/conversions.py), does its conversion compute the same function as the PyTorch model?

Each row runs in its own children (parity/child/conversions.py), one per side, so a
converter that raises, a config lacking a field, a name that is no architecture, or a
crash fails that row alone, with its error's last line verbatim, and the sweep goes on:
  1. the torch child writes a seeded checkpoint and runs it on seeded inputs (batch 2, eager);
  2. the keras child loads that folder with keras-hub's from_preset (the real conversion)
     and runs the same inputs;
  3. here: max abs and max relative difference per output (relative to the largest
     |PyTorch output|); a row passes when every output is within RTOL. A failing row names
     its first diverging layer by the automatic layer map (a capture child per side;
     zoo/layer_maps.py, automatic_groups); one with a diagnosed cause tries the PyTorch-side
     change that should close the gap, and says whether it did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from parity import spawn
from parity.evaluate.divergence import automatic_map, layer_errors, localise, read_capture
from parity.files import write_atomic, write_json
from parity.results.store import usable_cores
from zoo.conversions import Conversion

CHILD_MODULE = "parity.child.conversions"
# Float32 conversions of the same function agree to 2e-6 (resnet18) to 1.2e-5 (resnet50,
# 50 layers deep at 224 px) of the output's scale; the smallest real difference the
# sweep found, BERT's tanh GELU against exact GELU, shows at 1.2e-4. The limit lies
# between, as a float32 noise floor: 5e-5.
RTOL = 5e-5
SEED = 0
TIMEOUT_S = 300.0
MEMORY_LIMIT_MIB = 8192.0
PASSED, FAILED, LOAD_ERROR = "passed", "failed", "load error"

# (side, spec file, timeout) -> how the child ended; tests give a fake
RunSide = Callable[[str, Path, float], spawn.Outcome]


def run_side(side: str, spec_path: Path, timeout_s: float) -> spawn.Outcome:
    """One side's child; its stdout.txt and stderr.txt (the whole traceback) are kept in a
    folder named after its spec, beside the row's checkpoint."""
    framework = "torch" if side == "torch" else "tensorflow"
    logs = spec_path.with_suffix("")
    logs.mkdir(exist_ok=True)
    return spawn.run_child(
        CHILD_MODULE,
        [side, str(spec_path)],
        # no timing here: every usable core, so the sweep ends sooner
        env=spawn.child_environment(usable_cores(), framework),
        timeout_s=timeout_s,
        memory_limit_mib=MEMORY_LIMIT_MIB,
        log_dir=logs,
    )


@dataclass
class RowResult:
    id: str
    converter: str
    torch_side: str
    status: str
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    worst_output: str | None = None
    first_diverging_layer: str | None = None
    cause: str | None = None
    error: str | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == PASSED


def compare(torch_out: dict[str, np.ndarray], keras_out: dict[str, np.ndarray]) -> dict:
    """Per output: shape, max abs and max relative difference (layer_errors' figures)."""
    found = {}
    for name, array in torch_out.items():
        if name not in keras_out:
            raise ValueError(f"the Keras side gave no {name!r} output")
        found[name] = layer_errors(array, keras_out[name])
    return found


def _read(path: Path, group: str) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(f"{group}/")}


def _worst(outputs: dict[str, dict]) -> tuple[str, float, float]:
    name = max(outputs, key=lambda k: outputs[k]["max_rel_diff"] or 0.0)
    return name, outputs[name]["max_abs_diff"], outputs[name]["max_rel_diff"] or 0.0


def _child_error(side: str, outcome: spawn.Outcome) -> str:
    return (
        f"{side}: {outcome.reason()}"
        if outcome.signal or outcome.timed_out
        else (f"{side}: {outcome.last_stderr_line}")
    )


class Row:
    """One row's folder, specs and children."""

    def __init__(self, conversion: Conversion, work_dir: Path, run: RunSide, timeout_s: float):
        self.conversion, self.run, self.timeout_s = conversion, run, timeout_s
        self.folder = work_dir / conversion.id.replace("/", "_").replace(" ", "_")
        self.checkpoint = self.folder / "checkpoint"
        self.io, self.keras_out = self.folder / "torch.npz", self.folder / "keras.npz"

    def spec(self, **extra: Any) -> dict[str, Any]:
        c = self.conversion
        return {
            "kind": c.kind,
            "name": c.name,
            "head": c.head,
            "settings": c.settings,
            "confirm": c.confirm,
            "folder": str(self.checkpoint),
            "io": str(self.io),
            "out": str(self.keras_out),
            "seed": SEED,
            **extra,
        }

    def child(self, side: str, spec: dict[str, Any], label: str) -> str | None:
        """Run one side; None when it ended well, else its one-line error."""
        path = self.folder / f"{label}.json"
        write_json(path, spec)
        outcome = self.run(side, path, self.timeout_s)
        return None if outcome.ok else _child_error(side, outcome)


def run_row(
    conversion: Conversion, work_dir: Path, run: RunSide = run_side, timeout_s: float = TIMEOUT_S
) -> RowResult:
    started = time.perf_counter()
    row = Row(conversion, work_dir, run, timeout_s)
    result = RowResult(
        conversion.id, conversion.converter, conversion.torch_side, status=LOAD_ERROR
    )
    try:
        _measure(row, result)
    except (OSError, ValueError, KeyError) as error:  # unreadable outputs, shapes that differ
        result.status, result.error = LOAD_ERROR, f"{type(error).__name__}: {error}"
    # A numerical diagnosis (one with a confirming change) says nothing about a row that
    # did not load; a loading one (no converter for the name, say) does.
    known = conversion.cause and (result.status == FAILED or not conversion.confirm)
    if known and not result.cause:
        result.cause = conversion.cause
    result.wall_s = time.perf_counter() - started
    return result


def _measure(row: Row, result: RowResult) -> None:
    row.folder.mkdir(parents=True, exist_ok=True)
    error = row.child("torch", row.spec(), "torch-spec")
    if error:
        result.error = error
        return
    error = row.child("keras", row.spec(), "keras-spec")
    if error:
        result.error = error
        if row.conversion.cause and row.conversion.keras_config:
            result.cause = _config_confirmation(row)
        return
    torch_out, keras_out = _read(row.io, "output"), _read(row.keras_out, "output")
    result.outputs = compare(torch_out, keras_out)
    result.worst_output, result.max_abs_diff, result.max_rel_diff = _worst(result.outputs)
    failed = any((o["max_rel_diff"] or 0.0) > RTOL for o in result.outputs.values())
    result.status = FAILED if failed else PASSED
    if not failed:
        return
    result.first_diverging_layer = first_diverging(row)
    confirm = _read(row.io, "confirm")
    if confirm and row.conversion.cause:
        result.cause = _confirmation(row.conversion, compare(confirm, keras_out))


def first_diverging(row: Row) -> str:
    """Where a failing row's sides part, by the automatic layer map: each side reruns in
    a capture child (every candidate layer's output, and what the conversion filled from
    which tensor); the first matched layer over RTOL in PyTorch's execution order."""
    paths = {side: row.folder / f"{side}-layers.npz" for side in ("torch", "keras")}
    for side, path in paths.items():
        spec = row.spec(phase="capture", capture={"path": str(path)})
        error = row.child(side, spec, f"{side}-capture-spec")
        if error:
            return f"(capture failed: {error})"
    try:
        (torch_acts, torch_record), (keras_acts, keras_record) = (
            read_capture(paths["torch"]),
            read_capture(paths["keras"]),
        )
        if not (torch_record and keras_record):
            raise ValueError("a capture saved no map record")
        matches = automatic_map(torch_record, keras_record, torch_acts, keras_acts, RTOL)
        if not matches:
            return "(no PyTorch module and Keras layer hold the same converted tensors)"
        found = localise(matches, torch_acts, keras_acts, rtol=RTOL)
    except (OSError, ValueError, KeyError) as error:
        return f"(layers could not be compared: {type(error).__name__}: {error})"
    first = found["first_over_rtol"]
    if first is None:
        return f"(none of {len(matches)} matched layers over tolerance)"
    # The label names the PyTorch module and its class; then the Keras layer it met.
    return f"{first['label']} / {first['tensorflow']} (rel {first['max_rel_diff']:.1e})"


def _config_confirmation(row: Row) -> str:
    """A load error diagnosed as a config.json field: keras-hub loads a copy of the
    checkpoint with the row's keras_config fields (the weights linked, not copied)."""
    conversion, folder = row.conversion, row.folder / "checkpoint-confirm"
    folder.mkdir(exist_ok=True)
    for path in row.checkpoint.iterdir():
        if path.name != "config.json" and not (folder / path.name).exists():
            (folder / path.name).symlink_to(path.resolve())
    config = json.loads((row.checkpoint / "config.json").read_text())
    write_json(folder / "config.json", {**config, **conversion.keras_config})
    out = row.folder / "keras-confirm.npz"
    change = ", ".join(f"{k}={v}" for k, v in conversion.keras_config.items())
    error = row.child("keras", row.spec(folder=str(folder), out=str(out)), "keras-confirm-spec")
    if error:
        return f"{conversion.cause} (not confirmed: with {change} in config.json, {error})"
    _, _, rel = _worst(compare(_read(row.io, "output"), _read(out, "output")))
    verdict = "confirmed" if rel <= RTOL else "not confirmed"
    return (
        f"{conversion.cause} ({verdict}: with {change} in config.json keras-hub loads the same "
        f"weights and the relative difference is {rel:.1e})"
    )


def _confirmation(conversion: Conversion, outputs: dict[str, dict]) -> str:
    _, _, rel = _worst(outputs)
    change = ", ".join(f"{k}={v}" for k, v in conversion.confirm.items())
    verdict = "confirmed" if rel <= RTOL else "not confirmed"
    return (
        f"{conversion.cause} ({verdict}: with {change} on the PyTorch side the relative "
        f"difference is {rel:.1e})"
    )


def sweep(
    conversions: Sequence[Conversion],
    work_dir: Path,
    progress: Callable[[str], None] = print,
    run: RunSide = run_side,
    timeout_s: float = TIMEOUT_S,
) -> list[RowResult]:
    results = []
    for index, conversion in enumerate(conversions, start=1):
        progress(f"[{index}/{len(conversions)}] {conversion.id} ({conversion.converter}) ...")
        result = run_row(conversion, work_dir, run, timeout_s)
        results.append(result)
        progress(f"    {describe(result)}  ({result.wall_s:.0f} s)")
    return results


def describe(result: RowResult) -> str:
    if result.status == LOAD_ERROR:
        return f"{LOAD_ERROR}: {result.error}"
    figures = (
        f"rel {result.max_rel_diff:.1e}, abs {result.max_abs_diff:.1e} ({result.worst_output})"
    )
    return f"{result.status}: {figures}"


# --- the report -------------------------------------------------------------------------

REPORTED_LIBRARIES = ("torch", "timm", "transformers", "tensorflow", "keras", "keras-hub")


def library_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in REPORTED_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(results: Sequence[RowResult], wall_s: float, versions: dict[str, Any]) -> str:
    failures = [r for r in results if not r.ok]
    lines = [
        "# Conversion fidelity: keras-hub's converters against the PyTorch originals",
        "",
        "Each row: one seeded checkpoint written by the PyTorch library (timm or "
        "transformers; reduced configs for Hugging Face models, every layer type kept; "
        "biases, BatchNorm statistics and LayerNorm scales randomised), loaded on TensorFlow "
        "through keras-hub's `from_preset(folder)`, both run eagerly on the same batch of 2 "
        "inputs. Relative difference: max |PyTorch - Keras| over max |PyTorch|, the worst "
        f"output of the row; a row passes at relative difference <= {RTOL:g}. "
        "First diverging layer (failed rows): the first matched layer over that limit, in "
        "PyTorch's execution order, by the layer map derived from the conversion itself "
        "(which checkpoint tensor filled which Keras layer): the PyTorch module's class and "
        "name, then the Keras layer it met. "
        "`parity sweep conversions` writes this table.",
        "",
        f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items() if v)}. "
        f"Sweep wall time: {wall_s:.0f} s for {len(results)} rows; "
        f"{len(results) - len(failures)} passed, {len(failures)} did not.",
        "",
        "| architecture | converter | PyTorch side | output | rel diff | abs diff | result "
        "| first diverging layer | cause or load error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rel = f"{r.max_rel_diff:.1e}" if r.max_rel_diff is not None else "–"
        abs_ = f"{r.max_abs_diff:.1e}" if r.max_abs_diff is not None else "–"
        note = " — known cause: ".join(text for text in (r.error, r.cause) if text)
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    r.id,
                    r.converter,
                    r.torch_side,
                    r.worst_output or "–",
                    rel,
                    abs_,
                    r.status,
                    r.first_diverging_layer or "–",
                    note,
                )
            )
            + " |"
        )
    if failures:
        lines += ["", "Not passed: " + ", ".join(f"{r.id} ({r.status})" for r in failures) + "."]
    return "\n".join(lines) + "\n"


def write_report(results: Sequence[RowResult], wall_s: float, out_dir: Path) -> tuple[Path, Path]:
    versions = library_versions()
    md, js = out_dir / "conversions.md", out_dir / "conversions.json"
    write_atomic(md, markdown(results, wall_s, versions).encode())
    write_json(
        js,
        {
            "rtol": RTOL,
            "seed": SEED,
            "wall_s": wall_s,
            "versions": versions,
            "rows": [asdict(r) for r in results],
        },
    )
    return md, js
