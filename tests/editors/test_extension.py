"""The VS Code extension's own Node tests: unit tests of its pure logic, and end to end in Node
(the real server started exactly as the extension starts it, against `spark-lsp sim`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.editors.conftest import EXTENSION, python_env
from tests.editors.node_tap import TapResult, failure_details, parse_tap

pytestmark = pytest.mark.editors

# The end-to-end tests in client-extension/test/e2e/server.test.ts, by the start of their names.
E2E_TESTS = [
    "the extension settings are accepted",
    "inline completion",
    "spark/stats",
    "hover",
    "code action",
    "refactor command",
]


def _node_tests(node: str, directory: str) -> tuple[str, dict[str, TapResult]]:
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "--test-concurrency=1", directory],
        cwd=EXTENSION,
        env=python_env(),
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    results = parse_tap(result.stdout)
    if not results:
        pytest.fail(f"node --test {directory} ran no test (exit {result.returncode}):\n{output[-4000:]}")
    return output, results


@pytest.fixture(scope="module")
def e2e_results(node: str, compiled_extension: Path) -> tuple[str, dict[str, TapResult]]:
    return _node_tests(node, "out/test/e2e/")


def test_unit_tests_of_the_extension(node: str, compiled_extension: Path) -> None:
    output, results = _node_tests(node, "out/test/unit/")
    failed = [name for name, result in results.items() if not result.ok]
    assert not failed, "\n\n".join(failure_details(output, name) for name in failed)


@pytest.mark.parametrize("prefix", E2E_TESTS)
def test_end_to_end_in_node(prefix: str, e2e_results: tuple[str, dict[str, TapResult]]) -> None:
    output, results = e2e_results
    matching = [result for name, result in results.items() if name.startswith(prefix)]
    assert matching, f"no Node end-to-end test named {prefix!r}; ran: {sorted(results)}"
    result = matching[0]
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.ok, failure_details(output, result.name)
