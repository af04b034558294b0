"""Whether other processes are using the cores before a run starts (docs/measurement.md
rule 6b).

    found = check_load()
    if found.warning: print(found.warning)

From /proc/stat, sampled twice `sample_s` apart, the share of this process's usable cores
(its CPU affinity) that was busy; from /proc/loadavg, the one-minute load average, shown
for context only (it trails by a minute). A run that starts on a busy machine is warned;
its timed loops then record how much CPU they got (parity.contention), and a comparison
with contended loops gives no verdict.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from parity.contention import MACHINE_BUSY
from parity.machine import busy_share, cpu_times, usable_cores  # noqa: F401  (re-exported)

# Busy above this share of the usable cores' time: the same 10% a contended loop misses.
BUSY_ABOVE = 0.10
SAMPLE_S = 0.5


@dataclass(frozen=True)
class LoadCheck:
    busy_share: float | None  # busy share of the usable cores' time over the sample
    cores: tuple[int, ...]  # the usable cores sampled
    sample_s: float
    loadavg_1m: float | None
    busy: bool
    warning: str | None  # one line for the user, or None when the cores were idle

    def to_dict(self) -> dict:
        found = asdict(self)
        found["cores"] = list(self.cores)
        return found


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def check_load(sample_s: float = SAMPLE_S, busy_above: float = BUSY_ABOVE) -> LoadCheck:
    """Sample the usable cores for `sample_s` seconds (this process sleeps meanwhile, so
    what is busy is someone else) and say whether a run now would be contended."""
    cores = usable_cores()
    loadavg_text = _read("/proc/loadavg")
    loadavg = float(loadavg_text.split()[0]) if loadavg_text else None
    before = _read("/proc/stat")
    time.sleep(sample_s)
    after = _read("/proc/stat")
    share = busy_share(before, after, cores) if before and after else None
    busy = share is not None and share > busy_above
    warning = None
    if busy:
        shown = f"{loadavg:.2f}" if loadavg is not None else "unknown"
        warning = (
            f"other processes used {share:.0%} of the {len(cores)} usable "
            f"cores over {sample_s:g} s (load average {shown}); timings now would be "
            f"contended and give no verdict ({MACHINE_BUSY})"
        )
    return LoadCheck(share, cores, sample_s, loadavg, busy, warning)
