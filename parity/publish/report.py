"""Publishing a results record: report.md and index.html, both rendered from the one
document parity.publish.sections builds, so the two pages always show the same figures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parity.files import write_atomic
from parity.publish import html, markdown, sections
from parity.results.record import RunRecord


def publish(record: RunRecord | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write every rendering of a results record into out_dir; returns the paths.
    The runner hands its dict here: it becomes the typed record once, at this boundary."""
    document = sections.build(RunRecord.coerce(record))
    out_dir = Path(out_dir)
    written = [out_dir / "report.md", out_dir / "index.html"]
    write_atomic(written[0], markdown.render(document).encode())
    write_atomic(written[1], html.render(document).encode())
    return written
