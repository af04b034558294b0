"""Agreement, perplexity and speed of causal language models, from what the workers wrote
(parity/child/generation.py): numpy only.

A worker's output file (.npz) holds, per prompt:
  last_logits (P, V)        the logits at the prompt's last position (full forward pass)
  top_ids, top_values (P, S, K)  the K largest logits at every prompt position (-1 past
                            the prompt's end)
  token_logprobs (P, S-1)   log p(next prompt token) at each position (NaN past the end)
  generated (P, N)          greedy tokens, N new tokens per prompt
  step_ids, step_values (P, N, K)  the K largest logits at each greedy step
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parity.evaluate.checks import finite_or_raise, rowwise_cosine
from parity.evaluate.statistics import summarize

# A greedy flip where the two best logits were within this many tolerances of each other
# is a near-tie (rounding may flip it); above it, a confident flip, which fails the pair.
NEAR_TIE_TOLERANCES = 2.0
# A distribution with entropy above this share of log(V) is near-uniform: the seeded
# checkpoint then says nothing about the conversion (every token looks alike).
NEAR_UNIFORM_ENTROPY = 0.95


def load_output(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as found:
        return {name: found[name] for name in found.files}


def tolerance(pair_atol: float, logits: np.ndarray) -> tuple[float, float]:
    """The pair's atol, scaled by the logits' magnitude: float32 rounding grows with the
    values it rounds, and LM logits run to tens, where classifier outputs stay near one.
    Returns (tolerance, scale)."""
    scale = float(max(1.0, np.abs(logits).max()))
    return pair_atol * scale, scale


def _margin(values: np.ndarray) -> float:
    """The gap between the two largest logits of one step."""
    return float(values[0] - values[1]) if len(values) > 1 else float("inf")


def first_difference(a: dict, b: dict, tol: float) -> dict[str, Any] | None:
    """The first (prompt, step) where the greedy tokens differ, with each side's margin
    there. Up to that step both sides decoded the same prefix, so their logits compare."""
    for prompt, (row_a, row_b) in enumerate(zip(a["generated"], b["generated"], strict=True)):
        differs = np.flatnonzero(row_a != row_b)
        if differs.size:
            step = int(differs[0])
            margins = (
                _margin(a["step_values"][prompt, step]),
                _margin(b["step_values"][prompt, step]),
            )
            return {
                "prompt": prompt,
                "position": step,
                "torch_token": int(row_a[step]),
                "tensorflow_token": int(row_b[step]),
                "torch_margin": margins[0],
                "tensorflow_margin": margins[1],
                # Whether each side's runner-up is the other side's choice (a swap).
                "torch_runner_up": int(a["step_ids"][prompt, step, 1]),
                "tensorflow_runner_up": int(b["step_ids"][prompt, step, 1]),
                "near_tie": bool(min(margins) <= NEAR_TIE_TOLERANCES * tol),
            }
    return None


def generation_agreement(a: dict, b: dict, *, atol: float) -> dict[str, Any]:
    """Side a (PyTorch) against side b (TensorFlow): last-position logits, top-1/top-5 at
    every prompt position, and greedy decoding."""
    for name in ("last_logits", "top_ids", "generated"):
        if a[name].shape != b[name].shape:
            raise ValueError(f"{name} shapes differ: torch {a[name].shape} vs tf {b[name].shape}")
    finite_or_raise("torch logits", a["last_logits"])
    finite_or_raise("tensorflow logits", b["last_logits"])
    last_a = a["last_logits"].astype(np.float64)
    last_b = b["last_logits"].astype(np.float64)
    diff = np.abs(last_a - last_b)
    tol, scale = tolerance(atol, last_a)
    real = a["top_ids"][..., 0] >= 0  # prompt positions (the rest is padding)
    top_a, top_b = a["top_ids"][real], b["top_ids"][real]
    top5_same = [set(x) == set(y) for x, y in zip(top_a, top_b, strict=True)]
    flip = first_difference(a, b, tol)
    identical = int(np.all(a["generated"] == b["generated"], axis=1).sum())
    max_abs = float(diff.max())
    return {
        "compared_values": int(diff.size),
        "compared_rows": int(real.sum()),
        "max_abs_diff": max_abs,
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff_over_scale": max_abs / scale,
        "min_logit_cosine": float(rowwise_cosine(last_a, last_b).min()),
        "top1_agreement": float(np.mean(top_a[:, 0] == top_b[:, 0])),
        "top5_agreement": float(np.mean(top5_same)),
        "greedy": {
            "prompts": int(len(a["generated"])),
            "new_tokens": int(a["generated"].shape[1]),
            "identical_prompts": identical,
            "matching_tokens": float(np.mean(a["generated"] == b["generated"])),
            "first_difference": flip,
        },
        "atol": tol,
        "note": f"tolerance: atol {atol:g} x logit scale {scale:.3g}; a greedy flip fails "
        f"unless both margins are within {NEAR_TIE_TOLERANCES:g} tolerances",
        "passed": bool(max_abs <= tol and (flip is None or flip["near_tie"])),
    }


def perplexity(output: dict) -> dict[str, Any]:
    """exp of the mean negative log-likelihood of each prompt's tokens after its first."""
    logprobs = output["token_logprobs"]
    real = logprobs[np.isfinite(logprobs)]
    if real.size == 0:
        raise ValueError("no prompt has two tokens: perplexity needs at least one prediction")
    return {"perplexity": float(np.exp(-real.mean())), "tokens": int(real.size)}


