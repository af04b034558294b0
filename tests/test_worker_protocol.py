"""The worker protocol, exercised through a real child process with the numpy engine."""

import json
import subprocess
import sys

import numpy as np

from parity.files import save_npy
from parity.spawn import child_environment
from parity.vocabulary import PROTOCOL


def _spec(tmp_path, handle="fake:ok", batches=(1, 2)):
    ids = np.arange(30, dtype=np.int64).reshape(5, 6) + 4
    inputs = {}
    for name, array in {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }.items():
        inputs[name] = str(tmp_path / f"{name}.npy")
        save_npy(inputs[name], array)
    return {
        "protocol": PROTOCOL,
        "cell_id": "t/torch/eager",
        "framework": "numpy",
        "source_prefix": "fake",
        "location": {
            "handle": handle,
            "availability": "local",
            "path": "/fake",
            "hub_id": None,
            "note": "",
        },
        "task": "text-encoder",
        "load_options": {},
        "mode": "eager",
        "threads": 1,
        "inputs": inputs,
        "eval_batch": 2,
        "latency_batches": list(batches),
        "profile": {
            "name": "t",
            "warmup": 2,
            "min_count": 7,
            "min_time_s": 0.0,
            "max_count": 100,
            "max_time_s": 5.0,
        },
        "output_path": str(tmp_path / "out.npy"),
        "metrics_path": str(tmp_path / "metrics.json"),
        "error_path": str(tmp_path / "error.json"),
    }


def _run(tmp_path, spec):
    path = tmp_path / "cell.json"
    path.write_text(json.dumps(spec))
    return subprocess.run(
        [sys.executable, "-m", "parity.child.worker", str(path)],
        capture_output=True,
        text=True,
        env=child_environment(1, "numpy"),
        timeout=120,
    )


def test_worker_writes_outputs_and_metrics(tmp_path):
    done = _run(tmp_path, _spec(tmp_path))
    assert done.returncode == 0, done.stderr
    output = np.load(tmp_path / "out.npy")
    assert output.shape == (5, 6, 16)  # 5 rows although batches of 2: padding dropped
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["protocol"] == PROTOCOL
    assert set(metrics["latency"]) == {"1", "2"}
    for entry in metrics["latency"].values():
        assert len(entry["samples_ms"]) >= 7 and all(s > 0 for s in entry["samples_ms"])
        assert entry["warmup_calls"] == 2
        # The CPU the loop got over wall time x threads, and whether that was too little.
        assert 0.0 < entry["cpu_share"] <= 1.5
        assert entry["contended"] == (entry["cpu_share"] < 0.90)
    memory = metrics["memory"]
    assert memory["peak_infer_mib"] > 0 and memory["rss_after_load_mib"] > 0
    assert metrics["threads"]["env"]["OMP_NUM_THREADS"] == "1"
    assert metrics["eval"]["nonfinite"] == 0
    assert not (tmp_path / "error.json").exists()


def test_worker_output_rows_match_an_unbatched_forward(tmp_path):
    assert _run(tmp_path, _spec(tmp_path)).returncode == 0
    from fake_zoo import _encoder  # the same deterministic model, called in one batch

    ids = np.arange(30, dtype=np.int64).reshape(5, 6) + 4
    expected = _encoder()({"input_ids": ids, "attention_mask": np.ones_like(ids)})
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_worker_records_an_exception_as_json(tmp_path):
    done = _run(tmp_path, _spec(tmp_path, handle="fake:raise"))
    assert done.returncode == 1
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["type"] == "RuntimeError" and "corrupt header" in error["message"]
    assert "Traceback" in error["traceback"] and not error["unavailable"]
    assert error["kind"] == "error"


def test_worker_marks_an_unavailable_model(tmp_path):
    done = _run(tmp_path, _spec(tmp_path, handle="fake:unavailable"))
    assert done.returncode == 2
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["unavailable"] and error["kind"] == "unavailable"
    assert error["message"].startswith("fake:unavailable could not be fetched (needs the network)")
    assert "ConnectionError: no route to the fake hub" in error["message"]


def test_worker_tells_an_unknown_architecture_from_a_missing_network(tmp_path):
    done = _run(tmp_path, _spec(tmp_path, handle="fake:oj"))
    assert done.returncode == 1  # a typo to fix, not a model this machine cannot fetch
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["type"] == "UnknownArchitectureError" and error["kind"] == "unknown-architecture"
    assert not error["unavailable"]
    assert error["message"] == (
        "fake:oj: unknown architecture 'oj' (not in the fake zoo's MODELS); did you mean 'ok'?"
    )


def test_worker_refuses_another_protocol(tmp_path):
    spec = _spec(tmp_path)
    spec["protocol"] = PROTOCOL + 1
    done = _run(tmp_path, spec)
    assert done.returncode == 1 and "protocol" in done.stderr


def test_child_environment_sets_threads_and_a_fresh_compile_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    env = child_environment(3, "torch", tmp_path)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert env["TF_NUM_INTEROP_THREADS"] == "1"
    assert env["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor-cache")
    assert child_environment(3, "tensorflow", tmp_path)["KERAS_BACKEND"] == "tensorflow"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/mine")  # a user's own choice is kept
    assert child_environment(3, "torch", tmp_path)["TORCHINDUCTOR_CACHE_DIR"] == "/mine"


def test_worker_refuses_a_task_its_source_does_not_load(tmp_path):
    spec = _spec(tmp_path)
    spec.update(source_prefix="torchvision", task="text-encoder")  # image models only
    done = _run(tmp_path, spec)
    assert done.returncode == 1
    error = json.loads((tmp_path / "error.json").read_text())
    assert error["message"] == "torchvision: loads image-classifier models, not 'text-encoder'"
