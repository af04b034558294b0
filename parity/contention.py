"""Whether a timed loop had the cores it asked for (docs/measurement.md rule 6b).

A loop's CPU share is the share of the usable cores' time, over the loop, that other
processes left free: 1 minus (every process's busy time on those cores, from /proc/stat,
less this process's own CPU time) over wall time x cores. Below CONTENDED_BELOW other
processes were using the cores, and the loop's timings measure the machine's load as much
as the model: such a loop is contended, and a comparison with a contended loop gives no
verdict.

This process's own CPU time against wall time x threads is no such measure: a model that
cannot keep its threads busy (TensorFlow at batch 1 here: about 0.73 on an idle machine)
would read as contended. It is used only where /proc/stat cannot be read. Shared by the
worker (which measures) and the parent (which judges), so the threshold lives here once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from parity.machine import busy_share, read_stat, usable_cores

CONTENDED_BELOW = 0.90
MACHINE_BUSY = "machine busy: rerun on an idle machine"


def is_contended(cpu_share: float | None) -> bool:
    return cpu_share is not None and cpu_share < CONTENDED_BELOW


@dataclass
class CpuClock:
    """Between start() and share(): the cores' time other processes left free (/proc/stat),
    else this process's CPU time over wall x threads."""

    threads: int
    wall0: float = 0.0
    cpu0: float = 0.0
    stat0: str | None = None

    def start(self) -> CpuClock:
        self.stat0 = read_stat()
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def share(self) -> float | None:
        wall = time.perf_counter() - self.wall0
        cpu = time.process_time() - self.cpu0
        stat1 = read_stat()
        if wall <= 0 or self.threads <= 0:
            return None
        if self.stat0 is not None and stat1 is not None:
            cores = usable_cores()
            busy = busy_share(self.stat0, stat1, cores)
            if busy is not None:
                others = busy - cpu / (wall * len(cores))
                return min(1.0, max(0.0, 1.0 - others))
        return cpu / (wall * self.threads)
