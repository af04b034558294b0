"""The worker half of the text-generation task: evaluate and time a causal LM's decoder.

A loader hands the worker a Decoder (LoadedModel.decoder) built on its side's own
machinery: transformers' forward with its key-value cache (parity/child/loaders/hf.py),
keras-hub's call_with_cache (parity/child/loaders/keras_hub.py). `in_mode` gives the
decoder in the cell's execution mode and for one batch size: eager, or compiled
(torch.compile on PyTorch, tf.function with or without XLA on TensorFlow). This module
drives every decoder alike and writes what parity.evaluate.generation reads. Evaluation
runs at batch 1, one prompt at a time; timing runs at each of the cell's batch sizes.

Fixed shapes (docs/measurement.md rule 3): every prompt's prefill gets room for the same
`total` positions (the longest prompt plus the new tokens), and a compiled decoder pads
each prompt to the longest, so each compiled function is traced once, not once per prompt.

Timing (rules 3-5 and 8b): one generation is a prefill (the prompt in, the first new token
out: time to first token) and NEW_TOKENS - 1 decode steps, of the longest prompt. At batch
B, B copies of that prompt run together (no padding, as image tasks repeat rows): time to
first token is the batched prefill, and decoding makes B x (NEW_TOKENS - 1) tokens. At
each batch size the first generation is timed apart, before anything else runs at that
size (it holds any tracing and compiling for it); then WARMUP_GENERATIONS untimed ones
(each is NEW_TOKENS model calls, so rule 3's ten warm-up calls are passed); then timed
generations until the profile's min_count and min_time are both reached, or a cap. After
them, the key-value cache's own size is read from the last generation's state. A duel's
warm worker (parity.child.serve) times its rounds with the same loop.
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

    def in_mode(self, mode: str, width: int, total: int, batch: int = 1) -> Decoder:
        """This decoder in an execution mode, for `batch` rows of prompts of up to `width`
        tokens and `total` positions in all; raises ValueError for a mode the side does
        not have."""

    def logits(self, ids: np.ndarray) -> np.ndarray:
        """A full forward pass over one prompt (S,): (S, V) float32 logits."""

    def prefill(self, ids: np.ndarray, total: int) -> tuple[np.ndarray, Any]:
        """The prompts in (B, S), with room for `total` positions: the last position's
        (B, V) logits and the decoding state (the cache)."""

    def step(self, tokens: np.ndarray, position: int, state: Any) -> tuple[np.ndarray, Any]:
        """One new token per row (B,) at `position`: its (B, V) logits and the new state."""

    def cache_bytes(self, state: Any) -> int:
        """The key-value cache's own size in bytes, read from its tensors; raises when the
        state does not say (the cell then records why, never a guess)."""


def check_context(decoder: Decoder, prompt_tokens: int, new_tokens: int, prompt: int) -> None:
    needed = prompt_tokens + new_tokens
    if decoder.context is not None and needed > decoder.context:
        raise ValueError(
            f"prompt {prompt + 1} has {prompt_tokens} tokens and {new_tokens} new ones are "
            f"asked for: {needed} positions, over the model's context of {decoder.context}; "
            "shorten the prompt"
        )


class Prompts:
    """The worker's prompts (the parent's token ids, right-padded to the longest) and what
    every generation shares: the new-token count and the positions each prefill holds."""

    def __init__(self, inputs: dict[str, np.ndarray]):
        self.ids, self.lengths = inputs["input_ids"], inputs["lengths"]
        self.new_tokens = int(inputs["new_tokens"][0])
        self.width = int(self.ids.shape[1])
        self.total = self.width + self.new_tokens
        # The timed prompt: the longest (the first of them), so a compiled decoder times
        # the very shapes it was compiled for, without padding.
        self.timed = int(np.argmax(self.lengths))

    def tokens(self, prompt: int) -> np.ndarray:
        return self.ids[prompt, : self.lengths[prompt]]

    def timed_rows(self, batch: int) -> np.ndarray:
        """`batch` copies of the timed prompt, (batch, S): a batch needs no padding."""
        return np.repeat(self.tokens(self.timed)[None, :], batch, axis=0)

    def check(self, decoder: Decoder) -> None:
        for prompt, length in enumerate(self.lengths):
            check_context(decoder, int(length), self.new_tokens, prompt)


def in_mode(decoder: Decoder, mode: str, prompts: Prompts, batch: int = 1) -> Decoder:
    """The loader's decoder in the cell's mode at a batch size, after the prompts are
    checked against its context (a prompt too long fails the cell before anything is
    compiled)."""
    prompts.check(decoder)
    return decoder.in_mode(mode, prompts.width, prompts.total, batch)


def greedy(
    decoder: Decoder, ids: np.ndarray, new_tokens: int, total: int, keep: list | None = None
):
    """Greedy decoding of the rows of `ids` (B, S); each step's TOP_K logits of the first
    row go to `keep` when given. Returns the new tokens (B, N), the prefill's and the
    decode steps' seconds, and the final decoding state."""
    t0 = time.perf_counter()
    logits, state = decoder.prefill(ids, total)
    token = np.argmax(logits, axis=-1)
    prefill_s = time.perf_counter() - t0
    tokens = [token]
    if keep is not None:
        keep.append(_top(logits[0]))
    t0 = time.perf_counter()
    for step in range(1, new_tokens):
        logits, state = decoder.step(token, ids.shape[1] + step - 1, state)
        token = np.argmax(logits, axis=-1)
        tokens.append(token)
        if keep is not None:
            keep.append(_top(logits[0]))
    decode_s = time.perf_counter() - t0
    return np.stack(tokens, axis=1), prefill_s, decode_s, state


