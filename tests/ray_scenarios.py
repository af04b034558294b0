"""The Ray tests' scenarios, run in a network namespace of their own (tests/test_ray.py).

    unshare -n -r python tests/ray_scenarios.py OUT TOKENIZER_DIR

Brings up the namespace's loopback (the only interface there, so every Ray service binds
127.0.0.1 and nothing can reach or listen on another address), starts one simulated
cluster (a head offering no parity_node, and NODES nodes offering one each), and runs on
it, in order:

  mixed      a mixed suite (timed cells, sharded evaluations, a segfaulting cell, one
             pair's duel) on the cluster, and the same suite on the local executor
             without shards;
  killed     a pair whose slow cell's node is killed while it loads, then the run resumed;
  no_node    `parity run --executor ray` once no node offers parity_node (the CLI's answer);
  unreachable  the same at an address nothing listens on.

Everything it finds goes under OUT (results, kept work folders, the workers' traces) with
OUT/summary.json naming it; the tests judge those files. It checks nothing itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NODES = 2
LOOPBACK = "127.0.0.1"  # every Ray service binds here (the namespace has nothing else)
KILL_WAIT_S = 90.0


def loopback_up() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def _pairs(tokenizer: str, image_root: Path):
    from zoo.catalog import INDEPENDENT, SAME_WEIGHTS, Pair, Side
    from zoo.preprocessing import KERAS_CAFFE, TORCHVISION_IMAGENET

    def text(name: str, torch: str = "fake:slow", tf: str = "fake:slow") -> Pair:
        return Pair(
            id=name,
            task="text-encoder",
            relation=SAME_WEIGHTS,
            torch=Side(torch),
            tensorflow=Side(tf),
            tokenizer=f"hf:{tokenizer}",
            dataset="sts-smoke",
        )

    image = Pair(
        id="fakeimg-rgb-bgr",
        task="image-classifier",
        relation=INDEPENDENT,
        torch=Side("fakeimg:rgb", preprocessing=TORCHVISION_IMAGENET),
        tensorflow=Side("fakeimg:bgr", preprocessing=KERAS_CAFFE),
        dataset=f"imagefolder:{image_root}",
    )
    return [
        text("text-a"),
        text("text-b"),
        text("text-c"),
        text("segfault", torch="fake:segfault", tf="fake:ok"),
        image,
    ]


def _image_folder(root: Path) -> Path:
    """Solid images whose red value is their ImageNet label (tests/plugins/fake_images)."""
    from PIL import Image

    from parity.datasets import images

    names = images.synsets()
    for label in (7, 60, 130, 200, 250):
        folder = root / names[label]
        folder.mkdir(parents=True)
        for k in range(4):
            Image.new("RGB", (40, 30), (label, 90, 170)).save(folder / f"img{k}.png")
    return root


def _config(out: Path, **overrides):
    from parity.run.profiles import Profile
    from parity.run.settings import RunConfig

    settings = dict(
        out_dir=out,
        threads=1,
        profile=Profile(
            "test", warmup=1, min_count=3, min_time_s=0.0, max_count=20, max_time_s=2.0
        ),
        replicates=0,
        seq_len=16,
        latency_batches=(1,),
        eval_batch=4,
        limit=12,
        timeout_s=120.0,
        calibrate=False,
        modes={"torch": ("eager",), "tensorflow": ("eager",)},
        keep_work=True,
        history=None,
    )
    settings.update(overrides)
    return RunConfig(**settings)


def _with_duel(pairs, config):
    """The first pair's headline comparison replicated (a short duel), the others not."""
    from dataclasses import replace

    short = replace(config.profile, rounds=2, round_min_time_s=0.05, warmup=1)
    return [(pairs[0], replace(config, replicates=2, profile=short)), *pairs[1:]]


def _raylet_pids(cluster) -> dict[int, str]:
    found = {}
    for node in cluster.list_all_nodes():
        for process in node.all_processes.get("raylet", []):
            found[process.process.pid] = node.node_id
    return found


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _node_of_worker(cluster, marker: str) -> tuple[str, object] | None:
    """The cluster node whose raylet is an ancestor of the worker loading `marker`."""
    raylets = _raylet_pids(cluster)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "parity.child.worker" not in command or "parity-cell-" not in command:
            continue
        try:
            spec = json.loads(Path(command.split()[-1]).read_text())
        except (OSError, ValueError):
            continue
        if spec.get("location", {}).get("handle") != marker:
            continue
        pid = int(entry.name)
        while pid and pid > 1:
            if pid in raylets:
                node = next(n for n in cluster.list_all_nodes() if n.node_id == raylets[pid])
                return raylets[pid], node
            pid = _parent(pid)
    return None


