"""The import contract (pyproject.toml [tool.importlinter], run by `nox -s lint`): only
parity.child imports a framework, and the parent never imports parity.child. Checked on the
tree, shown to catch a framework import planted in a parent module, and shown to cover every
package of parity, so a new one cannot escape it. (At run time, tests/test_runner.py checks
that a run leaves no framework in the parent's sys.modules.)"""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import parity

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = {
    contract["id"]: contract
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}
FRAMEWORKS = "parent-imports-no-framework"
NEVER_CHILD = "parent-never-imports-child"
needs_linter = pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None,
    reason="import-linter is not installed (pip install import-linter; it is in the test extra)",
)


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    """`lint-imports` on the tree at root, with this interpreter, on the named contracts."""
    command = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run(
        [sys.executable, "-c", command, "--no-cache", *(f"--contract={c}" for c in contracts)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_linter
@pytest.mark.parametrize(
    "contract",
    [
        FRAMEWORKS,
        NEVER_CHILD,
        "no-cycles",
    ],
)
def test_the_tree_keeps_the_import_contract(contract):
    done = lint_imports(ROOT, contract)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "KEPT" in done.stdout


@needs_linter
def test_a_framework_import_planted_in_a_parent_module_breaks_the_contract(tmp_path):
    for folder in ("parity", "zoo"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / "parity" / "evaluate" / "statistics.py"
    planted.write_text("import torch  # noqa: F401\n" + planted.read_text())
    done = lint_imports(tmp_path, FRAMEWORKS)
    assert done.returncode != 0, done.stdout[-3000:]
    assert "BROKEN" in done.stdout
    assert "parity.evaluate is not allowed to import torch" in done.stdout
    assert "parity.evaluate.statistics -> torch (l.1)" in done.stdout


@pytest.mark.parametrize("contract", [FRAMEWORKS, NEVER_CHILD])
def test_every_parent_package_is_under_the_contract(contract):
    parent = {"zoo"} | {
        f"parity.{module.name}"
        for module in pkgutil.iter_modules(parity.__path__)
        if module.name != "child"
    }
    listed = set(CONTRACTS[contract]["source_modules"])
    assert parent <= listed, f"add {sorted(parent - listed)} to {contract} in pyproject.toml"
    assert not {m for m in listed if m == "parity.child" or m.startswith("parity.child.")}


def test_the_framework_contract_names_every_framework():
    forbidden = set(CONTRACTS[FRAMEWORKS]["forbidden_modules"])
    assert {
        "torch",
        "tensorflow",
        "keras",
        "keras_hub",
        "transformers",
        "timm",
        "datasets",
        "tensorflow_datasets",
        # The export modes' exporters and runtimes (parity.child.export).
        "onnx",
        "onnxruntime",
        "onnxscript",
        "tf2onnx",
        "ai_edge_litert",
    } <= forbidden
    assert CONTRACTS[NEVER_CHILD]["forbidden_modules"] == ["parity.child"]


def test_finding_a_loader_imports_no_framework():
    """The worker imports every loader module to find its source's: each must import its
    framework only when it loads, or a TensorFlow worker would import torch as well."""
    from parity.results.store import FRAMEWORK_MODULES

    code = (
        "import sys\n"
        "from parity.child.loaders import get_loader\n"
        "get_loader('timm'), get_loader('keras-hub'), get_loader('fake')\n"
        f"print(sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