def _top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-logits, kind="stable")[:TOP_K]
    return order, logits[order]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def evaluate(decoder: Decoder, prompts: Prompts) -> dict[str, np.ndarray]:
    """Every prompt alone (batch 1): a full forward pass (logits at each position), then
    greedy decoding."""
    count, width, new_tokens = len(prompts.lengths), prompts.width, prompts.new_tokens
    found: dict[str, Any] = {}
    for prompt, length in enumerate(prompts.lengths):
        tokens = prompts.tokens(prompt)
        logits = decoder.logits(tokens)
        if not found:
            vocab = logits.shape[-1]
            found = {
                "last_logits": np.zeros((count, vocab), np.float32),
                "top_ids": np.full((count, width, TOP_K), -1, np.int64),
                "top_values": np.full((count, width, TOP_K), np.nan, np.float32),
                "token_logprobs": np.full((count, width - 1), np.nan, np.float32),
                "generated": np.zeros((count, new_tokens), np.int64),
                "step_ids": np.zeros((count, new_tokens, TOP_K), np.int64),
                "step_values": np.zeros((count, new_tokens, TOP_K), np.float32),
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
        generated, _, _, _ = greedy(decoder, tokens[None, :], new_tokens, prompts.total, steps)
        found["generated"][prompt] = generated[0]
        found["step_ids"][prompt] = [step_ids for step_ids, _ in steps]
        found["step_values"][prompt] = [values for _, values in steps]
    return found


def first_generation(decoder: Decoder, prompts: Prompts, batch: int = 1) -> float:
    """The very first generation of the timed prompt at this batch size, in s: any tracing
    and compiling of the prefill and the decode step falls in it (the cold cost,
    docs/measurement.md 3)."""
    t0 = time.perf_counter()
    greedy(decoder, prompts.timed_rows(batch), prompts.new_tokens, prompts.total)
    return time.perf_counter() - t0


def warm_up(decoder: Decoder, prompts: Prompts, batch: int = 1) -> None:
    for _ in range(WARMUP_GENERATIONS):
        greedy(decoder, prompts.timed_rows(batch), prompts.new_tokens, prompts.total)


def timed_generations(
    decoder: Decoder, prompts: Prompts, loop: dict[str, Any], threads: int, batch: int = 1
) -> dict[str, Any]:
    """Generations of `batch` copies of the timed prompt until the loop's min_count and
    min_time_s are both reached, or a cap: each one's time to first token and decode time
    (ms), why the loop stopped, the CPU share the process got (parity.contention), and the
    last generation's decoding state (under "state", for `kv_cache`)."""
    ids = prompts.timed_rows(batch)
    ttft_ms, decode_ms = [], []
    clock = CpuClock(threads).start()
    start = time.perf_counter()
    while True:
        _, prefill_s, decode_s, state = greedy(decoder, ids, prompts.new_tokens, prompts.total)
        ttft_ms.append(prefill_s * 1000.0)
        decode_ms.append(decode_s * 1000.0)
        elapsed = time.perf_counter() - start
        if len(ttft_ms) >= loop["min_count"] and elapsed >= loop["min_time_s"]:
            stopped = "min_count and min_time reached"
            break
        if len(ttft_ms) >= loop["max_count"]:
            stopped = "max_count reached"
            break
        if elapsed >= loop["max_time_s"]:
            stopped = "max_time reached"
            break
    return {
        "ttft_ms": ttft_ms,
        "decode_ms": decode_ms,
        "stopped": stopped,
        "cpu_share": clock.share(),
        "state": state,
    }


def kv_cache(decoder: Decoder, state: Any) -> dict[str, Any]:
    """The key-value cache's size in bytes as the decoder reads it from its own tensors,
    or why it could not be read (a decoder without the reader, a cache of another kind)."""
    reader = getattr(decoder, "cache_bytes", None)
    if reader is None:
        return {"bytes": None, "why": f"{type(decoder).__name__} reads no cache size"}
    try:
        return {"bytes": int(reader(state))}
    except Exception as error:  # an unreadable cache is said, never guessed
        return {"bytes": None, "why": f"{type(error).__name__}: {error}"}


def time_generation(
    decoder: Decoder,
    prompts: Prompts,
    first_generation_s: float,
    profile: dict,
    threads: int,
    batch: int = 1,
) -> dict[str, Any]:
    """Time to first token and decode time of `batch` copies of the timed prompt, after
    the warm-up generations (the first generation at this batch size was timed before),
    and the size of the key-value cache the last of them left."""
    warm_up(decoder, prompts, batch)
    found = timed_generations(decoder, prompts, profile, threads, batch)
    state = found.pop("state")
    return {
        "batch": batch,
        "prompt": prompts.timed,
        "prompt_tokens": int(prompts.lengths[prompts.timed]),
        "new_tokens": prompts.new_tokens,
        "positions": prompts.total,
        "first_generation_s": first_generation_s,
        "warmup_generations": WARMUP_GENERATIONS,
        **found,
        "contended": is_contended(found["cpu_share"]),
        "kv_cache": kv_cache(decoder, state),
    }


def save_output(path: str, found: dict[str, np.ndarray]) -> None:
    """One .npz at the cell's output path (its name kept, so the parent finds it)."""
    with open(path, "wb") as handle:
        np.savez(handle, **found)