def distribution_check(output: dict) -> dict[str, Any]:
    """Whether a model's predictions carry information: the entropy of its last-position
    distributions against log(V) (near 1 is uniform), and how many distinct tokens greedy
    decoding produced. `degenerate` names what failed, or is None."""
    logits = output["last_logits"].astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    entropy = -(probs * np.log(np.clip(probs, 1e-300, None))).sum(axis=1)
    share = float(entropy.max() / np.log(logits.shape[1]))
    per_prompt = [len(np.unique(row)) for row in output["generated"]]
    problems = []
    if share > NEAR_UNIFORM_ENTROPY:
        problems.append(f"near-uniform logits (entropy {share:.3f} of log V)")
    if min(per_prompt) < 2:
        stuck = int(np.argmin(per_prompt))
        problems.append(f"greedy decoding repeats one token (prompt {stuck + 1})")
    return {
        "max_entropy_share": share,
        "distinct_generated_tokens": int(len(np.unique(output["generated"]))),
        "min_distinct_per_prompt": int(min(per_prompt)),
        "degenerate": "; ".join(problems) or None,
    }


def speeds(cell: dict) -> list[dict[str, Any]]:
    """One cell's time to first token (prefill, ms) and decode rate (tokens/s) at each
    batch size it timed, from its worker's samples; empty when the cell timed nothing.
    At batch B a generation decodes B x (new tokens - 1) tokens. Cells from before batch
    sizes (one flat block) timed batch 1."""
    found = (cell.get("metrics") or {}).get("generation") or {}
    if "ttft_ms" in found:  # a cell from before batch sizes: batch 1 alone
        found = {"1": found}
    return [
        entry for batch, figures in found.items() if (entry := _speed(cell, int(batch), figures))
    ]


def _speed(cell: dict, batch: int, found: dict) -> dict[str, Any] | None:
    if not found.get("ttft_ms"):
        return None
    ttft = summarize(found["ttft_ms"])
    decode = summarize(found["decode_ms"])
    tokens = batch * (found["new_tokens"] - 1)  # the first new tokens come from the prefill
    kv = found.get("kv_cache") or {}
    return {
        "side": cell["side"],
        "mode": cell["mode"],
        "batch": batch,
        "prompt": found.get("prompt"),
        "prompt_tokens": found["prompt_tokens"],
        "new_tokens": found["new_tokens"],
        "samples": ttft.n,
        "ttft_ms": ttft.median,
        "ttft_iqr_ms": ttft.iqr,
        "decode_ms": decode.median,
        "tokens_per_s": tokens / decode.median * 1000.0 if decode.median > 0 else None,
        "first_generation_s": found.get("first_generation_s"),
        "contended": found.get("contended"),
        # The key-value cache's own bytes after a generation, or why they could not be
        # read; beside the cell's peak resident memory up to this batch's end.
        "kv_cache_bytes": kv.get("bytes"),
        "kv_cache_why": kv.get("why") if kv else "not recorded (a cell from before it was)",
        "peak_rss_mib": found.get("peak_rss_mib"),
    }


def batches(speeds: list[dict[str, Any]]) -> list[int]:
    """The batch sizes the cells timed, smallest first."""
    return sorted({entry.get("batch") or 1 for entry in speeds})


def best_modes(speeds: list[dict[str, Any]], batch: int = 1) -> dict[str, str] | None:
    """Each side's fastest decoding mode at a batch size, by its cell's median tokens/s
    (from `speeds`): the modes a causal LM's replicated comparison pits there; None unless
    both sides have one."""
    found: dict[str, tuple[float, str]] = {}
    for entry in speeds:
        rate = entry.get("tokens_per_s")
        if (entry.get("batch") or 1) != batch:
            continue
        if rate and rate > found.get(entry["side"], (0.0, ""))[0]:
            found[entry["side"]] = (rate, entry["mode"])
    if set(found) != {"torch", "tensorflow"}:
        return None
    return {side: mode for side, (_, mode) in found.items()}
