"""Every setting of a run, declared once. Imports no framework.

Each Setting says its default, its `parity run` option and help (if it has one), whether
results.json records it under `settings`, and whether `parity run --resume` must find it
unchanged (the cells kept from the interrupted run were measured under it). RunConfig's
fields, the recorded settings, the journal's RESUME_KEYS and the `run` command's options
are all made from SETTINGS below: a new setting is one entry here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, make_dataclass, replace
from pathlib import Path
from typing import Any

from parity.results.store import usable_cores
from parity.run.profiles import (
    DEFAULT_BATCHES,
    EVAL_BATCH,
    PROFILES,
    eval_batch_for,
    get_profile,
)
from parity.vocabulary import default_modes, task_modes

PRETRAINED, SEEDED = "pretrained", "seeded"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Setting:
    name: str  # RunConfig's field, and its key in results.json `settings`
    type: str  # the field's annotation
    default: Any = None
    factory: Callable[[], Any] | None = None  # a default computed when a config is made
    help: str = ""  # the option's help, or what the setting is for
    option: str | None = None  # `parity run` option; None: set by code (bench, tests)
    cli: dict[str, Any] = field(default_factory=dict)  # further argparse arguments
    # Options that set the same thing another way, mutually exclusive with `option`.
    alternatives: tuple[tuple[str, dict[str, Any]], ...] = ()
    recorded: bool = False  # written to results.json `settings`
    resume_must_match: bool = False  # a resume measured otherwise is refused
    to_record: Callable[[Any], Any] = _same  # the value as results.json holds it


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "out_dir",
        "Path",
        Path("reports"),
        help="folder for results.json and report.md",
        option="--out",
        cli={"default": "reports"},
    ),
    Setting(
        "threads",
        "int",
        factory=usable_cores,
        help="intra-op threads on both sides (default: all usable cores)",
        option="--threads",
        cli={"type": int, "default": usable_cores()},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "device",
        "str",
        "cpu",  # "cpu" or "cuda": both sides alike (the CLI resolves "auto")
        help="where both sides run: cuda when an NVIDIA GPU is present (auto, the default), "
        "else cpu; with cpu every GPU is hidden from both frameworks",
        option="--device",
        cli={"choices": ("auto", "cpu", "cuda"), "default": "auto"},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "profile",
        "Profile",
        factory=lambda: get_profile("standard"),
        help="how long timed loops run (default: standard, or a suite entry's)",
        option="--profile",
        cli={"choices": list(PROFILES)},
        recorded=True,
        resume_must_match=True,
        to_record=lambda profile: profile.to_dict(),
    ),
    Setting(
        "latency_batches",
        "tuple[int, ...]",
        DEFAULT_BATCHES,
        help=f"latency batch sizes (default: {','.join(map(str, DEFAULT_BATCHES))}, or a "
        "suite entry's; a batch size the machine's free memory cannot hold is skipped)",
        option="--batch-sizes",
        recorded=True,
        resume_must_match=True,
        to_record=list,
    ),
    Setting(
        "eval_batch",
        "int",
        EVAL_BATCH,
        help="the batch the evaluation outputs are computed in (from the batch sizes)",
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "seq_len",
        "int",
        128,
        help="tokens per sequence (default 128)",
        option="--seq-len",
        cli={"type": int, "default": 128},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "modes",
        "dict[str, tuple[str, ...]] | None",  # side -> modes; None: all
        help="restrict modes, e.g. torch=eager (default: every framework mode; the export "
        "modes, torch=onnx,onnx-int8,litert and tensorflow=onnx,onnx-int8,litert,litert-int8, "
        "only when named)",
        option="--modes",
        cli={"action": "append", "metavar": "SIDE=MODE[,MODE]"},
    ),
    Setting(
        "dataset",
        "str | None",
        help="sentence pairs: sts-smoke or stsb:/path/to/sts-test.csv; images: photos, "
        "imagefolder:/path (ImageNet-val layout), hf:NAME[:SPLIT] or hf:NAME:CONFIG:SPLIT, "
        "tfds:NAME[:SPLIT]",
        option="--dataset",
        recorded=True,
        resume_must_match=True,  # kept cells were evaluated on its inputs
    ),
    Setting(
        "limit",
        "int | None",
        help="images: a seeded random subset of N (seed from --seed); sentence pairs: the first N",
        option="--limit",
        cli={"type": int},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "timeout_s",
        "float",
        900.0,
        help="seconds before a child (a worker, a conversion, a seeded checkpoint) is killed "
        "(default 900)",
        option="--timeout",
        cli={"type": float, "default": 900.0},
        recorded=True,
    ),
    Setting(
        "offline",
        "bool",
        False,
        help="do not try the network: sides not on disk are marked unavailable",
        option="--offline",
        cli={"action": "store_true"},
    ),
    Setting(
        "diagnostics",
        "bool",
        True,
        help="skip diagnostic cells",
        option="--no-diagnostics",
        cli={"action": "store_true"},
    ),
    Setting(
        "divergence",
        "bool | None",
        help="capture intermediate activations in the eager cells and name the first layer "
        "where the sides differ (default: on for same-weights pairs with a layer map or a "
        "keras-hub conversion)",
        option="--divergence",
        cli={"action": argparse.BooleanOptionalAction, "default": None},
    ),
    Setting(
        "weights",
        "str",
        PRETRAINED,
        help="seeded: random weights from --seed, for latency and memory rows offline; "
        "such runs show no accuracy (default: pretrained, or a suite entry's)",
        option="--weights",
        cli={"choices": (PRETRAINED, SEEDED)},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "seed",
        "int",
        0,
        help="seed for --weights seeded and for the --limit image subset (default 0)",
        option="--seed",
        cli={"type": int, "default": 0},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "replicates",
        "int | None",
        help="fresh process pairs for each headline comparison (default: the profile's; "
        "0: compare the cells' single-process medians only, with no verdict)",
        option="--replicates",
        cli={"type": int, "metavar": "R"},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "budget_s",
        "float | None",
        help="plan loop lengths, replicates and cells to fit this many minutes on this "
        "machine, from its calibrated peak (the default suite: 15); the report says what "
        "was shortened or dropped",
        option="--budget",
        cli={"type": lambda text: float(text) * 60.0, "metavar": "MINUTES"},
        recorded=True,
    ),
    Setting(
        "keep_work",
        "bool",
        False,
        help="keep the workers' files (inputs, outputs, logs) after the run",
        option="--keep-work",
        cli={"action": "store_true"},
    ),
    Setting(
        "jobs",
        "int",
        1,
        help="workers alive at once (default 1: no two timings share the machine; with more, "
        "the report labels latencies as measured concurrently)",
        option="--jobs",
        cli={"type": int, "default": 1},
        recorded=True,
        resume_must_match=True,
    ),
    Setting(
        "executor",
        "str",
        "local",
        help="where cells run: local (this machine, the default) or ray (a Ray cluster, "
        "docs/ray.md)",
        option="--executor",
        cli={"choices": ("local", "ray"), "default": "local"},
        recorded=True,
    ),
    Setting(
        "cluster",
        "str | None",
        help="the Ray cluster's address for --executor ray, e.g. 10.0.0.5:6379 "
        "(default: RAY_ADDRESS)",
        option="--cluster",
        cli={"metavar": "ADDRESS"},
    ),
    Setting(
        "shard_rows",
        "int | None",  # None: the executor's default (ray: SHARD_ROWS, local: no shards)
        help="split a cell's evaluation into shards of about this many rows, evaluated "
        "as tasks of their own and merged exactly (default: 1000 on Ray, none locally; "
        "0: never)",
        option="--shard-rows",
        cli={"type": int, "metavar": "ROWS"},
        recorded=True,
    ),
    Setting(
        "memory_limit_mib",
        "float | None",  # None: no limit
        help="kill a child whose resident memory (its process group's) passes this; 0: no "
        "limit (default: 80%% of RAM divided by --jobs)",
        option="--memory-limit",
        cli={"type": float, "metavar": "MiB"},
        recorded=True,
    ),
    Setting(
        "resume",
        "Path | None",  # the work folder of a run to continue
        help="continue an interrupted run (its id under OUT/.parity-runs, or its folder): "
        "finished cells are kept, the rest are measured",
        option="--resume",
        cli={"metavar": "RUN"},
    ),
    Setting(
        "history",
        "Path | None",  # the SQLite run history to append the record to; None: none
        help="SQLite run history to append this run to (default: OUT/history.sqlite)",
        option="--history",
        cli={"metavar": "PATH"},
        alternatives=(
            (
                "--no-history",
                {"action": "store_true", "help": "do not record this run in a history"},
            ),
        ),
    ),
    Setting("argv", "list[str] | None", help="the command line, so a resume can replay it"),
    Setting(
        "harness_check",
        "bool",
        False,
        help="also time a bare loop of each call (`python -m parity.bench`)",
    ),
    Setting("calibrate", "bool", True, help="measure (or read the cached) GEMM peak"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
# Settings that must match for a resumed run's old and new cells to belong together.
RESUME_KEYS = tuple(s.name for s in SETTINGS if s.resume_must_match)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The `parity run` options of every setting that has one."""
    for setting in SETTINGS:
        if setting.option is None:
            continue
        target = parser.add_mutually_exclusive_group() if setting.alternatives else parser
        target.add_argument(setting.option, help=setting.help, **setting.cli)
        for option, arguments in setting.alternatives:
            target.add_argument(option, **arguments)


