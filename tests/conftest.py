"""Test setup: the fake_zoo plugin is visible to this process and to every worker."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent / "plugins"
# Set before any zoo.sources discovery, and inherited by worker children.
sys.path.insert(0, str(PLUGINS))
os.environ["PARITY_PLUGINS"] = "fake_zoo,fake_images"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(PLUGINS), os.environ.get("PYTHONPATH")) if p
)


@pytest.fixture(scope="session", autouse=True)
def derived_catalog_cache(tmp_path_factory) -> Path:
    """The derived catalog's facts cache, filled with a small made-up install
    (tests/catalog_facts.py) for the installed versions: no test, nor any `parity` it
    starts, reads the real zoos in a child unless it points PARITY_CATALOG_CACHE elsewhere."""
    from catalog_facts import BY_SIDE

    from parity.run import catalog

    folder = tmp_path_factory.mktemp("catalog-cache")
    os.environ[catalog.CACHE_ENV] = str(folder)
    for side, facts in BY_SIDE.items():
        path = catalog.cache_path(side, catalog.installed_versions(side))
        path.write_text(json.dumps(facts))
    return folder


@pytest.fixture(scope="session")
def word_tokenizer(tmp_path_factory) -> Path:
    """A small WordLevel tokenizer.json over the smoke set's words, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    from parity.datasets.sentences import load_sts_smoke

    data = load_sts_smoke()
    words = sorted({w.lower() for s in (*data.first, *data.second) for w in s.split()})
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


@pytest.fixture
def fake_pair(word_tokenizer):
    """Build a same-weights text-encoder pair from two fake handles."""
    from zoo.catalog import SAME_WEIGHTS, Pair, Side

    def build(torch_handle: str = "fake:ok", tf_handle: str = "fake:ok", **extra) -> Pair:
        return Pair(
            id=f"fake-{torch_handle.split(':')[1]}-{tf_handle.split(':')[1]}",
            task="text-encoder",
            relation=SAME_WEIGHTS,
            torch=Side(torch_handle),
            tensorflow=Side(tf_handle),
            tokenizer=f"hf:{word_tokenizer}",
            dataset="sts-smoke",
            **extra,
        )

    return build


@pytest.fixture
def quick_config(tmp_path):
    """A run configuration with tiny loops, writing under tmp_path."""
    from parity.run.profiles import Profile
    from parity.run.runner import RunConfig

    def build(**overrides) -> RunConfig:
        settings = dict(
            out_dir=tmp_path / "out",
            threads=1,
            profile=Profile(
                "test",
                warmup=1,
                min_count=3,
                min_time_s=0.0,
                max_count=50,
                max_time_s=5.0,
                replicates=0,  # no duel: tests that want one ask for it
            ),
            seq_len=16,
            latency_batches=(1, 4),
            eval_batch=4,
            timeout_s=60.0,
            calibrate=False,  # no GEMM worker per test run; see the peak_cache fixture
        )
        settings.update(overrides)
        return RunConfig(**settings)

    return build


@pytest.fixture
def peak_cache(tmp_path, monkeypatch):
    """A machine-peak cache holding a given figure, so a run reads it instead of
    measuring: write(gflops, threads) returns the cache file."""
    from parity.run import peak

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def write(gflops: float, threads: int = 1) -> Path:
        key = peak.machine_key(threads)
        entry = {"gflops_per_s": gflops, "method": "test figure", "measured_utc": "then"}
        path = peak.cache_path()
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({peak._key_text(key): {**entry, "key": key}}))
        return path

    return write
