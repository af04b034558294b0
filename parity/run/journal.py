"""A run's work folder, kept until the run completes, so a killed run can be resumed.

    OUT/.parity-runs/RUN_ID/
        run.json                 the run's identity: id, start, pairs, settings, command line
        inputs/ ...              shared inputs (re-made on resume)
        cells/PAIR__SIDE__MODE/  one folder per cell: cell.json, worker.pid, stdout/stderr,
                                 output.npy, metrics.json, and record.json once it finished

Every folder name here is safe on any tool's command line (safe_name): a pair of the
user's own is named "X vs Y", and torch.compile's generated g++ command, for one, does not
quote the paths of the Inductor cache each cell keeps in its folder.

Each finished cell's record.json is written atomically (temporary file, then rename), so
killing the parent or a worker at any moment leaves every finished cell whole. `parity run
--resume RUN` reloads the cells that have a record.json (and their output.npy) and runs
only the rest. A record.json that cannot be read is refused, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from parity.errors import JournalError  # noqa: F401  (raised and re-exported)
from parity.files import write_json
from parity.run.settings import RESUME_KEYS

WORK_FOLDER = ".parity-runs"
RUN_FILE = "run.json"
RECORD_FILE = "record.json"
PID_FILE = "worker.pid"
# Files a worker writes; cleared before a cell is (re)measured so nothing stale is read.
WORKER_FILES = ("metrics.json", "error.json", "output.npy", "stdout.txt", "stderr.txt")


def runs_folder(out_dir: Path) -> Path:
    return Path(out_dir) / WORK_FOLDER


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_CHARS = 100


def safe_name(text: str) -> str:
    """`text` as a file name any command line takes unquoted: only [A-Za-z0-9._-], not
    starting with - or ., at most MAX_NAME_CHARS plus a hash. A text that had to change
    gets a short hash of itself, so two texts never share a name, and the same text
    always gets the same one (a resume finds its cells)."""
    slug = _UNSAFE.sub("-", text).lstrip("-.")
    if slug == text and len(text) <= MAX_NAME_CHARS:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{slug[:MAX_NAME_CHARS].rstrip('-.')}-{digest}".lstrip("-")


def cell_folder(work_dir: Path, cell_key: str) -> Path:
    return Path(work_dir) / "cells" / safe_name(cell_key.replace("/", "__").replace(":", "-"))


def occurrences(pair_ids: list[str]) -> list[int]:
    """For each pair, how many times its id came before it: a run may hold one pair twice
    (with other settings, say), and each needs folders of its own."""
    seen: dict[str, int] = {}
    found = []
    for pair_id in pair_ids:
        found.append(seen.get(pair_id, 0))
        seen[pair_id] = found[-1] + 1
    return found


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise JournalError(
            f"{path} ({what}) cannot be read: {error}; it was left untouched. Move it away "
            f"to re-measure {'that cell' if what == 'a cell record' else 'the run'}"
        ) from None
    if not isinstance(payload, dict):
        raise JournalError(f"{path} ({what}) is not a JSON object; it was left untouched")
    return payload


def resolve(ref: str | Path, out_dir: Path) -> Path:
    """RUN as given to --resume: a run folder, or a run id under OUT/.parity-runs."""
    path = Path(ref)
    if not (path / RUN_FILE).is_file():
        path = runs_folder(out_dir) / str(ref)
    if (path / RUN_FILE).is_file():
        return path
    folder = runs_folder(out_dir)
    held = (
        sorted(p.name for p in folder.iterdir() if (p / RUN_FILE).is_file())
        if folder.is_dir()
        else []
    )
    hint = f"runs that can be resumed there: {', '.join(held)}" if held else "none can be resumed"
    raise JournalError(f"no run {str(ref)!r} to resume in {folder} ({hint})")


def start(
    record: dict[str, Any], out_dir: Path, pair_ids: list[str], argv: list[str] | None
) -> Path:
    """A new run's work folder under OUT, with its identity written first."""
    work_dir = runs_folder(out_dir) / record["run_id"]
    work_dir.mkdir(parents=True, exist_ok=False)
    write_json(
        work_dir / RUN_FILE,
        {
            "run_id": record["run_id"],
            "started_utc": record["started_utc"],
            "pairs": pair_ids,
            "settings": record["settings"],
            "commit": record.get("commit"),
            "argv": argv,
        },
    )
    return work_dir


