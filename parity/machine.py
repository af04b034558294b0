"""Memory and CPU facts of this machine and its processes, read from /proc (Linux): the one
place that parses /proc/meminfo, /proc/PID/status and /proc/PID/statm. Imports no framework
(the worker uses it too).

Peaks are per phase: writing 5 to /proc/self/clear_refs resets the high-water mark
VmHWM, so "peak during load" excludes what import cost, and "peak during inference"
excludes loading. Where /proc is missing (macOS), getrusage's lifetime peak is used
and the record says so.
"""

from __future__ import annotations

import os
import re
import resource
import sys

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _kib_field(path: str, field: str) -> int | None:
    """A `Field:  N kB` line of a /proc file (meminfo, status), in KiB; None if absent."""
    try:
        with open(path) as handle:
            match = re.search(rf"^{field}:\s+(\d+)\s+kB", handle.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _status_kib(field: str) -> int | None:
    return _kib_field("/proc/self/status", field)


def total_mib() -> float | None:
    """The machine's RAM (MemTotal)."""
    kib = _kib_field("/proc/meminfo", "MemTotal")
    return None if kib is None else kib / 1024


def rss_mib() -> float | None:
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def reset_peak() -> bool:
    """Reset the high-water mark; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_mib() -> tuple[float, str]:
    """(peak resident MiB since the last reset, method used)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024, "VmHWM"
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS; it never resets.
    return (maxrss / 1024 / 1024 if sys.platform == "darwin" else maxrss / 1024), "ru_maxrss"


def available_mib() -> float | None:
    """Memory the kernel says new allocations can get without swapping (MemAvailable)."""
    kib = _kib_field("/proc/meminfo", "MemAvailable")
    return None if kib is None else kib / 1024


def process_rss_mib(pid: int) -> float | None:
    """Resident memory of another process, from /proc/PID/statm: one small read, cheap
    enough to poll every 0.1 s."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_BYTES / 2**20
    except (OSError, ValueError, IndexError):
        return None


def group_rss_mib(pgid: int) -> float | None:
    """Resident memory of every process in process group `pgid`, summed (shared pages
    count once per process, so this errs high); None where /proc cannot tell."""
    total_pages = 0
    seen = False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            # Fields after the command name (which may hold spaces) start past the last ')'.
            fields = stat[stat.rindex(b")") + 2 :].split()
            if int(fields[2]) != pgid:  # fields: state, ppid, pgrp, ...
                continue
            with open(f"/proc/{entry}/statm", "rb") as handle:
                total_pages += int(handle.read().split()[1])
            seen = True
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total_pages * _PAGE_BYTES / 2**20 if seen else None


# Leave this share of the free memory alone when deciding whether a batch size fits.
HEADROOM = 0.2


def batch_fits(
    batch: int, measured_batch: int, rss_loaded: float | None, peak_measured: float | None
) -> tuple[bool, str]:
    """Whether `batch` rows are likely to fit, scaling what inference above the loaded model
    cost at `measured_batch` rows linearly; (fits, why) where the figures exist."""
    available = available_mib()
    current = rss_mib()
    if None in (available, current, rss_loaded, peak_measured) or measured_batch < 1:
        return True, "no memory figures on this system: not checked"
    per_row = max(peak_measured - rss_loaded, 0.0) / measured_batch
    needed = rss_loaded + per_row * batch - current
    if needed > available * (1 - HEADROOM):
        return False, (
            f"skipped: batch {batch} needs about {needed:,.0f} MiB more "
            f"(scaled from batch {measured_batch}), and {available:,.0f} MiB are available"
        )
    return True, f"about {needed:,.0f} MiB more needed, {available:,.0f} MiB available"


# ---- Who is using the cores (/proc/stat) ----

IDLE_FIELDS = (3, 4)  # idle, iowait; steal (another guest on the host) counts as busy


def cpu_times(stat_text: str, cores: tuple[int, ...]) -> tuple[int, int]:
    """(busy, total) clock ticks summed over the given cores' lines of /proc/stat."""
    busy = total = 0
    wanted = {f"cpu{core}" for core in cores}
    for line in stat_text.splitlines():
        name, *values = line.split()
        if name not in wanted:
            continue
        ticks = [int(v) for v in values[:8]]  # guest time is already inside user time
        idle = sum(ticks[i] for i in IDLE_FIELDS)
        busy += sum(ticks) - idle
        total += sum(ticks)
    return busy, total


def busy_share(before: str, after: str, cores: tuple[int, ...]) -> float | None:
    busy0, total0 = cpu_times(before, cores)
    busy1, total1 = cpu_times(after, cores)
    if total1 <= total0:
        return None
    return (busy1 - busy0) / (total1 - total0)


def usable_cores() -> tuple[int, ...]:
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return tuple(range(os.cpu_count() or 1))


def read_stat() -> str | None:
    try:
        with open("/proc/stat") as handle:
            return handle.read()
    except OSError:
        return None
