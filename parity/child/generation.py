"""The worker half of the text-generation task: evaluate and time a causal LM's decoder.

A loader hands the worker a Decoder (LoadedModel.decoder) built on its side's own
machinery: transformers' forward with its key-value cache (parity/child/loaders/hf.py),
keras-hub's call_with_cache (parity/child/loaders/keras_hub.py). This module drives both
alike, at batch 1, one prompt at a time, and writes what parity.evaluate.generation reads.

Timing (docs/measurement.md rules 3-5): one generation is a prefill (the prompt in, the
first new token out: time to first token) and NEW_TOKENS - 1 decode steps. The first
generation is timed apart (it holds any tracing); then WARMUP_GENERATIONS untimed ones
(each is NEW_TOKENS model calls, so rule 3's ten warm-up calls are passed); then timed
generations until the profile's min_count and min_time are both reached, or a cap.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from parity.contention import CpuClock, is_contended

TOP_K = 5
WARMUP_GENERATIONS = 2


class Decoder(Protocol):
    context: int | None  # the model's longest sequence (positions), where it has one

    def logits(self, ids: np.ndarray) -> np.ndarray:
        """A full forward pass over one prompt: (S, V) float32 logits."""

    def prefill(self, ids: np.ndarray, total: int) -> tuple[np.ndarray, Any]:
        """The prompt in, with room for `total` positions: the last position's (V,)
        logits and the decoding state (the cache)."""

    def step(self, token: int, position: int, state: Any) -> tuple[np.ndarray, Any]:
        """One new token at `position`: its (V,) logits and the new state."""


def check_context(decoder: Decoder, prompt_tokens: int, new_tokens: int, prompt: int) -> None:
    needed = prompt_tokens + new_tokens
    if decoder.context is not None and needed > decoder.context:
        raise ValueError(
            f"prompt {prompt + 1} has {prompt_tokens} tokens and {new_tokens} new ones are "
            f"asked for: {needed} positions, over the model's context of {decoder.context}; "
            "shorten the prompt"
        )


def greedy(decoder: Decoder, ids: np.ndarray, new_tokens: int, keep: list | None = None):
    """Greedy decoding; each step's TOP_K logits go to `keep` when given. Returns the
    new tokens and the prefill's and the decode steps' seconds."""
    t0 = time.perf_counter()
    logits, state = decoder.prefill(ids, len(ids) + new_tokens)
    token = int(np.argmax(logits))
    prefill_s = time.perf_counter() - t0
    tokens = [token]
    if keep is not None:
        keep.append(_top(logits))
    t0 = time.perf_counter()
    for step in range(1, new_tokens):
        logits, state = decoder.step(token, len(ids) + step - 1, state)
        token = int(np.argmax(logits))
        tokens.append(token)
        if keep is not None:
            keep.append(_top(logits))
    return tokens, prefill_s, time.perf_counter() - t0


def _top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-logits, kind="stable")[:TOP_K]
    return order, logits[order]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def evaluate(decoder: Decoder, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every prompt: a full forward pass (logits at each position), then greedy decoding."""
    ids, lengths = inputs["input_ids"], inputs["lengths"]
    new_tokens = int(inputs["new_tokens"][0])
    prompts, width = ids.shape
    for prompt, length in enumerate(lengths):
        check_context(decoder, int(length), new_tokens, prompt)
    found: dict[str, Any] = {}
    for prompt, length in enumerate(lengths):
        tokens = ids[prompt, :length]
        logits = decoder.logits(tokens)
        if not found:
            vocab = logits.shape[-1]
            found = {
                "last_logits": np.zeros((prompts, vocab), np.float32),
                "top_ids": np.full((prompts, width, TOP_K), -1, np.int64),
                "top_values": np.full((prompts, width, TOP_K), np.nan, np.float32),
                "token_logprobs": np.full((prompts, width - 1), np.nan, np.float32),
                "generated": np.zeros((prompts, new_tokens), np.int64),
                "step_ids": np.zeros((prompts, new_tokens, TOP_K), np.int64),
                "step_values": np.zeros((prompts, new_tokens, TOP_K), np.float32),
            }
        found["last_logits"][prompt] = logits[-1]
        order = np.argsort(-logits, axis=-1, kind="stable")[:, :TOP_K]
        found["top_ids"][prompt, :length] = order
        found["top_values"][prompt, :length] = np.take_along_axis(logits, order, axis=-1)
        if length > 1:
            logprobs = _log_softmax(logits[:-1])
            found["token_logprobs"][prompt, : length - 1] = logprobs[
                np.arange(length - 1), tokens[1:]
            ]
        steps: list = []
        generated, _, _ = greedy(decoder, tokens, new_tokens, steps)
        found["generated"][prompt] = generated
        found["step_ids"][prompt] = [step_ids for step_ids, _ in steps]
        found["step_values"][prompt] = [values for _, values in steps]
    return found


def time_generation(
    decoder: Decoder, inputs: dict[str, np.ndarray], profile: dict[str, Any], threads: int
) -> dict[str, Any]:
    """Time to first token and decode time of the first prompt, at batch 1."""
    ids = inputs["input_ids"][0, : inputs["lengths"][0]]
    new_tokens = int(inputs["new_tokens"][0])
    t0 = time.perf_counter()
    greedy(decoder, ids, new_tokens)
    first_generation_s = time.perf_counter() - t0
    for _ in range(WARMUP_GENERATIONS):
        greedy(decoder, ids, new_tokens)
    ttft_ms, decode_ms = [], []
    clock = CpuClock(threads).start()
    start = time.perf_counter()
    while True:
        _, prefill_s, decode_s = greedy(decoder, ids, new_tokens)
        ttft_ms.append(prefill_s * 1000.0)
        decode_ms.append(decode_s * 1000.0)
        elapsed = time.perf_counter() - start
        if len(ttft_ms) >= profile["min_count"] and elapsed >= profile["min_time_s"]:
            stopped = "min_count and min_time reached"
            break
        if len(ttft_ms) >= profile["max_count"]:
            stopped = "max_count reached"
            break
        if elapsed >= profile["max_time_s"]:
            stopped = "max_time reached"
            break
    share = clock.share()
    return {
        "batch": 1,
        "prompt_tokens": int(len(ids)),
        "new_tokens": new_tokens,
        "first_generation_s": first_generation_s,
        "warmup_generations": WARMUP_GENERATIONS,
        "ttft_ms": ttft_ms,
        "decode_ms": decode_ms,
        "stopped": stopped,
        "cpu_share": share,
        "contended": is_contended(share),
    }


def save_output(path: str, found: dict[str, np.ndarray]) -> None:
    """One .npz at the cell's output path (its name kept, so the parent finds it)."""
    with open(path, "wb") as handle:
        np.savez(handle, **found)