class _RunConfigMethods:
    def with_overrides(self, overrides: dict[str, Any], keep: frozenset[str] = frozenset()):
        """This config with a suite entry's settings applied, except the ones named in
        `keep` (those the user gave explicitly, which win)."""
        changes = {name: value for name, value in overrides.items() if name not in keep}
        if isinstance(changes.get("profile"), str):
            changes["profile"] = get_profile(changes["profile"])
        if "latency_batches" in changes and self.eval_batch not in changes["latency_batches"]:
            changes["eval_batch"] = eval_batch_for(changes["latency_batches"])
        return replace(self, **changes)

    def pair_settings(self) -> dict[str, Any]:
        """The settings that may differ between the pairs of one run."""
        return {
            "weights": self.weights,
            "profile": self.profile.name,
            "latency_batches": list(self.latency_batches),
            "eval_batch": self.eval_batch,
            "modes": {side: list(modes) for side, modes in (self.modes or {}).items()} or None,
        }

    def recorded_settings(self) -> dict[str, Any]:
        """The run-wide settings as results.json (and a resumable run's run.json) hold them."""
        found = {s.name: s.to_record(getattr(self, s.name)) for s in SETTINGS if s.recorded}
        # With jobs > 1 workers share the cores: their latencies are not solo timings.
        found["latency_concurrent"] = self.jobs > 1
        return found

    def modes_for(self, side: str, framework: str, task: str | None = None) -> tuple[str, ...]:
        wanted = (self.modes or {}).get(side)
        return task_modes(task, framework, wanted) if task else default_modes(framework, wanted)


def _field(setting: Setting):
    if setting.factory is not None:
        return field(default_factory=setting.factory)
    return field(default=setting.default)


RunConfig = make_dataclass(
    "RunConfig",
    [(s.name, s.type, _field(s)) for s in SETTINGS],
    bases=(_RunConfigMethods,),
    namespace={"__doc__": "A run's settings: one field per entry of SETTINGS."},
)
RunConfig.__module__ = __name__
