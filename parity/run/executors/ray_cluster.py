"""The Ray executor: cells as Ray tasks on a cluster, run by the same supervised worker.

Each node offers one unit of the custom resource PARITY_RESOURCE (`ray start
--resources='{"parity_node": 1}'`, docs/ray.md). A timed worker asks for all of it, so
nothing else runs on its node while it times; untimed work (a diagnostic cell, a shard of
an evaluation) asks for UNTIMED_SHARE and packs. A pair's timed cells all go to one node
(NodeAffinitySchedulingStrategy, hard), so its ratios compare like with like. Tasks never
retry (max_retries=0): a retried cell would be measured twice, or crash a node twice.

Before anything is submitted, `connect` checks the cluster: reachable, at least one live
node with the resource, and every such node with the driver's library versions. A request
no node can grant would wait forever in Ray; here it is refused in one line.

Importing this module needs no Ray; connecting does (`pip install 'zoo-parity[ray]'`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn
from parity.errors import ClusterError, OptionsError
from parity.results.store import library_versions
from parity.run.executors import RAY, CellLost, WorkerJob, ray_tasks
from parity.vocabulary import PROTOCOL

PARITY_RESOURCE = "parity_node"
TIMED_SHARE = 1.0  # a timed worker holds its node alone
UNTIMED_SHARE = 0.25  # up to 4 untimed workers share a node
SHARD_ROWS = 1000  # rows per shard of an evaluation, unless --shard-rows says otherwise
CONNECT_TIMEOUT_S = 5.0  # the TCP probe of the cluster's address
ANSWER_TIMEOUT_S = 120.0  # a node's answer to the preflight (its worker may start cold)
WAIT_STEP_S = 0.5  # how often a waiting thread looks whether the run is being stopped
START_HINT = (
    "start one with `ray start --head --resources='{\"parity_node\": 1}'` "
    "(and `ray start --address=HEAD:6379 --resources='{\"parity_node\": 1}'` on each other "
    "node; docs/ray.md)"
)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise OptionsError(
            "--executor ray needs Ray, which is not installed here: pip install 'zoo-parity[ray]'"
        ) from None
    return ray


def cluster_address(config) -> str:
    address = config.cluster or os.environ.get("RAY_ADDRESS")
    if not address:
        raise OptionsError(
            "--executor ray needs the cluster's address: give --cluster HOST:PORT or set "
            f"RAY_ADDRESS; no cluster yet? {START_HINT}"
        )
    return address


def probe(address: str) -> None:
    """Refuse an address nothing answers on, before ray.init would wait on it."""
    if address == "auto":
        return
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise OptionsError(
            f"--cluster {address!r} should be HOST:PORT (ray://HOST:PORT, or auto), "
            "e.g. 127.0.0.1:6379"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ClusterError(
            f"the Ray cluster at {address} cannot be reached ({error.strerror or error}): "
            f"check the address, or {START_HINT}"
        ) from None


def no_node(address: str, why: str = "") -> ClusterError:
    return ClusterError(
        f"no live node of the Ray cluster at {address} offers the resource "
        f"{PARITY_RESOURCE!r}{why}, so no cell could ever start; start each node with "
        f"--resources='{{\"{PARITY_RESOURCE}\": 1}}' (docs/ray.md)"
    )


def driver_versions() -> dict[str, Any]:
    try:
        own = metadata.version("zoo-parity")
    except metadata.PackageNotFoundError:
        own = None
    return {"libraries": library_versions(), "zoo-parity": own, "protocol": PROTOCOL}


def version_mismatches(driver: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """What a node has otherwise than the driver, as 'NAME NODE (driver DRIVER)'."""
    found = []
    for name, version in driver["libraries"].items():
        theirs = node["libraries"].get(name)
        if theirs != version:
            found.append(f"{name} {theirs or 'missing'} (driver {version or 'missing'})")
    for name in ("zoo-parity", "protocol"):
        if node.get(name) != driver.get(name):
            found.append(f"{name} {node.get(name)} (driver {driver.get(name)})")
    return found


def task_failure(error) -> str:
    """A RayTaskError in one line: the node's exception, its first line, and where."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        kind, text = type(cause).__name__, str(cause)
    else:
        kind, text = type(error).__name__, str(error)
    where = f" on {error.ip}" if getattr(error, "ip", None) else ""
    first = (text.strip().splitlines() or [""])[0]
    return f"the task failed{where}: {kind}: {first}"


