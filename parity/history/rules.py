"""`--fail-on` rules: what counts as a regression from run A to run B, applied to the
figures parity.history.compare lines up.

Latency rules (median, p90) are judged by statistics (parity.history.noise): a change is a
regression only when the 95% interval of new/old lies wholly beyond the limit; one whose
point estimate is beyond it but whose interval reaches back within it is a possible
regression, listed apart and not failing. The median rule also judges each replicated
comparison's PyTorch/TensorFlow ratio, from its per-replicate ratios: one side grown
slower than the other by more than the limit. Runs from machines of different kinds
(noise.machine_differences) get no latency rule at all: their PyTorch/TensorFlow ratios
are lined up instead, with the verdicts that flip between the machines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from parity.errors import RuleError
from parity.history import noise
from parity.history.compare import MISSING, Run, Value, flat, natural
from parity.results.record import RunRecord

# Figures an accuracy rule watches: the text task's Spearman, the image task's top-k.
ACCURACY_FIGURES = ("spearman", "top1", "top5")
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
LATENCY_QUANTILES = {"median_ms": 0.5, "p90_ms": 0.9}  # figures judged by their interval
REPLICATED_KEY = "{pair}/latency/b{batch}/replicated_ratio"


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
        if b is MISSING:
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
        return "ok in A, not measured in B" if b is MISSING else f"ok in A, {b} in B"
    return None


@dataclass(frozen=True)
class RatioRow:
    """One pair and batch size on two machines: PyTorch/TensorFlow in each, and verdicts."""

    key: str
    a: str  # "1.960 [1.930, 2.000] TensorFlow faster (R=5)"
    b: str
    flipped: bool  # both replicated, and the verdicts differ
    reversed_unreplicated: bool  # a single-process ratio crossed the tie band


@dataclass
class Judgement:
    regressions: list[Regression] = field(default_factory=list)
    possible: list[Regression] = field(default_factory=list)  # listed apart, not failing
    machines: list[str] = field(default_factory=list)  # why the machines differ; [] alike
    ratios: list[RatioRow] = field(default_factory=list)  # when the machines differ
    floor: str = ""  # the between-process floor plain cells were judged with


def _record(run: Run) -> RunRecord | None:
    if isinstance(run, RunRecord):
        return run
    return RunRecord.coerce(run) if "pairs" in run else None


def _samples(record: RunRecord | None) -> dict[tuple[str, str], list[float]]:
    if record is None:
        return {}
    return {
        (cell.cell_id, batch): entry.samples_ms
        for cell in record.cells()
        if cell.metrics
        for batch, entry in cell.metrics.latency.items()
    }


def _latency_entries(record: RunRecord | None) -> dict[tuple[str, str], Any]:
    if record is None:
        return {}
    return {
        (pair.id, batch): entry
        for pair in record.pairs
        for batch, entry in pair.evaluation.latency.items()
    }


def _judge_latency(
    rule: Rule, change: noise.Change, key: str, a: Value, b: Value, what: str, j: Judgement
) -> None:
    if change.ratio <= 1 + rule.limit:
        return
    reason = f"{what}{change.text()}; limit +{rule.limit:.0%}"
    target = j.regressions if change.beyond(rule.limit) else j.possible
    target.append(Regression(rule.text, key, a, b, reason))


def _replicated_changes(
    rule: Rule, rec_a: RunRecord | None, rec_b: RunRecord | None, j: Judgement
) -> None:
    """The median rule on each replicated comparison: one side slower than the other by
    more than the limit, from the two runs' per-replicate ratios."""
    found_b = _latency_entries(rec_b)
    for (pair_id, batch), entry_a in _latency_entries(rec_a).items():
        entry_b = found_b.get((pair_id, batch))
        rep_a = entry_a.replicated
        rep_b = entry_b.replicated if entry_b is not None else None
        if rep_a is None or rep_b is None or rep_a.modes != rep_b.modes:
            continue
        change = noise.replicated_change(rep_a.replicate_ratios, rep_b.replicate_ratios)
        if change is None:
            continue
        key = REPLICATED_KEY.format(pair=pair_id, batch=batch)
        modes = {side: rep_a.modes.get(side, "?") for side in ("torch", "tensorflow")}
        if change.ratio >= 1:
            slower, other = f"PyTorch {modes['torch']}", f"TensorFlow {modes['tensorflow']}"
        else:  # TensorFlow grew slower against PyTorch: judge the inverse
            slower, other = f"TensorFlow {modes['tensorflow']}", f"PyTorch {modes['torch']}"
            change = noise.Change(1 / change.ratio, 1 / change.high, 1 / change.low, change.basis)
        what = (
            f"PyTorch/TensorFlow {rep_a.ratio:.3f} -> {rep_b.ratio:.3f}: {slower} slower "
            f"against {other} by "
        )
        _judge_latency(rule, change, key, rep_a.ratio, rep_b.ratio, what, j)


def _ratio_text(entry: Any) -> tuple[str, str | None, float | None]:
    """(shown, replicated verdict or None, single-process ratio or None)."""
    rep = entry.replicated
    if rep is not None and rep.ratio is not None:
        interval = f" [{rep.ci_low:.3f}, {rep.ci_high:.3f}]" if rep.ci_low else ""
        return f"{rep.ratio:.3f}{interval} {rep.verdict} (R={rep.replicates})", rep.verdict, None
    single = entry.torch_over_tf
    if single is None or single.ratio is None:
        return "-", None, None
    return f"{single.ratio:.3f} (one process, no verdict)", None, single.ratio


