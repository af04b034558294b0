"""A pair of the user's own (`parity run --torch X --tf Y`) is named "X vs Y", with spaces;
its torch.compile cell keeps its Inductor cache in its own folder, and Inductor's generated
g++ command does not quote paths. The cell folders' names are made safe, so the compile
cell of such a pair measures. Starts a PyTorch worker that compiles (a minute or two)."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

from parity.run.runner import OK, run
from zoo.catalog import custom_pair

missing = [name for name in ("torch", "torchvision") if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}"),
    pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile on the CPU needs g++"),
]


@pytest.mark.heavy
def test_the_compile_cell_of_a_pair_of_your_own_measures(quick_config, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # each cell keeps its own
    pair = custom_pair("torchvision:squeezenet1_1", "keras-apps:MobileNetV2")
    assert " vs " in pair.id  # named as every pair of the user's own is
    config = quick_config(
        weights="seeded",  # an architecture, offline: no download
        offline=True,
        modes={"torch": ("compile",), "tensorflow": ()},
        diagnostics=False,
        latency_batches=(1,),
        eval_batch=1,
        limit=2,
        threads=1,
        timeout_s=600.0,
        keep_work=True,
    )
    record = run([pair], config)
    (cell,) = record["pairs"][0]["cells"]
    assert cell["mode"] == "compile"
    assert cell["status"] == OK, (cell.get("reason"), cell.get("stderr_tail", "")[-2000:])
    (cell_dir,) = config.out_dir.glob(".parity-runs/*/cells/*")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", cell_dir.name), cell_dir.name
    assert (cell_dir / "inductor-cache").is_dir()  # the compile used the cell's own folder