def _cli(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", *args], capture_output=True, text=True, timeout=300
    )
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def main(out: Path, tokenizer: str) -> None:
    loopback_up()
    # Ray's session files and its "current cluster" address file in a folder of this run's
    # own (short: Ray's socket paths must stay short), never /tmp/ray, which a Ray outside
    # this namespace would read.
    temp = tempfile.mkdtemp(prefix="pr-")
    os.environ["RAY_TMPDIR"] = temp
    os.mkdir(Path(temp) / "ray")
    from ray.cluster_utils import Cluster

    from parity.run import runner
    from zoo.catalog import Pair, Side

    out.mkdir(parents=True, exist_ok=True)
    traces = out / "traces"
    traces.mkdir()
    os.environ["FAKE_TRACE_DIR"] = str(traces)  # the nodes' workers inherit it
    summary: dict = {"started": time.time()}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "temp_dir": str(Path(temp) / "ray"),
            "node_ip_address": LOOPBACK,
        },
    )
    nodes = [
        cluster.add_node(num_cpus=1, resources={"parity_node": 1}, node_ip_address=LOOPBACK)
        for _ in range(NODES)
    ]
    cluster.wait_for_nodes()
    address = cluster.address
    summary.update(
        address=address,
        parity_nodes=[node.node_id for node in nodes],
        cluster_ready_s=time.time() - summary["started"],
    )
    try:
        # mixed: the cluster, with shards, then the local executor without
        pairs = _pairs(tokenizer, _image_folder(out / "images"))
        ray_config = _config(out / "mixed-ray", executor="ray", cluster=address, shard_rows=8)
        local_config = _config(out / "mixed-local")
        started = time.time()
        runner.run(_with_duel(pairs, ray_config), ray_config)
        summary["mixed_ray_s"] = time.time() - started
        started = time.time()
        runner.run(_with_duel(pairs, local_config), local_config)
        summary["mixed_local_s"] = time.time() - started

        # killed: a cell loading for a long time loses its node
        def slow_pair(sleep_s: float) -> Pair:
            return Pair(
                id="killed",
                task="text-encoder",
                relation=pairs[0].relation,
                torch=Side("fake:slow", load_options={"sleep_s": sleep_s}),
                tensorflow=Side("fake:ok"),
                tokenizer=pairs[0].tokenizer,
                dataset="sts-smoke",
            )

        killed_out = out / "killed"
        # keep_work off: a work folder left behind means the run did not complete
        config = _config(killed_out, executor="ray", cluster=address, shard_rows=0, keep_work=False)
        first: dict = {}
        thread = threading.Thread(
            target=lambda: first.update(record=runner.run([slow_pair(600.0)], config))
        )
        thread.start()
        deadline = time.time() + KILL_WAIT_S
        found = None
        while found is None and time.time() < deadline:
            found = _node_of_worker(cluster, "fake:slow")
            time.sleep(0.2)
        if found is not None:
            summary["killed_node"] = found[0]
            cluster.remove_node(found[1], allow_graceful=False)
        thread.join(timeout=300)
        runs = killed_out / ".parity-runs"
        kept = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
        summary["killed_work"] = [str(runs / name) for name in kept]
        summary["journaled_before_resume"] = sorted(
            path.parent.name for path in runs.glob("*/cells/*/record.json")
        )
        if kept:
            (killed_out / "first-results.json").write_text(
                (killed_out / "results.json").read_text()
            )
            resumed = _config(
                killed_out,
                executor="ray",
                cluster=address,
                shard_rows=0,
                keep_work=False,
                resume=runs / kept[0],
            )
            runner.run([slow_pair(0.1)], resumed)

        # no_node: no live node offers parity_node any more
        for node in nodes:
            if node.node_id != summary.get("killed_node"):
                cluster.remove_node(node, allow_graceful=False)
        common = ["--executor", "ray", "--out", str(out / "cli"), "--no-history"]
        summary["no_node"] = _cli(["run", "all-MiniLM-L6-v2", *common, "--cluster", address])
        summary["unreachable"] = _cli(
            ["run", "all-MiniLM-L6-v2", *common, "--cluster", "127.0.0.1:9"]
        )
    finally:
        summary["finished"] = time.time()
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