def _tie_side(ratio: float | None, margin: float = 0.02) -> int:
    if ratio is None:
        return 0
    return 1 if ratio > 1 + margin else -1 if ratio < 1 / (1 + margin) else 0


def ratio_rows(a: RunRecord, b: RunRecord) -> list[RatioRow]:
    """Each pair and batch size in both runs: its PyTorch/TensorFlow ratio on each."""
    found_b = _latency_entries(b)
    rows = []
    for (pair_id, batch), entry_a in _latency_entries(a).items():
        entry_b = found_b.get((pair_id, batch))
        if entry_b is None:
            continue
        shown_a, verdict_a, single_a = _ratio_text(entry_a)
        shown_b, verdict_b, single_b = _ratio_text(entry_b)
        both = verdict_a is not None and verdict_b is not None
        rows.append(
            RatioRow(
                f"{pair_id} b{batch}",
                shown_a,
                shown_b,
                flipped=both and verdict_a != verdict_b,
                reversed_unreplicated=not both and _tie_side(single_a) * _tie_side(single_b) == -1,
            )
        )
    return rows


def judge(a: Run, b: Run, rules: Iterable[str | Rule]) -> Judgement:
    """What the rules (`--fail-on` strings or parsed Rules) find from run A to run B.

    Growth and accuracy rules compare figures present in both runs; a cell that stopped
    running is the `status` rule's to catch.
    """
    parsed = [rule if isinstance(rule, Rule) else parse_rule(rule) for rule in rules]
    flat_a, flat_b = flat(a), flat(b)
    rec_a, rec_b = _record(a), _record(b)
    j = Judgement()
    if rec_a is not None and rec_b is not None:
        j.machines = noise.machine_differences(rec_a, rec_b)
        if j.machines:
            j.ratios = ratio_rows(rec_a, rec_b)
    floor, j.floor = noise.process_floor(rec_a, rec_b)
    samples_a, samples_b = _samples(rec_a), _samples(rec_b)
    for rule in parsed:
        latency = rule.kind == "growth" and rule.figure in LATENCY_QUANTILES
        if latency and j.machines:
            continue  # latency between different machines measures the machines
        if latency and rule.figure == "median_ms":
            _replicated_changes(rule, rec_a, rec_b, j)
        for key in sorted(flat_a, key=natural):
            value_a, value_b = flat_a[key], flat_b.get(key, MISSING)
            if latency:
                parts = key.split("/")
                if parts[-1] != rule.figure or not (_finite(value_a) and _finite(value_b)):
                    continue
                if value_a <= 0:
                    continue
                cell, batch = "/".join(parts[:-2]), parts[-2].removeprefix("b")
                change = noise.cell_change(
                    value_a,
                    value_b,
                    floor,
                    j.floor,
                    samples_a.get((cell, batch)),
                    samples_b.get((cell, batch)),
                    LATENCY_QUANTILES[rule.figure],
                )
                what = f"{value_a:.6g} -> {value_b:.6g} ms: "
                _judge_latency(rule, change, key, value_a, value_b, what, j)
                continue
            reason = _check(rule, key, value_a, value_b, flat_b)
            if reason:
                b_value = None if value_b is MISSING else value_b
                j.regressions.append(Regression(rule.text, key, value_a, b_value, reason))
    return j


def regressions(a: Run, b: Run, rules: Iterable[str | Rule]) -> list[Regression]:
    """The regressions `judge` finds (possible ones left out)."""
    return judge(a, b, rules).regressions


def format_judgement(found: Judgement, rules: list[Rule]) -> str:
    lines = []
    if found.machines:
        lines += [
            "A and B ran on different machines: " + "; ".join(found.machines) + ".",
            "No latency rule applies between them (their latencies measure the machines as "
            "much as the code); their PyTorch/TensorFlow ratios instead:",
        ]
        for row in found.ratios:
            mark = (
                "  VERDICT FLIPPED"
                if row.flipped
                else "  faster side reversed (one process per side: no verdict)"
                if row.reversed_unreplicated
                else ""
            )
            lines.append(f"  {row.key}: A {row.a} | B {row.b}{mark}")
        flipped = [row.key for row in found.ratios if row.flipped]
        lines.append(
            f"{len(flipped)} verdict(s) flip between the two machines"
            + (f": {', '.join(flipped)}" if flipped else "")
        )
        lines.append("")
    if not rules:
        lines.append("no --fail-on rules given")
        return "\n".join(lines)
    names = ", ".join(rule.text for rule in rules)
    if found.regressions:
        lines.append(f"{len(found.regressions)} regression(s) ({names}):")
        lines += [f"  [{r.rule}] {r.key}: {r.reason}" for r in found.regressions]
    else:
        lines.append(f"no regressions ({names})")
    if found.possible:
        lines.append(
            f"{len(found.possible)} possible regression(s): beyond the limit as measured, but "
            "the 95% interval reaches back within it (not failing):"
        )
        lines += [f"  [{r.rule}] {r.key}: {r.reason}" for r in found.possible]
    if any(rule.figure in LATENCY_QUANTILES for rule in rules) and not found.machines:
        lines.append(
            f"(latency changes are judged by the 95% interval of new/old; plain cells, with "
            f"one process per run, include a {found.floor})"
        )
    return "\n".join(lines)
