"""The headline comparison of a pair, replicated (docs/measurement.md rule 6).

After a pair's cells have run, each batch size's fastest mode per side (from the cells'
single-process medians) is measured again as a duel: R fresh process pairs, both sides'
workers warm and taking turns in short timed rounds (parity.run.duel), judged by the
hierarchical interval of parity.evaluate.replicates. Its block sits beside the cells'
single-process ratio in `evaluation.latency[batch].replicated`.

A causal LM's workers time generations, not calls (its cells' latency is empty): at each
batch size its cells timed, its duel pits each side's fastest decoding mode there, and its
rounds answer both time to first token and decode time (`replicate_generation`, stored
by batch size as `evaluation.generation_replicated_by_batch`).

The interval is the rerun interval: where the ratio of another run of the same duel is
expected to fall, 95% of the time. The report's verdict and the bench's coverage figure
are about exactly that question ("would a rerun agree?"), so this is the honest width.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from statistics import median
from typing import Any

from parity.evaluate import generation
from parity.evaluate.replicates import RERUN, compare
from parity.run import executors
from parity.run.duel import Contender, DuelPlan
from parity.run.journal import safe_name
from parity.vocabulary import SIDE_NAMES, SIDES
from zoo.sources import get_source

GENERATION = "generation"  # the label of a causal LM's duel (its folder, its progress lines)
# A causal LM's round: at least one whole generation (NEW_TOKENS model calls) and the
# profile's round time, where other pairs' rounds take at least three calls.
GENERATION_ROUND_MIN_COUNT = 1


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


def _duel(
    pair,
    best: dict[str, dict],
    batch: int,
    inputs,
    config,
    weights,
    work_dir,
    note,
    label,
    placement,
):
    """Run the duel of the two sides' cells in `best`; returns the result and its block
    (modes, plan, wall time, and why it stopped early, if it did). placement: the node the
    pair's timed cells ran on (the executor's; None locally), where its duel runs too."""
    replicates = _replicates(config)
    plan = DuelPlan(
        batch=batch,
        threads=config.threads,
        replicates=replicates,
        rounds=config.profile.rounds,
        round_min_time_s=config.profile.round_min_time_s,
        warmup=config.profile.warmup,
        device=config.device,
        ready_timeout_s=config.timeout_s,
        **({"round_min_count": GENERATION_ROUND_MIN_COUNT} if label == GENERATION else {}),
    )
    a, b = (_contender(pair, side, best[side], inputs, weights, config.seed) for side in SIDES)
    what = f"batch {batch}" if label != GENERATION else f"generation, batch {batch}"
    if note:
        note(
            f"{pair.id} {what}: {replicates} process pairs, "
            f"{SIDE_NAMES['torch']} {a.mode} against {SIDE_NAMES['tensorflow']} {b.mode}"
        )
    result = executors.current().run_duel(
        a,
        b,
        plan,
        work_dir / safe_name(f"{pair.id}-duel{'-' + label if label else ''}-b{batch}"),
        progress=(lambda line: note(f"{pair.id} {what}: {line}")) if note else None,
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
    if len(result.replicates) < 2:
        block.setdefault("error", "fewer than 2 replicates finished")
    return result, block


def _replicates(config) -> int:
    return config.replicates if config.replicates is not None else config.profile.replicates


def _replicate_medians(torch_rounds, tf_rounds) -> dict[str, list[float]]:
    """Each replicate's median of its round medians, per side (the record's figures)."""
    return {
        "torch": [median(r) for r in torch_rounds],
        "tensorflow": [median(r) for r in tf_rounds],
    }


def _main_cell(cells: list[dict], side: str, mode: str | None) -> dict | None:
    return next(
        (c for c in cells if c["side"] == side and not c["diagnostic"] and c["mode"] == mode),
        None,
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
    says why. placement: where the pair's timed cells ran (see _duel)."""
    if _replicates(config) < 1:
        return
    for batch, entry in latency.items():
        best = {
            side: _main_cell(cells, side, (entry.get(side) or {}).get("best_mode"))
            for side in SIDES
        }
        if not all(best.values()):
            continue
        result, block = _duel(
            pair, best, int(batch), inputs, config, weights, work_dir, note, label, placement
        )
        if len(result.replicates) >= 2:
            torch_rounds, tf_rounds = result.round_medians()
            block.update(
                compare(torch_rounds, tf_rounds, result.cpu_shares(), interval=RERUN).to_dict()
            )
            block["replicate_medians_ms"] = _replicate_medians(torch_rounds, tf_rounds)
        entry["replicated"] = block


def replicate_generation(
    pair,
    cells: list[dict],
    evaluation: dict,
    inputs,
    config,
    weights: str,
    work_dir: Path,
    note=None,
    placement=None,
) -> None:
    """A causal LM's headline comparisons, one per batch size its cells timed (as the
    other pairs' per batch size): each side's fastest decoding mode there (the highest
    tokens/s among its cells, parity.evaluate.generation.best_modes) in a duel whose
    rounds time whole generations of that many copies of the timed prompt. Two
    comparisons come from the same rounds, each a ratio of PyTorch's time over
    TensorFlow's with its rerun interval: `decode` (the new tokens after the first;
    tokens/s is its inverse) and `ttft` (time to first token). Stored by batch size as
    evaluation.generation_replicated_by_batch."""
    speeds = evaluation.get("generation") or []
    if _replicates(config) < 1:
        return
    found: dict[str, Any] = {}
    for batch in generation.batches(speeds):
        best_modes = generation.best_modes(speeds, batch)
        if best_modes is None:
            continue
        best = {side: _main_cell(cells, side, best_modes[side]) for side in SIDES}
        if not all(best.values()):
            continue
        result, block = _duel(
            pair, best, batch, inputs, config, weights, work_dir, note, GENERATION, placement
        )
        if len(result.replicates) >= 2:
            shares = result.cpu_shares()
            medians: dict[str, Any] = {}
            for name, series in (("decode", None), ("ttft", "ttft_ms")):
                torch_rounds, tf_rounds = result.round_medians(series)
                block[name] = compare(torch_rounds, tf_rounds, shares, interval=RERUN).to_dict()
                medians[name] = _replicate_medians(torch_rounds, tf_rounds)
            block["replicate_medians_ms"] = medians
        found[str(batch)] = block
    if found:
        evaluation["generation_replicated_by_batch"] = found
