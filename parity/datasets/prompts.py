"""Prompts for the text-generation task, tokenized once in the parent.

- `lm-prompts`: eight sentence openings written for this project
  (parity/datasets/data/lm_prompts.txt), labelled a smoke set: enough to compare two
  implementations token by token and to time them, not a benchmark of language quality.
- `prompts:/path/to/file.txt`: one prompt a line (blank lines and lines starting with #
  are skipped).

Both sides get the same token ids, from the checkpoint's own tokenizer.json read with the
tokenizers library (no framework), special tokens added as its post-processor says (a
Llama tokenizer prepends <s>, GPT-2's adds nothing), as transformers' tokenizer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parity.errors import DatasetError

DATA_DIR = Path(__file__).parent / "data"
LM_PROMPTS = DATA_DIR / "lm_prompts.txt"
PREFIX = "prompts:"


@dataclass(frozen=True)
class Prompts:
    name: str
    texts: tuple[str, ...]
    origin: str

    def __len__(self) -> int:
        return len(self.texts)


def read_prompt_file(path: Path, name: str) -> Prompts:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(
            f"cannot read prompts from {path} ({error}); give a UTF-8 text file"
        ) from None
    texts = tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if not texts:
        raise DatasetError(f"{path} holds no prompt; write one prompt a line")
    return Prompts(name, texts, str(path))


def load_prompts(spec: str) -> Prompts:
    if spec == "lm-prompts":
        return read_prompt_file(LM_PROMPTS, "lm-prompts")
    if spec.startswith(PREFIX):
        path = Path(spec[len(PREFIX) :]).expanduser()
        if not path.is_file():
            raise DatasetError(f"--dataset {spec!r}: no such file {path}; give a text file")
        return read_prompt_file(path, f"prompts:{path.name}")
    raise DatasetError(f"unknown prompt set {spec!r}: use lm-prompts or prompts:/path/to/file.txt")


def tokenize_prompts(texts: tuple[str, ...], tokenizer_path: Path) -> dict[str, np.ndarray]:
    """Each prompt's token ids, right-padded with 0 to the longest (`lengths` says how many
    are real): the worker feeds each prompt alone, at batch 1, without the padding."""
    from tokenizers import Tokenizer  # the Rust tokenizer library; no framework

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    encoded = [tokenizer.encode(text).ids for text in texts]
    empty = [i for i, ids in enumerate(encoded) if not ids]
    if empty:
        raise DatasetError(f"prompt {empty[0] + 1} gives no tokens with {tokenizer_path}")
    lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)
    input_ids = np.zeros((len(encoded), int(lengths.max())), dtype=np.int64)
    for row, ids in enumerate(encoded):
        input_ids[row, : len(ids)] = ids
    return {"input_ids": input_ids, "lengths": lengths}
