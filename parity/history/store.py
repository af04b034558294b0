"""Run history: every run's record in one SQLite database, and comparisons between runs.

`append` stores a results record (what `parity.run.runner.run` returns and results.json
holds) in one transaction: the full record as JSON, its identity (run id, start time,
commit, machine, libraries, settings) as columns, and one row per comparable figure in
a `metrics` table for ad-hoc queries, e.g.

    SELECT r.started_utc, m.value FROM metrics m JOIN runs r USING (run_id)
    WHERE m.key = 'all-MiniLM-L6-v2/torch/eager/b1/median_ms' ORDER BY r.started_utc;

`flatten` names those figures; `compare` lines two runs up key by key, and
`regressions` applies `--fail-on` rules to them. Standard library only: this module
imports no framework.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from parity.errors import HistoryError, RuleError  # noqa: F401  (raised and re-exported)
from parity.results import store as results

HISTORY_SCHEMA_VERSION = 1  # PRAGMA user_version of the database
DEFAULT_DB = Path("reports") / "history.sqlite"
LATEST, PREVIOUS = "latest", "previous"
SIDES = ("torch", "tensorflow")

Value = float | str | None

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


# --- flattening -------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _batch_order(batch: Any) -> tuple[int, Any]:
    text = str(batch)
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def _put_number(flat: dict[str, Value], key: str, value: Any) -> None:
    number = _number(value)
    if number is not None:
        flat[key] = number


def _flatten_agreement(flat: dict[str, Value], base: str, agreement: Any) -> None:
    if not isinstance(agreement, Mapping):
        return
    if agreement.get("error"):
        flat[f"{base}/error"] = str(agreement["error"])
    for name in ("max_abs_diff", "mean_abs_diff", "min_embedding_cosine", "similarity_spearman"):
        _put_number(flat, f"{base}/{name}", agreement.get(name))
    if agreement.get("passed") is not None:
        flat[f"{base}/passed"] = 1.0 if agreement["passed"] else 0.0


def _flatten_cell(flat: dict[str, Value], cell: Mapping[str, Any]) -> None:
    cell_id = cell.get("cell_id") or f"{cell.get('side')}/{cell.get('mode')}"
    flat[f"{cell_id}/status"] = str(cell.get("status"))
    metrics = cell.get("metrics") or {}
    latency = metrics.get("latency") or {}
    stats_by_batch = cell.get("latency_stats") or {}
    for batch in sorted(stats_by_batch, key=_batch_order):
        stats = stats_by_batch[batch] or {}
        _put_number(flat, f"{cell_id}/b{batch}/median_ms", stats.get("median"))
        _put_number(flat, f"{cell_id}/b{batch}/p90_ms", stats.get("p90"))
        _put_number(
            flat, f"{cell_id}/b{batch}/first_call_s", (latency.get(batch) or {}).get("first_call_s")
        )
    memory = metrics.get("memory") or {}
    _put_number(flat, f"{cell_id}/peak_load_mib", memory.get("peak_load_mib"))
    _put_number(flat, f"{cell_id}/peak_infer_mib", memory.get("peak_infer_mib"))
    _put_number(flat, f"{cell_id}/load_s", (metrics.get("timings") or {}).get("load_s"))


def flatten(record: Mapping[str, Any]) -> dict[str, Value]:
    """One key per comparable figure of a run, in a stable order.

    Cells are keyed by their cell id (`<pair>/<side>/<mode>`, or
    `<pair>/<side>/diagnostic:<name>`):

        <cell>/status                      text: ok, failed or unavailable
        <cell>/b<batch>/median_ms          latency median (also p90_ms, first_call_s)
        <cell>/peak_infer_mib              peak resident memory (also peak_load_mib, load_s)
        <cell>/vs_eager/max_abs_diff       a compiled mode against its side's eager output
        <cell>/agreement/...               a diagnostic cell against the other side
        <pair>/status                      text
        <pair>/agreement/max_abs_diff      also mean_abs_diff, min_embedding_cosine, ...
        <pair>/agreement/passed            1.0 or 0.0 (absent when not computed)
        <pair>/agreement/error             text, when it could not be computed
        <pair>/accuracy/<side>/<mode>/spearman   (text; images: top1, top5, track_b/top1...)
        <pair>/latency/b<batch>/torch_over_tf
        <pair>/divergence/first_over_atol  text: the first layer over tolerance
        <pair>/divergence/largest_max_abs_diff
    """
    flat: dict[str, Value] = {}
    for pair in record.get("pairs") or []:
        pair_id = pair.get("id", "?")
        if pair.get("status") is not None:
            flat[f"{pair_id}/status"] = str(pair["status"])
        for cell in pair.get("cells") or []:
            _flatten_cell(flat, cell)
        evaluation = pair.get("evaluation") or {}
        for cell_id, found in (evaluation.get("mode_consistency") or {}).items():
            _put_number(flat, f"{cell_id}/vs_eager/max_abs_diff", (found or {}).get("max_abs_diff"))
            if (found or {}).get("error"):
                flat[f"{cell_id}/vs_eager/error"] = str(found["error"])
        for diag in evaluation.get("diagnostics") or []:
            cell_id = f"{pair_id}/{diag.get('side')}/diagnostic:{diag.get('name')}"
            _flatten_agreement(flat, f"{cell_id}/agreement", diag.get("agreement"))
        _flatten_agreement(flat, f"{pair_id}/agreement", evaluation.get("agreement"))
        for cell_id, found in (evaluation.get("accuracy") or {}).items():
            within = cell_id.removeprefix(f"{pair_id}/")
            if not isinstance(found, Mapping):
                continue
            if found.get("error"):
                flat[f"{pair_id}/accuracy/{within}/error"] = str(found["error"])
            for name in ("spearman", "top1", "top5"):
                _put_number(flat, f"{pair_id}/accuracy/{within}/{name}", found.get(name))
            track_b = found.get("track_b")
            if isinstance(track_b, Mapping):
                for name in ("top1", "top5"):
                    _put_number(
                        flat, f"{pair_id}/accuracy/{within}/track_b/{name}", track_b.get(name)
                    )
        divergence = evaluation.get("divergence")
        if isinstance(divergence, Mapping) and "layers" in divergence:
            first = divergence.get("first_over_atol")
            flat[f"{pair_id}/divergence/first_over_atol"] = (
                str(first.get("label")) if isinstance(first, Mapping) else "none"
            )
            _put_number(
                flat,
                f"{pair_id}/divergence/largest_max_abs_diff",
                (divergence.get("largest") or {}).get("max_abs_diff"),
            )
        latency = evaluation.get("latency") or {}
        for batch in sorted(latency, key=_batch_order):
            ratio = ((latency[batch] or {}).get("torch_over_tf") or {}).get("ratio")
            _put_number(flat, f"{pair_id}/latency/b{batch}/torch_over_tf", ratio)
    return flat


# --- the database -----------------------------------------------------------------------


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


def append(db_path: str | Path, record: Mapping[str, Any]) -> None:
    """Store one run in one transaction; a run id already there is replaced."""
    run_id = record.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise HistoryError("the record has no run_id; is it a parity results record?")
    commit = record.get("commit") or {}
    dirty = commit.get("dirty")
    row = (
        run_id,
        record.get("started_utc"),
        record.get("finished_utc"),
        _number(record.get("wall_s")),
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


def load_run(ref: str | Path, db_path: str | Path = DEFAULT_DB) -> dict[str, Any]:
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
    return _check_record(record, f"run {run_id} in {db_path}")


def describe(record: Mapping[str, Any]) -> str:
    """One line naming a run: id, start, commit."""
    commit = record.get("commit") or {}
    sha = (commit.get("sha") or "unknown")[:10]
    dirty = " (dirty)" if commit.get("dirty") else ""
    return (
        f"{record.get('run_id', '?')} started {record.get('started_utc', '?')}, commit {sha}{dirty}"
    )


# --- comparing --------------------------------------------------------------------------

_MISSING = object()


class Row(NamedTuple):
    key: str
    a: Value  # None: not in A
    b: Value  # None: not in B
    change: str  # "" when the value is the same on both sides

    @property
    def changed(self) -> bool:
        return bool(self.change)


def _flat(run: Mapping[str, Any]) -> dict[str, Value]:
    """A record, or what `flatten` made of one (its keys all contain a slash)."""
    return flatten(run) if "pairs" in run else dict(run)


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


# Figures an accuracy rule watches: the text task's Spearman, the image task's top-k.
ACCURACY_FIGURES = ("spearman", "top1", "top5")


def _is_absolute(key: str) -> bool:
    """Figures whose change is read as a difference, not a percentage."""
    return (
        key.endswith(("spearman", "cosine", "top1", "top5"))
        or "/agreement/" in key
        or "/vs_eager/" in key
    )


def format_value(key: str, value: Value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if key.endswith("/passed"):
            return "pass" if value == 1.0 else "fail"
        return f"{value:.6g}"
    return str(value)


def _change(key: str, a: Any, b: Any) -> str:
    if a is _MISSING:
        return "only in B"
    if b is _MISSING:
        return "only in A"
    if _same(a, b):
        return ""
    if isinstance(a, float) and isinstance(b, float):
        if key.endswith("/passed"):
            return "now passes" if b == 1.0 else "now fails"
        if math.isnan(a) or math.isnan(b) or a == 0 or _is_absolute(key):
            return f"{b - a:+.4g}"
        return f"{(b - a) / abs(a):+.1%}"
    return f"{format_value(key, a)} -> {format_value(key, b)}"


def _natural(key: str) -> list[Any]:
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key)
    ]


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Row]:
    """Every key of either run, with its value in A and in B and the change between them.

    a and b are records (or `flatten` results). Rows come sorted, cell by cell.
    """
    flat_a, flat_b = _flat(a), _flat(b)
    rows = []
    for key in sorted(flat_a.keys() | flat_b.keys(), key=_natural):
        va, vb = flat_a.get(key, _MISSING), flat_b.get(key, _MISSING)
        rows.append(
            Row(
                key,
                None if va is _MISSING else va,
                None if vb is _MISSING else vb,
                _change(key, va, vb),
            )
        )
    return rows


# --- regression rules -------------------------------------------------------------------

RULE_FORMS = (
    "median:+N%, p90:+N%, peak_infer_mib:+N%, peak_load_mib:+N% (a figure grew by more "
    "than N percent), agreement (a pair that passed no longer passes), accuracy:-X (a "
    "Spearman or top-1/top-5 fell by more than X, absolute), status (a cell that was ok is not)"
)
_GROWTH_FIGURES = {
    "median": "median_ms",
    "p90": "p90_ms",
    "peak_infer_mib": "peak_infer_mib",
    "peak_load_mib": "peak_load_mib",
}


@dataclass(frozen=True)
class Rule:
    text: str
    kind: str  # growth, agreement, accuracy, status
    figure: str | None = None  # the key's last part, for growth rules
    limit: float | None = None  # a fraction for growth, an absolute drop for accuracy


def parse_rule(text: str) -> Rule:
    cleaned = text.strip()
    if cleaned in ("agreement", "status"):
        return Rule(cleaned, cleaned)
    name, sep, argument = cleaned.partition(":")
    argument = argument.strip()
    if sep and name in _GROWTH_FIGURES:
        match = re.fullmatch(r"\+?(\d+(?:\.\d*)?|\.\d+)%", argument)
        if match:
            return Rule(cleaned, "growth", _GROWTH_FIGURES[name], float(match[1]) / 100)
    elif sep and name == "accuracy":
        match = re.fullmatch(r"-?(\d+(?:\.\d*)?|\.\d+)", argument)
        if match:
            return Rule(cleaned, "accuracy", None, float(match[1]))
    raise RuleError(
        f"--fail-on {text!r} is not a rule; accepted forms: {RULE_FORMS}; "
        "e.g. --fail-on median:+10% --fail-on agreement --fail-on accuracy:-0.01"
    )


class Regression(NamedTuple):
    rule: str
    key: str
    a: Value
    b: Value  # None: not in B
    reason: str


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _check(rule: Rule, key: str, a: Value, b: Any, flat_b: Mapping[str, Value]) -> str | None:
    parts = key.split("/")
    if rule.kind == "growth":
        if parts[-1] != rule.figure or not (_finite(a) and _finite(b)) or a <= 0:
            return None
        if b > a * (1 + rule.limit):
            return f"{a:.6g} -> {b:.6g} ({(b - a) / a:+.1%}, limit +{rule.limit:.0%})"
        return None
    if rule.kind == "agreement":
        if len(parts) != 3 or parts[1:] != ["agreement", "passed"] or a != 1.0 or b == 1.0:
            return None
        if b is _MISSING:
            error = flat_b.get(f"{parts[0]}/agreement/error")
            detail = f"could not be computed: {error}" if error else "not measured"
            return f"passed in A; in B {detail}"
        return "passed in A, fails in B"
    if rule.kind == "accuracy":
        if (
            len(parts) < 3
            or parts[1] != "accuracy"
            or parts[-1] not in ACCURACY_FIGURES
            or not _finite(a)
        ):
            return None
        if _finite(b):
            if a - b > rule.limit:
                return f"{a:.4f} -> {b:.4f} ({b - a:+.4f}, limit -{rule.limit:g})"
            return None
        error = flat_b.get("/".join([*parts[:-1], "error"]))
        if error or isinstance(b, float):  # not computable in B (NaN outputs, say)
            return f"{a:.4f} in A; in B not computable: {error or b}"
        return None
    if rule.kind == "status":
        if parts[-1] != "status" or a != "ok" or b == "ok":
            return None
        return "ok in A, not measured in B" if b is _MISSING else f"ok in A, {b} in B"
    return None


def regressions(
    a: Mapping[str, Any], b: Mapping[str, Any], rules: Iterable[str | Rule]
) -> list[Regression]:
    """What the rules (`--fail-on` strings or parsed Rules) find from run A to run B.

    Growth and accuracy rules compare figures present in both runs; a cell that stopped
    running is the `status` rule's to catch.
    """
    parsed = [rule if isinstance(rule, Rule) else parse_rule(rule) for rule in rules]
    flat_a, flat_b = _flat(a), _flat(b)
    found = []
    for rule in parsed:
        for key in sorted(flat_a, key=_natural):
            value_b = flat_b.get(key, _MISSING)
            reason = _check(rule, key, flat_a[key], value_b, flat_b)
            if reason:
                b_value = None if value_b is _MISSING else value_b
                found.append(Regression(rule.text, key, flat_a[key], b_value, reason))
    return found


# --- text -------------------------------------------------------------------------------


def _group(key: str) -> tuple[str, str]:
    """(cell or pair, rest of the key), for printing cell by cell."""
    parts = key.split("/")
    if len(parts) >= 4 and parts[1] in SIDES:
        return "/".join(parts[:3]), "/".join(parts[3:])
    return parts[0], "/".join(parts[1:])


def format_rows(rows: list[Row], all_rows: bool = False) -> str:
    shown = [row for row in rows if all_rows or row.changed]
    if not shown:
        return "no differences" if rows else "nothing to compare: neither run has measurements"
    table = []
    for row in shown:
        group, rest = _group(row.key)
        table.append(
            (group, rest, format_value(row.key, row.a), format_value(row.key, row.b), row.change)
        )
    head = ("", "A", "B", "change")
    widths = [
        max(len(head[0]), *(len(r[1]) + 2 for r in table)),
        *(max(len(head[i]), *(len(r[i + 1]) for r in table)) for i in range(1, 4)),
    ]
    lines = [f"{head[0]:<{widths[0]}}  {head[1]:>{widths[1]}}  {head[2]:>{widths[2]}}  {head[3]}"]
    current = None
    for group, rest, va, vb, change in table:
        if group != current:
            lines.append(group)
            current = group
        label = f"  {rest}"
        lines.append(
            f"{label:<{widths[0]}}  {va:>{widths[1]}}  {vb:>{widths[2]}}  {change}".rstrip()
        )
    if not all_rows:
        lines.append(f"({len(shown)} of {len(rows)} figures differ; --all shows every one)")
    return "\n".join(lines)


def format_regressions(found: list[Regression], rules: list[Rule]) -> str:
    if not rules:
        return "no --fail-on rules given"
    names = ", ".join(rule.text for rule in rules)
    if not found:
        return f"no regressions ({names})"
    lines = [f"{len(found)} regression(s) ({names}):"]
    lines += [f"  [{r.rule}] {r.key}: {r.reason}" for r in found]
    return "\n".join(lines)
