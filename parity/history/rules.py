"""`--fail-on` rules: what counts as a regression from run A to run B, applied to the
figures parity.history.compare lines up."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from parity.errors import RuleError
from parity.history.compare import MISSING, Run, Value, flat, natural

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


def regressions(a: Run, b: Run, rules: Iterable[str | Rule]) -> list[Regression]:
    """What the rules (`--fail-on` strings or parsed Rules) find from run A to run B.

    Growth and accuracy rules compare figures present in both runs; a cell that stopped
    running is the `status` rule's to catch.
    """
    parsed = [rule if isinstance(rule, Rule) else parse_rule(rule) for rule in rules]
    flat_a, flat_b = flat(a), flat(b)
    found = []
    for rule in parsed:
        for key in sorted(flat_a, key=natural):
            value_b = flat_b.get(key, MISSING)
            reason = _check(rule, key, flat_a[key], value_b, flat_b)
            if reason:
                b_value = None if value_b is MISSING else value_b
                found.append(Regression(rule.text, key, flat_a[key], b_value, reason))
    return found


def format_regressions(found: list[Regression], rules: list[Rule]) -> str:
    if not rules:
        return "no --fail-on rules given"
    names = ", ".join(rule.text for rule in rules)
    if not found:
        return f"no regressions ({names})"
    lines = [f"{len(found)} regression(s) ({names}):"]
    lines += [f"  [{r.rule}] {r.key}: {r.reason}" for r in found]
    return "\n".join(lines)
