"""Run history: every run's record in one SQLite database.

`append` stores a results record (what `parity.run.runner.run` returns and results.json
holds) in one transaction: the full record as JSON, its identity (run id, start time,
commit, machine, libraries, settings) as columns, and one row per comparable figure in
a `metrics` table for ad-hoc queries, e.g.

    SELECT r.started_utc, m.value FROM metrics m JOIN runs r USING (run_id)
    WHERE m.key = 'all-MiniLM-L6-v2/torch/eager/b1/median_ms' ORDER BY r.started_utc;

`load_run` reads a run back as the typed record. parity.history.compare names those
figures and lines two runs up; parity.history.rules applies `--fail-on` rules to them.
Standard library only: this module imports no framework.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from parity.errors import HistoryError
from parity.history.compare import as_number, flatten
from parity.results import store as results
from parity.results.record import RunRecord

HISTORY_SCHEMA_VERSION = 1  # PRAGMA user_version of the database
DEFAULT_DB = Path("reports") / "history.sqlite"
LATEST, PREVIOUS = "latest", "previous"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        started_utc TEXT,
        finished_utc TEXT,
        wall_s REAL,
        commit_sha TEXT,
        commit_dirty INTEGER,
        machine TEXT NOT NULL,
        libraries TEXT NOT NULL,
        settings TEXT NOT NULL,
        results_schema_version INTEGER,
        record TEXT NOT NULL,
        appended_utc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started_utc)",
    """CREATE TABLE IF NOT EXISTS metrics (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL,
        text TEXT,
        PRIMARY KEY (run_id, key)
    )""",
    "CREATE INDEX IF NOT EXISTS metrics_key ON metrics (key)",
)


def _connect(db_path: str | Path, *, create: bool) -> sqlite3.Connection:
    path = Path(db_path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.is_file():
        raise HistoryError(
            f"no history database at {path}: `parity run` writes one (--history), "
            "or give a results.json path instead"
        )
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'ro'}"
    try:
        # Autocommit at the driver level: transactions are opened explicitly (BEGIN).
        return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    except sqlite3.Error as error:
        raise HistoryError(f"cannot open the history database {path}: {error}") from None


def _check_version(connection: sqlite3.Connection, path: str | Path) -> int:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > HISTORY_SCHEMA_VERSION:
        raise HistoryError(
            f"{path} has history schema version {version}, newer than this parity "
            f"({HISTORY_SCHEMA_VERSION}); upgrade zoo-parity to use it (it was left untouched)"
        )
    return version


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True, sort_keys=True)


def append(db_path: str | Path, run: RunRecord | Mapping[str, Any]) -> None:
    """Store one run in one transaction; a run id already there is replaced. The runner
    hands its dict here; it is stored as JSON, its figures as `flatten` names them."""
    record = run.to_dict() if isinstance(run, RunRecord) else dict(run)
    run_id = record.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise HistoryError("the record has no run_id; is it a parity results record?")
    commit = record.get("commit") or {}
    dirty = commit.get("dirty")
    row = (
        run_id,
        record.get("started_utc"),
        record.get("finished_utc"),
        as_number(record.get("wall_s")),
        commit.get("sha"),
        None if dirty is None else int(bool(dirty)),
        _json(record.get("machine") or {}),
        _json(record.get("libraries") or {}),
        _json(record.get("settings") or {}),
        record.get("schema_version"),
        json.dumps(record, allow_nan=True),
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    metrics = [
        (
            run_id,
            key,
            value if isinstance(value, float) else None,
            value if isinstance(value, str) else None,
        )
        for key, value in flatten(record).items()
    ]
    connection = _connect(db_path, create=True)
    try:
        with connection:  # commits at the end, rolls back on any error
            connection.execute("BEGIN IMMEDIATE")
            version = _check_version(connection, db_path)
            for statement in _SCHEMA:
                connection.execute(statement)
            if version < HISTORY_SCHEMA_VERSION:
                connection.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")
            connection.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            connection.execute(
                "INSERT OR REPLACE INTO runs (run_id, started_utc, finished_utc, wall_s, "
                "commit_sha, commit_dirty, machine, libraries, settings, "
                "results_schema_version, record, appended_utc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            connection.executemany(
                "INSERT INTO metrics (run_id, key, value, text) VALUES (?, ?, ?, ?)", metrics
            )
    except sqlite3.Error as error:
        raise HistoryError(f"could not record run {run_id} in {db_path}: {error}") from None
    finally:
        connection.close()


class RunSummary(NamedTuple):
    run_id: str
    started_utc: str | None
    commit_sha: str | None
    commit_dirty: bool | None


def runs(db_path: str | Path = DEFAULT_DB) -> list[RunSummary]:
    """Every run in the database, newest first."""
    connection = _connect(db_path, create=False)
    try:
        _check_version(connection, db_path)
        if not _has_runs(connection):
            return []
        found = connection.execute(
            "SELECT run_id, started_utc, commit_sha, commit_dirty FROM runs "
            "ORDER BY started_utc DESC, run_id DESC"
        ).fetchall()
    except sqlite3.Error as error:
        raise HistoryError(f"cannot read the history database {db_path}: {error}") from None
    finally:
        connection.close()
    return [RunSummary(r[0], r[1], r[2], None if r[3] is None else bool(r[3])) for r in found]


def _has_runs(connection: sqlite3.Connection) -> bool:
    return (
        connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
        ).fetchone()
        is not None
    )


def _closest(ref: str, run_ids: list[str]) -> list[str]:
    found = [run_id for run_id in run_ids if ref and ref.lower() in run_id.lower()]
    found += difflib.get_close_matches(ref, run_ids, n=5, cutoff=0.4)
    return list(dict.fromkeys(found))[:5]


def _check_record(record: Any, where: str) -> dict[str, Any]:
    """Upgrade an older stored record; refuse a newer one (results.migrate decides)."""
    try:
        return results.migrate(record, where)
    except results.ResultsFileError as error:
        raise HistoryError(str(error)) from None


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".json") or "/" in ref or "\\" in ref or Path(ref).exists()


def load_run(ref: str | Path, db_path: str | Path = DEFAULT_DB) -> RunRecord:
    """A run's record from a results.json path, a run id in the database, `latest`
    (the newest run by started_utc) or `previous` (the one before it)."""
    text = str(ref)
    if isinstance(ref, Path) or (text not in (LATEST, PREVIOUS) and _looks_like_path(text)):
        path = Path(ref)
        if not path.is_file():
            raise HistoryError(f"{path}: no such results file")
        try:
            return results.load(path)
        except results.ResultsFileError as error:
            raise HistoryError(str(error)) from None
        except (OSError, UnicodeDecodeError) as error:
            raise HistoryError(f"cannot read {path}: {error}") from None
    connection = _connect(db_path, create=False)
    try:
        _check_version(connection, db_path)
        if not _has_runs(connection):
            raise HistoryError(f"{db_path} holds no runs yet")
        if text in (LATEST, PREVIOUS):
            newest = connection.execute(
                "SELECT run_id, record FROM runs ORDER BY started_utc DESC, run_id DESC LIMIT 2"
            ).fetchall()
            index = 0 if text == LATEST else 1
            if len(newest) <= index:
                held = f"only {len(newest)} run" if newest else "no runs"
                raise HistoryError(f"{db_path} holds {held}: there is no {text!r} run")
            run_id, stored = newest[index]
        else:
            found = connection.execute(
                "SELECT run_id, record FROM runs WHERE run_id = ?", (text,)
            ).fetchone()
            if found is None:
                run_ids = [
                    r[0]
                    for r in connection.execute(
                        "SELECT run_id FROM runs ORDER BY started_utc DESC, run_id DESC"
                    )
                ]
                closest = _closest(text, run_ids) or run_ids[:5]
                raise HistoryError(
                    f"no run {text!r} in {db_path}; closest run ids: {', '.join(closest)} "
                    "(or use latest, previous, or a path to a results.json)"
                )
            run_id, stored = found
    except sqlite3.Error as error:
        raise HistoryError(f"cannot read the history database {db_path}: {error}") from None
    finally:
        connection.close()
    try:
        record = json.loads(stored)
    except json.JSONDecodeError as error:
        raise HistoryError(f"run {run_id} in {db_path} is damaged: {error}") from None
    return RunRecord.from_dict(_check_record(record, f"run {run_id} in {db_path}"))


def describe(record: RunRecord) -> str:
    """One line naming a run: id, start, commit."""
    sha = (record.commit.sha or "unknown")[:10]
    dirty = " (dirty)" if record.commit.dirty else ""
    return f"{record.run_id or '?'} started {record.started_utc or '?'}, commit {sha}{dirty}"
