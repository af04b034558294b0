"""Every number the reports print, formatted here and only here, so report.md, index.html
and the plots show a figure the same way. A missing figure prints as MISSING."""

from __future__ import annotations

from typing import Any

MISSING = "–"


def fixed(value: Any, digits: int = 3) -> str:
    """Timings and shares: `digits` decimals; very small or large values in e-notation."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def sig(value: float | None) -> str:
    """Differences and tolerances: three significant digits, whatever their size."""
    return MISSING if value is None else f"{value:.3g}"


def ms(value: float | None) -> str:
    """Latencies in the summary tables: two decimals."""
    return MISSING if value is None else f"{value:.2f}"


def mib(value: float | None) -> str:
    """Memory in MiB: whole numbers with thousands separators."""
    return MISSING if value is None else f"{value:,.0f}"


def size(value: float | None) -> str:
    """A size in bytes, to three significant digits in the largest binary unit under it
    (a seeded causal LM's key-value cache is a few KiB, a real one hundreds of MiB)."""
    if value is None:
        return MISSING
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} GiB"


def full(value: Any) -> str:
    """Detail tables that show every figure: six significant digits."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def tick(value: float) -> str:
    """A plot's axis label: short, e-notation from 1e5 up."""
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2e}"


def percent(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value:.0%}"
