"""The text-generation task: causal language models compared token by token, and timed
as they generate.

Both sides get the same token ids from the checkpoint's tokenizer (parity.datasets.prompts),
each prompt alone at batch 1. Each worker (parity/child/generation.py) runs a full forward
pass over every prompt (logits at every position), decodes NEW_TOKENS greedily from it
with its key-value cache, and times prefill (time to first token) and decoding
(tokens per second) at each timed batch size (B copies of the longest prompt), in the
cell's mode: eager, torch.compile, tf.function or XLA, with the cache's size in bytes.
Agreement, perplexity and speed are judged here, in numpy (parity.evaluate.generation);
each side's fastest decoding mode then duels the other's in the replicated comparison
(parity.run.comparisons.replicate_generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.datasets.prompts import Prompts, load_prompts, tokenize_prompts
from parity.datasets.sentences import DatasetError, cache_key, tokenizer_file
from parity.evaluate import generation
from parity.files import save_npy
from zoo.catalog import Pair
from zoo.sources import resolve

# Greedy tokens decoded per prompt, on each side.
NEW_TOKENS = 32
# The batch sizes a causal LM's generations are timed at unless --batch-sizes or a suite
# entry says otherwise: one prompt, and a small batch of copies of it (the catalog's
# image and text encoder pairs default to parity.run.settings.DEFAULT_BATCHES).
TIMED_BATCHES = (1, 4)
# Perplexity is measured with seeded weights too (parity.run.runner.evaluate_pair): both
# sides load one seeded checkpoint, trained briefly on the bundled text, so their two
# figures set the two computations side by side (the report says so); they say nothing
# of a model's quality.
SCORED_WHEN_SEEDED = True


@dataclass
class PreparedInputs:
    paths: dict[str, str]
    prompts: Prompts
    lengths: np.ndarray
    tokenizer: str

    def paths_for(self, side: str) -> dict[str, str]:
        return self.paths  # both sides get the same token ids

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.prompts.name,
            "origin": self.prompts.origin,
            "prompts": len(self.prompts),
            "tokenizer": self.tokenizer,
            "prompt_tokens": [int(n) for n in self.lengths],
            "new_tokens": NEW_TOKENS,
        }


def prepare(pair: Pair, config, work_dir: Path) -> PreparedInputs:
    if pair.tokenizer is None:
        raise DatasetError(f"{pair.id} names no tokenizer; a text-generation pair needs one")
    location = resolve(pair.tokenizer)
    if not location.path:
        raise DatasetError(f"tokenizer {pair.tokenizer} is not on this machine: {location.note}")
    tok_path = tokenizer_file(location.path)
    prompts = load_prompts(config.dataset or pair.dataset)
    if config.limit is not None:
        prompts = Prompts(prompts.name, prompts.texts[: config.limit], prompts.origin)
    arrays = tokenize_prompts(prompts.texts, tok_path)
    folder = work_dir / "inputs" / cache_key(str(tok_path), prompts.texts, NEW_TOKENS)
    paths = {}
    for name, array in arrays.items():
        paths[name] = str(folder / f"{name}.npy")
        save_npy(paths[name], array)
    # How many tokens each worker generates travels with the inputs, as data.
    paths["new_tokens"] = str(folder / "new_tokens.npy")
    save_npy(paths["new_tokens"], np.array([NEW_TOKENS], dtype=np.int64))
    return PreparedInputs(paths, prompts, arrays["lengths"], pair.tokenizer)


def accuracy(pair: Pair, inputs: PreparedInputs, cell: dict) -> dict[str, Any]:
    return generation.perplexity(generation.load_output(cell["output_path"]))


def agreement(pair: Pair, inputs: PreparedInputs, a: dict, b: dict) -> dict[str, Any]:
    found_a = generation.load_output(a["output_path"])
    found_b = generation.load_output(b["output_path"])
    result = generation.generation_agreement(found_a, found_b, atol=pair.atol)
    result["distribution"] = {
        "torch": generation.distribution_check(found_a),
        "tensorflow": generation.distribution_check(found_b),
    }
    return result


def speed(pair: Pair, inputs: PreparedInputs, cells: list[dict]) -> list[dict[str, Any]]:
    """Each timed cell's time to first token and decode rate per batch size, in cell
    order, then batch order."""
    return [found for cell in cells for found in generation.speeds(cell)]
