"""The headline comparison of a pair, replicated (docs/measurement.md rule 6).

After a pair's cells have run, each batch size's fastest mode per side (from the cells'
single-process medians) is measured again as a duel: R fresh process pairs, both sides'
workers warm and taking turns in short timed rounds (parity.run.duel), judged by the
hierarchical interval of parity.evaluate.replicates. Its block sits beside the cells'
single-process ratio in `evaluation.latency[batch].replicated`.

The interval is the rerun interval: where the ratio of another run of the same duel is
expected to fall, 95% of the time. The report's verdict and the bench's coverage figure
are about exactly that question ("would a rerun agree?"), so this is the honest width.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from statistics import median
from typing import Any

from parity.evaluate.replicates import RERUN, compare
from parity.run import executors
from parity.run.duel import Contender, DuelPlan
from parity.run.journal import safe_name
from parity.vocabulary import SIDE_NAMES, SIDES
from zoo.sources import get_source


def _contender(pair, side: str, cell: dict, inputs, weights: str, seed: int) -> Contender:
    source, _ = get_source(cell["handle"])
    return Contender(
        side=side,
        framework=cell["framework"],
        source_prefix=source.prefix,
        location=cell["location"],
        task=pair.task,
        mode=cell["mode"],
        inputs=inputs.paths_for(side),
        load_options=cell.get("load_options") or {},
        weights=weights,
        seed=seed,
    )


def replicate(
    pair,
    cells: list[dict],
    latency: dict[str, Any],
    inputs,
    config,
    weights: str,
    work_dir: Path,
    note=None,
    label: str = "",
    placement=None,
) -> None:
    """Add `replicated` to each batch of `latency` (evaluation.latency, or another
    comparison of the same shape: evaluation.onnx_latency, labelled "onnx") where both
    sides have a best mode. A duel that fails keeps its replicates finished so far and
    says why. placement: the node the pair's timed cells ran on (the executor's; None
    locally), where its duel runs too."""
    replicates = config.replicates if config.replicates is not None else config.profile.replicates
    if replicates < 1:
        return
    for batch, entry in latency.items():
        best = {
            side: next(
                (
                    c
                    for c in cells
                    if c["side"] == side
                    and not c["diagnostic"]
                    and c["mode"] == (entry.get(side) or {}).get("best_mode")
                ),
                None,
            )
            for side in SIDES
        }
        if not all(best.values()):
            continue
        plan = DuelPlan(
            batch=int(batch),
            threads=config.threads,
            replicates=replicates,
            rounds=config.profile.rounds,
            round_min_time_s=config.profile.round_min_time_s,
            warmup=config.profile.warmup,
            device=config.device,
            ready_timeout_s=config.timeout_s,
        )
        a, b = (_contender(pair, side, best[side], inputs, weights, config.seed) for side in SIDES)
        if note:
            note(
                f"{pair.id} batch {batch}: {replicates} process pairs, "
                f"{SIDE_NAMES['torch']} {a.mode} against {SIDE_NAMES['tensorflow']} {b.mode}"
            )
        result = executors.current().run_duel(
            a,
            b,
            plan,
            work_dir / safe_name(f"{pair.id}-duel{'-' + label if label else ''}-b{batch}"),
            progress=(lambda line, b=batch: note(f"{pair.id} batch {b}: {line}")) if note else None,
            placement=placement,
        )
        block: dict[str, Any] = {
            "modes": {"torch": a.mode, "tensorflow": b.mode},
            "plan": asdict(plan),
            "wall_s": result.wall_s,
        }
        if result.error:
            block["error"] = result.error
            block["stderr_tail"] = result.stderr_tail
        if len(result.replicates) >= 2:
            torch_rounds, tf_rounds = result.round_medians()
            block.update(
                compare(torch_rounds, tf_rounds, result.cpu_shares(), interval=RERUN).to_dict()
            )
            block["replicate_medians_ms"] = {
                "torch": [median(r) for r in torch_rounds],
                "tensorflow": [median(r) for r in tf_rounds],
            }
        else:
            block.setdefault("error", "fewer than 2 replicates finished")
        entry["replicated"] = block