def load_run(work_dir: Path) -> dict[str, Any]:
    return _read_json(Path(work_dir) / RUN_FILE, "a run's identity")


def resume(record: dict[str, Any], work_dir: Path, pair_ids: list[str]) -> None:
    """Take over the stored run's id and start time; refuse a run measured differently."""
    stored = load_run(work_dir)
    if stored.get("pairs") != pair_ids:
        raise JournalError(
            f"run {stored.get('run_id')} measured pairs {stored.get('pairs')}, not {pair_ids}; "
            "resume it with the same pairs (plain `parity run --resume RUN` replays them)"
        )
    old_sha = (stored.get("commit") or {}).get("sha")
    new_sha = (record.get("commit") or {}).get("sha")
    if old_sha and new_sha and old_sha != new_sha:
        raise JournalError(
            f"run {stored.get('run_id')} was measured by commit {old_sha[:10]}, and this is "
            f"commit {new_sha[:10]}; resume it from {old_sha[:10]}, or start anew"
        )
    old, new = stored.get("settings") or {}, record["settings"]
    differ = [k for k in RESUME_KEYS if old.get(k) != new.get(k)]
    if differ:
        shown = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in differ)
        raise JournalError(
            f"run {stored.get('run_id')} was measured with other settings ({shown}); resume it "
            "with the same options (plain `parity run --resume RUN` replays them), or start anew"
        )
    record["run_id"] = stored["run_id"]
    record["started_utc"] = stored["started_utc"]


def note_child(cell_dir: Path, pid: int) -> None:
    """Remember the worker, so a resume can stop one that outlived a killed parent."""
    try:
        (Path(cell_dir) / PID_FILE).write_text(str(pid))
    except OSError:
        pass


def _stop_orphan(cell_dir: Path) -> None:
    try:
        pid = int((cell_dir / PID_FILE).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    # Only the worker of this very cell: its command line names this cell's cell.json.
    if str(cell_dir / "cell.json").encode() in command:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def fresh_cell_dir(work_dir: Path, cell_key: str) -> Path:
    """The cell's folder, emptied of an earlier attempt's worker files."""
    cell_dir = cell_folder(work_dir, cell_key)
    if cell_dir.is_dir():
        _stop_orphan(cell_dir)
        for name in (*WORKER_FILES, PID_FILE):
            (cell_dir / name).unlink(missing_ok=True)
        shutil.rmtree(cell_dir / "inductor-cache", ignore_errors=True)
    cell_dir.mkdir(parents=True, exist_ok=True)
    return cell_dir


def save_cell(work_dir: Path, cell_key: str, record: dict[str, Any]) -> None:
    write_json(cell_folder(work_dir, cell_key) / RECORD_FILE, record)


def load_cell(work_dir: Path, cell_key: str, cell_id: str | None = None) -> dict[str, Any] | None:
    """A finished cell's record, or None when the cell must be (re)measured. A measured
    cell whose output.npy is gone is measured again; an unreadable record is refused."""
    cell_id = cell_id or cell_key
    cell_dir = cell_folder(work_dir, cell_key)
    path = cell_dir / RECORD_FILE
    if not path.is_file():
        return None
    found = _read_json(path, "a cell record")
    if found.get("cell_id") != cell_id:
        raise JournalError(
            f"{path} holds cell {found.get('cell_id')!r}, not {cell_id!r}; it was left "
            "untouched. Move it away to re-measure that cell"
        )
    if found.get("output_path"):
        output = cell_dir / Path(found["output_path"]).name  # the folder may have moved
        if not output.is_file():
            return None
        found["output_path"] = str(output)
    found["resumed"] = True
    return found


def finish(work_dir: Path, out_dir: Path, keep_work: bool, done: bool) -> None:
    """Remove a completed run's folder; keep an unfinished one, saying how to resume it."""
    work_dir = Path(work_dir)
    if not done:
        print(
            f"parity: run {work_dir.name} did not complete; its finished cells are kept in "
            f"{work_dir}. Continue it with: parity run --resume {work_dir.name} --out {out_dir}",
            file=sys.stderr,
            flush=True,
        )
    elif keep_work:
        print(f"worker files kept in {work_dir}", file=sys.stderr, flush=True)
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
        try:
            work_dir.parent.rmdir()  # .parity-runs, when no other run is kept there
        except OSError:
            pass
