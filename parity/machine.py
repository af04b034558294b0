"""Resident memory of the current process, from /proc (Linux).

Peaks are per phase: writing 5 to /proc/self/clear_refs resets the high-water mark
VmHWM, so "peak during load" excludes what import cost, and "peak during inference"
excludes loading. Where /proc is missing (macOS), getrusage's lifetime peak is used
and the record says so.
"""

from __future__ import annotations

import re
import resource
import sys

_STATUS = "/proc/self/status"


def _status_kib(field: str) -> int | None:
    try:
        with open(_STATUS) as handle:
            match = re.search(rf"^{field}:\s+(\d+)\s+kB", handle.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


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
    try:
        with open("/proc/meminfo") as handle:
            match = re.search(r"^MemAvailable:\s+(\d+)\s+kB", handle.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


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
