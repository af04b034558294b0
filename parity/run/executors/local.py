"""The local executor: every worker a child of this process, at most --jobs at once
(parity.run.scheduler's slots). Today's behaviour, and the default."""

from __future__ import annotations

from pathlib import Path

from parity import spawn
from parity.run import duel, journal, peak, scheduler
from parity.run.executors import LOCAL, WorkerJob


class LocalExecutor:
    name = LOCAL

    def __init__(self, config) -> None:
        self.jobs = config.jobs if config is not None else 1
        rows = config.shard_rows if config is not None else None
        self.shard_rows = rows if rows else None  # locally, only when asked
        self.lost: list[str] = []  # cells lost with their node: never, here

    def concurrency(self) -> int:
        """Threads the runner hands pairs and cells to."""
        return self.jobs

    def place_pair(self, kept_nodes: list[str]) -> None:
        return None

    def keeps(self, found: dict, placement) -> bool:
        """Whether a journaled timed cell still compares with this run's: always, here."""
        return True

    def run_worker(self, job: WorkerJob) -> tuple[spawn.Outcome, None]:
        """Run the worker of job.cell_dir/cell.json as a child of this process."""
        with scheduler.slots():
            outcome = spawn.run_child(
                "parity.child.worker",
                [str(job.cell_dir / "cell.json")],
                env=spawn.child_environment(
                    job.threads, job.framework, job.cell_dir, job.spec.get("device", "cpu")
                ),
                timeout_s=job.timeout_s,
                memory_limit_mib=job.memory_limit_mib,
                log_dir=job.cell_dir,
                on_start=lambda pid: journal.note_child(job.cell_dir, pid),
            )
        return outcome, None

    def run_duel(self, a, b, plan, folder: Path, progress=None, placement=None):
        return duel.run_duel(a, b, plan, folder, progress=progress)

    def calibrate(self, config, machine: dict) -> None:
        """machine["gemm_peak"]: this machine's cached or measured GEMM peak."""
        machine["gemm_peak"] = peak.machine_peak(
            config.threads, memory_limit_mib=config.memory_limit_mib
        )

    def describe(self) -> dict:
        return {"name": LOCAL}

    def close(self) -> None:
        pass
