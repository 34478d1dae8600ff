"""The extension in a real VS Code (code-server 4.139 = VS Code 1.139, headless Chromium, Playwright):
installed from the built .vsix, run against `spark-lsp sim`; ghost text appears and Tab accepts it;
hover, a code action and a refactor when the server offers them. Screenshots go to
$SPARK_EDITOR_SCREENSHOTS (docs/img/ for the README) or the test's temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import CACHE, EXTENSION, SHARED, advertises_command, python_env, run

pytestmark = [pytest.mark.editors, pytest.mark.vscode]

PREFIX = CACHE / "vscode-e2e"
CHECKS = ["install", "apiKey", "inline", "stats", "hover", "codeAction", "refactor"]


@pytest.fixture(scope="module")
def code_server() -> Path:
    """code-server, Node 24, Chromium and playwright-core, installed once into ~/.cache/vscode-e2e."""
    run(["bash", SHARED / "tools" / "install-code-server.sh", PREFIX], timeout=1200)
    return PREFIX


@pytest.fixture(scope="module")
def vsix(extension_modules: Path, node: str) -> Path:
    """`npm run package`: the .vsix with the server's wheels, built from this checkout."""
    run(
        ["npm", "run", "package"],
        cwd=EXTENSION,
        env=python_env(SPARK_BUNDLE_PYTHON=sys.executable),
        timeout=900,
    )
    built = sorted(EXTENSION.glob("spark-lsp-*.vsix"), key=lambda path: path.stat().st_mtime)
    assert built, "npm run package wrote no .vsix"
    return built[-1]


@pytest.fixture(scope="module")
def vscode_results(
    code_server: Path, vsix: Path, capabilities: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("vscode")
    screenshots = Path(os.environ.get("SPARK_EDITOR_SCREENSHOTS", work / "screenshots"))
    result_file = work / "result.json"
    command = [
        str(code_server / "node" / "bin" / "node"),
        "test/vscode/run.mjs",
        "--vsix",
        str(vsix),
        "--python",
        sys.executable,
        "--prefix",
        str(code_server),
        "--corpus",
        str(SHARED / "corpus"),
        "--result",
        str(result_file),
        "--screenshots",
        str(screenshots),
    ]
    if capabilities.get("hoverProvider"):
        command.append("--hover")
    if capabilities.get("codeActionProvider"):
        command.append("--code-action")
    if advertises_command(capabilities, "spark.refactor"):
        command.append("--refactor")
    completed = subprocess.run(
        command, cwd=EXTENSION, env=python_env(), text=True, capture_output=True, timeout=420, check=False
    )
    if not result_file.exists():
        pytest.fail(
            f"the VS Code run wrote no result (exit {completed.returncode}):\n"
            f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
        )
    results: dict[str, Any] = json.loads(result_file.read_text())
    results["_output"] = completed.stdout[-8000:] + completed.stderr[-4000:]
    return results


@pytest.mark.parametrize("check", CHECKS)
def test_in_vscode(check: str, vscode_results: dict[str, Any]) -> None:
    if "setup" in vscode_results:
        pytest.fail(
            f"the VS Code run failed to set up: {vscode_results['setup']['error']}\n"
            f"{vscode_results['_output']}"
        )
    result = vscode_results.get(check)
    assert result is not None, f"the VS Code run did not report {check!r}:\n{vscode_results['_output']}"
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result.get("ok"), (
        f"{result.get('error')}\n(profile and logs: {vscode_results.get('logs')})\n"
        f"{vscode_results['_output']}"
    )
