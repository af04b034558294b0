"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import DiskFullError  # noqa: F401  (raised and re-exported)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def _disk_full(path: Path, error: OSError) -> DiskFullError:
    kept = "its previous version is unchanged" if path.exists() else "nothing was written"
    full = DiskFullError(
        f"no space left on the device to write {path} ({kept}); free space there or "
        "choose another --out, then rerun (an unfinished run continues with --resume)"
    )
    full.errno = error.errno  # still an OSError with its errno, for callers that check
    return full


def write_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _disk_full(path, error) if error.errno in _NO_SPACE else error from None
    try:
        # mkstemp makes the file private (0600); reports are meant to be shared.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            raise _disk_full(path, error) from None
        raise


def write_json(path: str | Path, payload: Any) -> None:
    write_atomic(path, (json.dumps(payload, indent=2, allow_nan=True) + "\n").encode())


def save_npy(path: str | Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_atomic(path, buffer.getvalue())


def load_npy(path: str | Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)
