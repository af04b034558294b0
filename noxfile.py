"""Sessions: parity (the main job), tests, bench (the harness's own benchmark), bench-ray
(the Ray executor's), lint.

parity and tests share one virtual environment, .nox/stack (about 8 GB: torch,
TensorFlow, keras-hub, transformers...), created on first use and reinstalled only
when pyproject.toml changes. nox itself has no shared-environment option, so these
two sessions run without a nox-managed venv and drive .nox/stack directly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["parity"]
ROOT = Path(__file__).parent
STACK = ROOT / ".nox" / "stack"
STAMP = STACK / "installed-from.sha256"
BIN = STACK / ("Scripts" if sys.platform == "win32" else "bin")


def _stack(session: nox.Session) -> None:
    """Create or refresh the shared environment with the package and all its extras."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text().strip() == wanted and (BIN / "python").exists():
        session.log(f"reusing {STACK} (pyproject.toml unchanged)")
        return
    session.run(sys.executable, "-m", "venv", str(STACK), external=True)
    session.run(
        str(BIN / "python"), "-m", "pip", "install", "-e", f"{ROOT}[all,test]", external=True
    )
    STAMP.write_text(wanted + "\n")


def _env() -> dict[str, str]:
    # TensorFlow's C++ INFO/WARNING lines drown the progress output; errors still show.
    return {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


@nox.session(venv_backend="none")
def parity(session: nox.Session) -> None:
    """Run the default suite and publish reports/; `nox -s parity -- ARGS` runs `parity ARGS`."""
    _stack(session)
    # The default suite is planned to 15 minutes on this machine (docs/measurement.md 6c).
    args = session.posargs or [
        "run",
        "--suite",
        "default",
        "--budget",
        "15",
        "--out",
        str(ROOT / "reports"),
    ]
    session.run(str(BIN / "parity"), *args, external=True, env=_env())


def _chromium_for_ci(session: nox.Session) -> None:
    """The HTML report is checked in Debian's headless chromium. On CI (CI set) it is
    installed when missing; elsewhere the browser test is skipped with the reason,
    rather than this session installing system packages on a user's machine."""
    if shutil.which("chromium") or not os.environ.get("CI"):
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        session.log("chromium is missing and apt-get (as root) is not available: skipping it")
        return
    session.log("installing Debian's chromium for the HTML report test")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            session.log(f"{' '.join(command)} failed: the browser test will be skipped")
            return


def _pytest(session: nox.Session, default_args: list[str]) -> None:
    session.run(
        str(BIN / "python"),
        "-m",
        "pytest",
        *(session.posargs or default_args),
        external=True,
        env=_env(),
    )


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The test suite, including the real-weights pair on both frameworks; the heavy
    checks are left to `nox -s heavy`."""
    _stack(session)
    _chromium_for_ci(session)
    _pytest(session, ["-q", "-m", "not heavy"])


@nox.session(venv_backend="none")
def heavy(session: nox.Session) -> None:
    """The heavier framework checks (marker `heavy`): end to end on seeded models, each a
    minute or more, whose parts the main suite covers one by one."""
    _stack(session)
    _pytest(session, ["-q", "-m", "heavy"])


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """The harness's own benchmark: its overhead against a bare loop, and the spread of
    medians over repeated runs (`nox -s bench -- --help` for options). Prints figures."""
    _stack(session)
    session.run(
        str(BIN / "python"), "-m", "parity.bench", *session.posargs, external=True, env=_env()
    )


@nox.session(name="bench-ray", venv_backend="none")
def bench_ray(session: nox.Session) -> None:
    """The Ray executor's benchmark: 200 cheap cells and a 10,000-image sharded evaluation
    on a simulated 3-node cluster against the local executor (`-- --help` for options).
    Runs in a loopback-only network namespace (unshare -n -r). Prints figures."""
    _stack(session)
    session.run(
        str(BIN / "python"), "-m", "parity.bench_ray", *session.posargs, external=True, env=_env()
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the import contract (pyproject.toml [tool.importlinter]): only parity.child
    imports a framework, and the parent never imports parity.child."""
    session.install("ruff>=0.5", "import-linter>=2.1")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter reads the source without running it: the packages need only be findable
    # from the checkout, and no framework need be installed in this session.
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": str(ROOT)})
