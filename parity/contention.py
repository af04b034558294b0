"""Whether a timed loop had the cores it asked for (docs/measurement.md rule 6b).

A loop's CPU share is the CPU time its process got over wall time x threads. Below
CONTENDED_BELOW, other processes were using the cores the loop's threads asked for,
and its timings measure the machine's load as much as the model: such a loop is
contended, and a comparison with a contended loop gives no verdict. Shared by the worker
(which measures) and the parent (which judges), so the threshold lives here once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CONTENDED_BELOW = 0.90
MACHINE_BUSY = "machine busy: rerun on an idle machine"


def is_contended(cpu_share: float | None) -> bool:
    return cpu_share is not None and cpu_share < CONTENDED_BELOW


@dataclass
class CpuClock:
    """Process CPU time against wall time x threads, between start() and share()."""

    threads: int
    wall0: float = 0.0
    cpu0: float = 0.0

    def start(self) -> CpuClock:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def share(self) -> float | None:
        wall = time.perf_counter() - self.wall0
        cpu = time.process_time() - self.cpu0
        if wall <= 0 or self.threads <= 0:
            return None
        return cpu / (wall * self.threads)
