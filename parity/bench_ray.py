"""The Ray executor's benchmark (`nox -s bench-ray`): what running cells as Ray tasks costs
against the local executor with as many workers at once. Prints figures; asserts nothing.

- A sweep of CELLS cheap cells (the test plugin's tiny fake:ok models, CELLS / 2 pairs, one
  eager cell a side, batch 1, short loops, no duel) on a simulated cluster of NODES nodes
  (ray.cluster_utils.Cluster on this machine: a head offering no parity_node, NODES nodes
  offering one each, so NODES timed cells run at once), against the local executor with
  --jobs NODES.
- One evaluation of IMAGES synthetic 32x32 images by a small model (fakeimg:rgb), in
  shards of SHARD_ROWS on the cluster, against one local worker; the outputs must agree
  bit for bit (printed).

For each: the makespan (wall time from the first submission to the last result), the
workers' own wall time summed, and the per-task overhead: (makespan x workers at once -
the workers' summed wall time) / tasks, i.e. the time a task slot spent not inside a
worker (scheduling, shipping inputs and outputs, the driver's own work; and, where the
machine has fewer cores than the cluster has slots, waiting for a core). The sharded
evaluation's slots: its timed first shard holds one node, the others take a quarter each.

Everything runs in a network namespace of its own (`unshare -n -r`, loopback only), so
Ray binds 127.0.0.1 alone: the script re-executes itself there. It needs a checkout (it
loads tests/plugins) and `pip install 'zoo-parity[ray]'`. On a shared or small machine the
simulated nodes share its cores: the figures then say what the dispatch costs, not what a
real cluster gains.

    python -m parity.bench_ray [--cells 200] [--nodes 3] [--images 10000] [--shard-rows 1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from parity.results.store import PROJECT_ROOT

LOOPBACK = "127.0.0.1"  # every Ray service binds here (the namespace has nothing else)
INSIDE = "PARITY_BENCH_RAY_NETNS"  # set once re-executed in the namespace
PLUGINS = PROJECT_ROOT / "tests" / "plugins"
EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def _reexec_in_namespace(argv: list[str]) -> int:
    env = {
        **os.environ,
        INSIDE: "1",
        "PARITY_PLUGINS": "fake_zoo,fake_images",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT), str(PLUGINS), os.environ.get("PYTHONPATH")) if p
        ),
    }
    command = ["unshare", "-n", "-r", sys.executable, "-m", "parity.bench_ray", *argv]
    return subprocess.run(command, env=env).returncode


def _tokenizer(folder: Path) -> Path:
    """A WordLevel tokenizer over the smoke set's words, built offline (as the tests')."""
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
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


def _config(out: Path, **overrides):
    from parity.run.profiles import Profile
    from parity.run.settings import RunConfig

    settings = dict(
        out_dir=out,
        threads=1,
        profile=Profile(
            "bench", warmup=1, min_count=5, min_time_s=0.0, max_count=50, max_time_s=0.5
        ),
        replicates=0,
        seq_len=16,
        latency_batches=(1,),
        eval_batch=32,
        limit=16,
        timeout_s=300.0,
        calibrate=False,
        modes=EAGER_ONLY,
        divergence=False,
        history=None,
    )
    settings.update(overrides)
    return RunConfig(**settings)


def _figures(label: str, makespan: float, walls: list[float], at_once: int) -> None:
    tasks = len(walls)
    overhead = (makespan * at_once - sum(walls)) / tasks
    print(
        f"  {label:<34} makespan {makespan:7.1f} s   workers' wall {sum(walls):7.1f} s "
        f"({np.mean(walls):.2f} s each)   overhead per task {overhead:6.2f} s "
        f"({tasks} tasks, {at_once} at once)"
    )


def _sweep(cells: int, nodes: int, address: str, root: Path) -> None:
    from parity.run import runner
    from zoo.catalog import SAME_WEIGHTS, Pair, Side

    tokenizer = _tokenizer(root / "tokenizer")
    pairs = [
        Pair(
            id=f"cheap-{number:03d}",
            task="text-encoder",
            relation=SAME_WEIGHTS,
            torch=Side("fake:ok"),
            tensorflow=Side("fake:ok"),
            tokenizer=f"hf:{tokenizer}",
            dataset="sts-smoke",
        )
        for number in range(cells // 2)
    ]
    print(f"sweep: {len(pairs) * 2} cells ({len(pairs)} pairs of fake:ok, eager, batch 1)")
    for label, config, at_once in (
        (f"local executor, --jobs {nodes}", _config(root / "local", jobs=nodes), nodes),
        (
            f"ray executor, {nodes} nodes",
            _config(root / "ray", executor="ray", cluster=address, shard_rows=0),
            nodes,
        ),
    ):
        started = time.perf_counter()
        record = runner.run(pairs, config)
        makespan = time.perf_counter() - started
        walls = [c["wall_s"] for p in record["pairs"] for c in p["cells"]]
        failed = sum(c["status"] != "ok" for p in record["pairs"] for c in p["cells"])
        _figures(label + (f" ({failed} failed)" if failed else ""), makespan, walls, at_once)


def _evaluation(images: int, shard_rows: int, nodes: int, address: str, root: Path) -> None:
    from parity.run import executors, runner
    from parity.run.executors.ray_cluster import UNTIMED_SHARE
    from zoo.catalog import INDEPENDENT, Pair, Side

    rng = np.random.default_rng(0)
    pixels = root / "pixels.npy"
    np.save(pixels, rng.standard_normal((images, 32, 32, 3)).astype(np.float32))
    pair = Pair(
        id="synthetic",
        task="image-classifier",
        relation=INDEPENDENT,
        torch=Side("fakeimg:rgb"),
        tensorflow=Side("fakeimg:bgr"),
        dataset="synthetic",
    )
    cell = runner.Cell(pair, "torch", "eager", "fakeimg:rgb", {})
    print(f"evaluation: {images} synthetic 32x32 images, fakeimg:rgb, batch 32")
    outputs = {}
    for label, config, at_once in (
        ("one local worker", _config(root / "eval-local", shard_rows=0), 1),
        (
            f"ray, shards of {shard_rows} rows",
            _config(root / "eval-ray", executor="ray", cluster=address, shard_rows=shard_rows),
            1 + round((nodes - 1) / UNTIMED_SHARE),
        ),
    ):
        executor = executors.open_executor(config)
        executors.use(executor)
        work = root / f"work-{config.executor}"
        try:
            started = time.perf_counter()
            found = runner.run_cell(cell, {"pixel_values": str(pixels)}, work, config, "pretrained")
            makespan = time.perf_counter() - started
        finally:
            executors.use(None)
            executor.close()
        shards = (found.get("metrics") or {}).get("shards") or [found]
        walls = [shard["wall_s"] for shard in shards]
        outputs[label] = np.load(found["output_path"])
        _figures(f"{label} ({len(walls)} tasks)", makespan, walls, min(at_once, len(walls)))
    first, second = outputs.values()
    same = first.shape == second.shape and np.array_equal(first, second)
    top1 = (first.argmax(-1) == second.argmax(-1)).sum()
    print(f"  sharded outputs equal the unsharded ones bit for bit: {same} (top-1 {top1}/{images})")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m parity.bench_ray", description=__doc__)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--shard-rows", type=int, default=1000)
    args = parser.parse_args(argv)
    if not os.environ.get(INSIDE):
        return _reexec_in_namespace(argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Ray's session files in a short folder of this run's own, never /tmp/ray.
    temp = tempfile.mkdtemp(prefix="pr-")
    os.environ["RAY_TMPDIR"] = temp
    os.mkdir(Path(temp) / "ray")
    from ray.cluster_utils import Cluster

    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    started = time.perf_counter()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "temp_dir": str(Path(temp) / "ray"),
            "node_ip_address": LOOPBACK,
            "object_store_memory": 512 * 2**20,  # the driver's puts: inputs to ship
        },
    )
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=1, resources={"parity_node": 1}, node_ip_address=LOOPBACK)
    cluster.wait_for_nodes()
    print(
        f"simulated cluster: head + {args.nodes} nodes on this machine ({os.cpu_count()} "
        f"logical cores), ready in {time.perf_counter() - started:.1f} s"
    )
    try:
        _sweep(args.cells, args.nodes, cluster.address, root)
        _evaluation(args.images, args.shard_rows, args.nodes, cluster.address, root)
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
