"""What runs on a Ray node: the same supervised worker as locally, in a folder of the node's
own, its input files shipped through Ray's object store and its files shipped back.

The driver (parity.run.executors.ray_cluster) wraps these functions with ray.remote; they
import ray only to read shipped objects and name their node. Nothing here needs a shared
file system: a node holds the stack and the model files (docs/ray.md), not the run's
work folder.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn

# Never shipped back: the node's copy of the spec and inputs, and the compile cache.
NOT_SHIPPED = ("cell.json", "inputs", "inductor-cache")


def node_info() -> dict[str, Any]:
    import ray

    return {
        "id": ray.get_runtime_context().get_node_id(),
        "hostname": platform.node(),
        "address": ray.util.get_node_ip_address(),
    }


def node_versions() -> dict[str, Any]:
    """What the preflight compares with the driver's own (ray_cluster.driver_versions)."""
    from parity.results.store import library_versions
    from parity.vocabulary import PROTOCOL

    try:
        own = metadata.version("zoo-parity")
    except metadata.PackageNotFoundError:
        own = None
    return {
        "node": node_info(),
        "libraries": library_versions(),
        "zoo-parity": own,
        "protocol": PROTOCOL,
        "python": platform.python_version(),
    }


def _moved(value: Any, old: str, new: str) -> Any:
    """value with every path string under `old` moved under `new`."""
    if isinstance(value, str):
        return new + value[len(old) :] if value == old or value.startswith(old + os.sep) else value
    if isinstance(value, dict):
        return {key: _moved(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, old, new) for item in value]
    return value


def _write_inputs(spec: dict[str, Any], shipped: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The spec with each input path (spec inputs and extra_inputs) replaced by a copy of
    its shipped bytes under folder."""
    import ray

    folder.mkdir(parents=True, exist_ok=True)
    local: dict[str, str] = {}
    for number, (path, ref) in enumerate(sorted(shipped.items())):
        target = folder / f"{number}-{Path(path).name}"
        target.write_bytes(ray.get(ref))
        local[path] = str(target)
    spec = dict(spec)
    spec["inputs"] = {name: local[path] for name, path in spec["inputs"].items()}
    spec["extra_inputs"] = {
        track: {name: local[path] for name, path in paths.items()}
        for track, paths in (spec.get("extra_inputs") or {}).items()
    }
    return spec


def _collect(folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] not in NOT_SHIPPED:
            files[str(relative)] = path.read_bytes()
    return files


def run_worker(
    spec: dict[str, Any],
    driver_dir: str,
    shipped: dict[str, Any],
    framework: str,
    threads: int,
    timeout_s: float,
    memory_limit_mib: float | None,
) -> dict[str, Any]:
    """One cell's (or shard's) worker, supervised as locally. Returns its Outcome, the
    files it wrote (relative to its folder), that folder's path (the driver moves paths
    written in them back under driver_dir) and the node."""
    from parity.files import write_json

    folder = Path(tempfile.mkdtemp(prefix="parity-cell-"))
    try:
        # Inputs first (a shard's lie under driver_dir), then every other path there.
        local = _moved(_write_inputs(spec, shipped, folder / "inputs"), driver_dir, str(folder))
        write_json(folder / "cell.json", local)
        outcome = spawn.run_child(
            "parity.child.worker",
            [str(folder / "cell.json")],
            env=spawn.child_environment(threads, framework, folder, spec.get("device", "cpu")),
            timeout_s=timeout_s,
            memory_limit_mib=memory_limit_mib,
            log_dir=folder,
        )
        return {
            "outcome": outcome,
            "files": _collect(folder),
            "node_dir": str(folder),
            "node": node_info(),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def calibrate(threads: int, memory_limit_mib: float | None) -> dict[str, Any]:
    """This node's GEMM peak (parity.run.peak: cached on the node, or measured there)."""
    from parity.run import peak

    return {
        "node": node_info(),
        "gemm_peak": peak.machine_peak(threads, memory_limit_mib=memory_limit_mib),
    }


def run_duel(a, b, plan, shipped: dict[str, Any]) -> dict[str, Any]:
    """A pair's duel (parity.run.duel) on this node, the contenders' inputs shipped."""
    from dataclasses import replace

    from parity.run.duel import run_duel as duel

    folder = Path(tempfile.mkdtemp(prefix="parity-duel-"))
    try:
        moved = []
        for contender in (a, b):
            spec = _write_inputs({"inputs": contender.inputs}, shipped, folder / "inputs")
            moved.append(replace(contender, inputs=spec["inputs"]))
        result = duel(moved[0], moved[1], plan, folder)  # r0/, r1/...: as locally
        return {
            "result": result,
            "files": _collect(folder),
            "node_dir": str(folder),
            "node": node_info(),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
