"""Running a snippet of test code in a framework's own child process, as the workers run
(never torch and TensorFlow in one process): the framework tests' one way to do it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from parity.spawn import child_environment


def run_in_child(framework: str, code: str, **values) -> dict:
    """`code` (dedented) in a child with `framework`'s environment at one thread, after a
    preamble binding each of `values` to its name; returns the JSON its last line prints.
    Skips the test where the framework is not installed."""
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"not installed: {framework}")
    env = child_environment(1, framework)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("PARITY_PLUGINS", None)  # the fake test sources are not on this child's path
    preamble = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    done = subprocess.run(
        [sys.executable, "-c", preamble + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}
