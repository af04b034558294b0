"""Where a run's workers run: this machine (local, the default) or a Ray cluster (ray).

The runner plans cells, prepares inputs, writes the journal and evaluates; an executor
only runs one supervised worker (parity.spawn: process group, timeout, memory watchdog,
death with the parent) for a cell or a shard of one, and answers how it ended
(parity.spawn.Outcome) and on which node. So both executors classify crashes, timeouts
and memory kills alike, and a run journaled by one resumes under the other.

    executor = executors.open_executor(config)   # the ray one checks the cluster first
    executors.use(executor)                      # the run in progress
    outcome, node = executors.current().run_worker(job)

A worker lost with its node (not a crash of the worker: the node, or the Ray task holding
the worker, died or raised) raises CellLost: the runner leaves that cell out of the
journal, so `parity run --resume` measures it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)


class CellLost(Exception):
    """The worker's node, or the task that held the worker, died or raised: nothing was
    measured."""


@dataclass(frozen=True)
class WorkerJob:
    """One supervised worker to run: its spec (parity.child.worker's CELL.json, with every
    path under cell_dir or an input file), and how it is bounded.

    timed: it runs latency loops, so it needs a node (or this machine) to itself.
    placement: the node the executor chose for the cell's pair (None locally).
    """

    spec: dict[str, Any]
    cell_dir: Path
    framework: str
    threads: int
    timeout_s: float
    memory_limit_mib: float | None
    timed: bool
    placement: Any = None


def open_executor(config):
    """The executor config.executor names, ready to run (a Ray cluster checked first)."""
    if config.executor == RAY:
        from parity.run.executors.ray_cluster import RayExecutor

        return RayExecutor.connect(config)
    from parity.run.executors.local import LocalExecutor

    return LocalExecutor(config)


_current = None


def use(executor) -> None:
    global _current
    _current = executor


def current():
    """The run in progress's executor; a local one when none was opened (the runner's
    functions called on their own, as tests and the bench do)."""
    global _current
    if _current is None:
        from parity.run.executors.local import LocalExecutor

        _current = LocalExecutor(None)
    return _current
