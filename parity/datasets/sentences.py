"""Shared evaluation data, decoded once in the parent and handed to workers as .npy files.

Sentence-pair similarity sets:
- `sts-smoke`: 120 pairs with graded 0-5 similarity, written for this project
  (parity/datasets/data/sts_smoke.tsv). A small smoke set to check two implementations rank
  pairs alike and track human judgement roughly; it is not STS-B and its Spearman
  values are not comparable with published STS-B figures.
- STS-B, when the user has the files: `stsb:/path/to/sts-test.csv` (the original
  sts-benchmark distribution) or `stsb:/path/to/dev.tsv` (the GLUE distribution).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parity.errors import DatasetError  # noqa: F401  (raised and re-exported)

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class SentencePairs:
    name: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    scores: tuple[float, ...]
    origin: str

    def __len__(self) -> int:
        return len(self.scores)

    def unique_sentences(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each distinct sentence once, and the index of each pair's two sentences in it."""
        sentences: list[str] = []
        index: dict[str, int] = {}
        for sentence in (*self.first, *self.second):
            if sentence not in index:
                index[sentence] = len(sentences)
                sentences.append(sentence)
        first = np.array([index[s] for s in self.first], dtype=np.int64)
        second = np.array([index[s] for s in self.second], dtype=np.int64)
        return sentences, first, second


def _parse_score(raw: str, where: str) -> float:
    try:
        score = float(raw)
    except ValueError:
        raise DatasetError(f"{where}: score {raw!r} is not a number") from None
    if not 0.0 <= score <= 5.0:
        raise DatasetError(f"{where}: score {score} is outside 0-5")
    return score


def load_sts_smoke(path: Path = DATA_DIR / "sts_smoke.tsv") -> SentencePairs:
    first, second, scores = [], [], []
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header != ["score", "sentence1", "sentence2"]:
            raise DatasetError(f"{path}: header must be score<TAB>sentence1<TAB>sentence2")
        for line, row in enumerate(rows, start=2):
            if len(row) != 3:
                raise DatasetError(
                    f"{path}:{line}: expected 3 tab-separated fields, got {len(row)}"
                )
            scores.append(_parse_score(row[0], f"{path}:{line}"))
            first.append(row[1])
            second.append(row[2])
    return SentencePairs("sts-smoke", tuple(first), tuple(second), tuple(scores), str(path))


def load_stsb(path: str | Path) -> SentencePairs:
    """Read STS-B as distributed: sts-{train,dev,test}.csv (tab-separated, no header,
    score in column 5 and sentences in 6-7) or GLUE's {train,dev}.tsv (with a header
    naming sentence1, sentence2, score). GLUE's test.tsv has no scores and is refused."""
    try:
        path = Path(path).expanduser()
    except RuntimeError as error:  # ~NAME of no such user
        raise DatasetError(f"{path}: {error}; write the path out in full") from None
    if not path.is_file():
        raise DatasetError(
            f"STS-B file {path} not found; give sts-test.csv from the sts-benchmark "
            f"archive or dev.tsv from GLUE's STS-B folder"
        )
    first, second, scores = [], [], []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read {path} as UTF-8 text ({error})") from None
    if not lines:
        raise DatasetError(f"{path} is empty")
    header = lines[0].split("\t")
    if "sentence1" in header:
        if "score" not in header:
            raise DatasetError(f"{path} has no score column (GLUE's test split is unlabelled)")
        col_s1, col_s2, col_score = (header.index(c) for c in ("sentence1", "sentence2", "score"))
        body = enumerate(lines[1:], start=2)
    else:
        col_score, col_s1, col_s2 = 4, 5, 6
        body = enumerate(lines, start=1)
    for line, text in body:
        fields = text.split("\t")
        if len(fields) <= max(col_s1, col_s2, col_score):
            raise DatasetError(f"{path}:{line}: too few tab-separated fields ({len(fields)})")
        scores.append(_parse_score(fields[col_score], f"{path}:{line}"))
        first.append(fields[col_s1])
        second.append(fields[col_s2])
    return SentencePairs(f"stsb:{path.name}", tuple(first), tuple(second), tuple(scores), str(path))


def load_sentence_pairs(spec: str) -> SentencePairs:
    if spec == "sts-smoke":
        return load_sts_smoke()
    if spec.startswith("stsb:"):
        return load_stsb(spec[len("stsb:") :])
    raise DatasetError(
        f"unknown sentence-pair dataset {spec!r}: use sts-smoke or stsb:/path/to/sts-test.csv"
    )


def tokenizer_file(folder_or_file: str) -> Path:
    path = Path(folder_or_file)
    found = path if path.is_file() else path / "tokenizer.json"
    if not found.is_file():
        raise DatasetError(f"no tokenizer.json at {folder_or_file}")
    return found


def tokenize(sentences: list[str], tokenizer_path: Path, seq_len: int) -> dict[str, np.ndarray]:
    """Token ids, attention mask and token types, padded to seq_len, as both sides get them."""
    from tokenizers import Tokenizer  # the Rust tokenizer library; no framework

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(length=seq_len, pad_id=pad_id or 0, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=seq_len)
    encoded = tokenizer.encode_batch(sentences)
    return {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }


def cache_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