class RayExecutor:
    name = RAY

    def __init__(self, ray, address: str, nodes: list[dict[str, Any]], config) -> None:
        self._ray = ray
        self.address = address
        self.nodes = {node["NodeID"]: node for node in nodes}
        rows = config.shard_rows
        self.shard_rows = SHARD_ROWS if rows is None else (rows or None)
        self._lock = threading.Lock()
        self._pairs_on: dict[str, int] = dict.fromkeys(self.nodes, 0)
        self._shipped: dict[tuple, Any] = {}  # (path, size, mtime) -> ObjectRef of its bytes
        self._remote = {
            name: ray.remote(max_retries=0)(getattr(ray_tasks, name))
            for name in ("run_worker", "node_versions", "calibrate", "run_duel")
        }
        self.checked: dict[str, Any] = {}  # node id -> its id, host and address
        self.lost: list[str] = []  # cells lost with their node, left for --resume

    # --- preflight -------------------------------------------------------------------
    @classmethod
    def connect(cls, config) -> RayExecutor:
        """Connect and check the cluster; refuse in one line what would fail or hang."""
        ray = _import_ray()
        address = cluster_address(config)
        probe(address)
        try:
            # Quiet: the run's own progress is what the user reads; the workers' logs are
            # in each cell's folder.
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, ...
            line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ClusterError(
                f"could not join the Ray cluster at {address}: {line}; {START_HINT}"
            ) from None
        try:
            nodes = [
                node
                for node in ray.nodes()
                if node.get("Alive") and node["Resources"].get(PARITY_RESOURCE, 0) >= TIMED_SHARE
            ]
            if not nodes:
                raise no_node(address)
            if config.device == "cuda":
                without = [n["NodeManagerAddress"] for n in nodes if not n["Resources"].get("GPU")]
                if without:
                    raise ClusterError(
                        f"--device cuda, but Ray sees no GPU on node(s) {', '.join(without)}: "
                        "start them with --num-gpus, or run with --device cpu"
                    )
            executor = cls(ray, address, nodes, config)
            executor._check_versions()
        except BaseException:
            ray.shutdown()
            raise
        return executor

    def _on(self, node_id: str, share: float = 0.0):
        """Options placing a task on one node (hard), holding `share` of its resource."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return {
            "num_cpus": 0,
            "resources": {PARITY_RESOURCE: share} if share else {},
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False),
        }

    def _timed_on(self, node_id: str, device: str):
        """A timed task's options: the whole node, and on a GPU run all its GPUs (Ray shows
        a task only the GPUs it asked for)."""
        options = self._on(node_id, TIMED_SHARE)
        if device == "cuda":
            options["num_gpus"] = self.nodes[node_id]["Resources"].get("GPU", 0)
        return options

    def _check_versions(self) -> None:
        ray = self._ray
        refs = {
            node_id: self._remote["node_versions"].options(**self._on(node_id)).remote()
            for node_id in self.nodes
        }
        driver = driver_versions()
        gone = (ray.exceptions.TaskUnschedulableError, ray.exceptions.NodeDiedError)
        for node_id, ref in refs.items():
            host = self.nodes[node_id].get("NodeManagerAddress", node_id)
            try:
                found = ray.get(ref, timeout=ANSWER_TIMEOUT_S)
            except gone:  # listed alive a moment ago, dead now: not a node of this run
                continue
            except ray.exceptions.GetTimeoutError:
                raise ClusterError(
                    f"node {host} of the Ray cluster did not answer within "
                    f"{ANSWER_TIMEOUT_S:g} s; check it with `ray status`"
                ) from None
            except ray.exceptions.RayError as error:
                line = (str(error).strip().splitlines() or [type(error).__name__])[-1]
                raise ClusterError(
                    f"node {host} cannot run zoo-parity ({line}): install the same stack "
                    "there as on the driver (docs/ray.md)"
                ) from None
            differ = version_mismatches(driver, found)
            if differ:
                raise ClusterError(
                    f"node {host} of the Ray cluster has other versions than the driver: "
                    f"{', '.join(differ)}; install the driver's versions on every node "
                    "(docs/ray.md)"
                )
            self.checked[node_id] = found["node"]
        if not self.checked:
            raise no_node(self.address, " (the ones listed have died)")
        self.nodes = {node_id: self.nodes[node_id] for node_id in self.checked}
        self._pairs_on = dict.fromkeys(self.nodes, 0)

    # --- placement -------------------------------------------------------------------
    def concurrency(self) -> int:
        """Driver threads: as many workers as the cluster can hold at once."""
        return max(1, round(len(self.nodes) / UNTIMED_SHARE))

    def _alive(self) -> set[str]:
        return {
            node["NodeID"]
            for node in self._ray.nodes()
            if node.get("Alive") and node["NodeID"] in self.nodes
        }

    def place_pair(self, kept_nodes: list[str]) -> str:
        """The node for a pair's timed cells: the one its kept timed cells were measured on
        if that node is alive, else the live node holding fewest pairs so far."""
        with self._lock:
            alive = self._alive() or set(self.nodes)
            kept = set(kept_nodes)
            if len(kept) == 1 and kept <= alive:
                chosen = kept.pop()
            else:
                chosen = min(sorted(alive), key=lambda node: self._pairs_on[node])
            self._pairs_on[chosen] += 1
            return chosen

    def keeps(self, found: dict, placement) -> bool:
        """A journaled timed cell counts only if measured on the pair's node."""
        return (found.get("node") or {}).get("id") == placement

    # --- running ---------------------------------------------------------------------
    def _ship(self, paths: list[str], cache: bool) -> dict[str, Any]:
        shipped = {}
        for path in paths:
            stat = Path(path).stat()
            key = (path, stat.st_size, stat.st_mtime_ns)
            with self._lock:
                ref = self._shipped.get(key)
            if ref is None:
                ref = self._ray.put(Path(path).read_bytes())
                if cache:
                    with self._lock:
                        self._shipped[key] = ref
            shipped[path] = ref
        return shipped

    def _wait(self, ref):
        """The task's result; Ctrl-C (parity.spawn.stop_all) cancels it; a lost node or
        worker raises CellLost."""
        ray = self._ray
        while True:
            if spawn.stopping():
                ray.cancel(ref, force=True)
                raise spawn.RunStopped
            ready, _ = ray.wait([ref], timeout=WAIT_STEP_S)
            if ready:
                break
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            # The task's own Python raised on its node (a full disk, say): that cell is
            # lost, not the run; the resume measures it again once the node is fixed.
            raise CellLost(task_failure(error)) from None
        except ray.exceptions.TaskCancelledError:
            raise spawn.RunStopped from None
        except ray.exceptions.RayError as error:
            # NodeDiedError, WorkerCrashedError, TaskUnschedulableError (its node is gone),
            # ObjectLostError, Ray's own out-of-memory kill: nothing was measured.
            sentence = (str(error).strip().splitlines() or [""])[0].split(". ")[0]
            raise CellLost(f"{type(error).__name__}: {sentence}") from None

    def _land(self, answer: dict[str, Any], driver_dir: Path) -> None:
        """Write the files a task shipped back into driver_dir, paths in JSON files moved
        from the node's folder to driver_dir."""
        old, new = json.dumps(answer["node_dir"])[1:-1], json.dumps(str(driver_dir))[1:-1]
        for relative, data in answer["files"].items():
            target = driver_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if relative.endswith(".json"):
                data = data.decode().replace(old, new).encode()
            target.write_bytes(data)

    def run_worker(self, job: WorkerJob) -> tuple[spawn.Outcome, dict[str, Any]]:
        spec = job.spec
        inputs = [*spec["inputs"].values()]
        inputs += [p for paths in (spec.get("extra_inputs") or {}).values() for p in paths.values()]
        if job.timed:
            # A cell measured on its own (not within a pair) gets a node of its own choosing.
            node = job.placement if job.placement is not None else self.place_pair([])
            options = self._timed_on(node, spec.get("device", "cpu"))
        else:
            options = {
                "num_cpus": 0,
                "resources": {PARITY_RESOURCE: UNTIMED_SHARE},
                "scheduling_strategy": "SPREAD",  # shards over every node, not packed on one
            }
            if spec.get("device") == "cuda":
                options["num_gpus"] = 1
        ref = (
            self._remote["run_worker"]
            .options(**options)
            .remote(
                spec,
                str(job.cell_dir),
                self._ship(sorted(set(inputs)), cache="shard" not in spec),
                job.framework,
                job.threads,
                job.timeout_s,
                job.memory_limit_mib,
            )
        )
        answer = self._wait(ref)
        self._land(answer, job.cell_dir)
        return answer["outcome"], answer["node"]

    def run_duel(self, a, b, plan, folder: Path, progress=None, placement=None):
        """The duel on the pair's node, holding it whole, as its timed cells did."""
        shipped = self._ship(sorted({*a.inputs.values(), *b.inputs.values()}), cache=True)
        ref = (
            self._remote["run_duel"]
            .options(**self._timed_on(placement, plan.device))
            .remote(a, b, plan, shipped)
        )
        try:
            answer = self._wait(ref)
        except CellLost as error:
            from parity.run.duel import DuelResult

            return DuelResult((a.side, b.side), plan, [], error=f"lost on its node: {error}")
        folder.mkdir(parents=True, exist_ok=True)
        self._land(answer, folder)
        if progress:
            progress(f"duel ran on node {answer['node']['hostname']} ({answer['node']['id'][:8]})")
        return answer["result"]

    def calibrate(self, config, machine: dict) -> None:
        """machine["nodes"]: each node's GEMM peak, measured there holding the node whole;
        machine["gemm_peak"] says the figures are per node."""
        refs = {
            node_id: self._remote["calibrate"]
            .options(**self._on(node_id, TIMED_SHARE))
            .remote(config.threads, config.memory_limit_mib)
            for node_id in self.nodes
        }
        nodes = machine.setdefault("nodes", {})
        for node_id, ref in refs.items():
            try:
                found = self._wait(ref)
            except CellLost as error:
                found = {"gemm_peak": {"gflops_per_s": None, "error": f"node lost: {error}"}}
            nodes[node_id] = {**self.checked.get(node_id, {}), "gemm_peak": found["gemm_peak"]}
        machine["gemm_peak"] = {
            "gflops_per_s": None,
            "error": "measured per node of the Ray cluster: machine.nodes",
        }

    def describe(self) -> dict[str, Any]:
        return {
            "name": RAY,
            "cluster": self.address,
            "resource": PARITY_RESOURCE,
            "timed_share": TIMED_SHARE,
            "untimed_share": UNTIMED_SHARE,
            "shard_rows": self.shard_rows,
            "nodes": {node_id: self.checked.get(node_id, {}) for node_id in self.nodes},
        }

    def close(self) -> None:
        self._shipped.clear()
        self._ray.shutdown()
