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
