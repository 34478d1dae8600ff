"""Property tests through the real server: any edits keep its text equal to the client's, in every
position encoding, and any cursor position gets an answer rather than an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import server_env
from tests.e2e.sim_process import SimProcess
from tests.e2e.test_bad_input import RawClient

pytestmark = pytest.mark.e2e

ALPHABET = st.sampled_from(["a", "b", " ", "\n", "\r\n", "é", "中", "😀", "👍🏽", "\t", "x = 1\n"])
ENCODINGS = ("utf-8", "utf-16", "utf-32")


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(char) > 0xFFFF else 1
    return 1


def _lines(text: str) -> list[str]:
    """Lines without terminators, as LSP counts them (\\n, \\r\\n and \\r end a line)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _position(text: str, index: int, encoding: str) -> dict[str, int]:
    before = text[:index]
    line = len(_lines(before)) - 1
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    return {"line": line, "character": sum(_units(c, encoding) for c in text[line_start:index])}


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[float, float, str]]:
    """Edits as fractions of the text length (so they stay valid whatever the text) and new text."""
    count = draw(st.integers(1, 8))
    return [
        (draw(st.floats(0, 1)), draw(st.floats(0, 1)), "".join(draw(st.lists(ALPHABET, max_size=6))))
        for _ in range(count)
    ]


def _boundary(text: str, fraction: float) -> int:
    index = int(fraction * len(text))
    # Never split a "\r\n" pair: LSP has no position between its two characters.
    if 0 < index < len(text) and text[index - 1] == "\r" and text[index] == "\n":
        index -= 1
    return index


@pytest.fixture(scope="module", params=ENCODINGS)
def served(request: pytest.FixtureRequest, sim_session: SimProcess) -> Iterator[tuple[RawClient, str]]:
    encoding: str = request.param
    client = RawClient(server_env(sim_session))
    options = {"inline": {"promptTokens": 100_000, "prefetch": False}}
    capabilities = {"general": {"positionEncodings": [encoding]}, "textDocument": {"inlineCompletion": {}}}
    result = client.request("initialize", {"capabilities": capabilities, "initializationOptions": options})
    assert result["result"]["capabilities"]["positionEncoding"] == encoding
    client.notify("initialized", {})
    yield client, encoding
    assert client.close() == 0


COUNTER = iter(range(10**9))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.lists(ALPHABET, max_size=8).map("".join),
    changes=edits(),
    cursor=st.tuples(st.integers(0, 12), st.integers(0, 40)),
)
def test_any_edits_keep_the_server_text_equal_to_the_client_text(
    served: tuple[RawClient, str], sim_session: SimProcess, start: str, changes: Any, cursor: tuple[int, int]
) -> None:
    client, encoding = served
    sim_session.reset()
    sim_session.script({"text": "ok", "repeat": -1})
    uri = f"file:///prop/{encoding}/{next(COUNTER)}.py"
    text = start
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    for version, (a, b, new) in enumerate(changes, start=2):
        first, last = sorted((_boundary(text, a), _boundary(text, b)))
        change = {
            "range": {"start": _position(text, first, encoding), "end": _position(text, last, encoding)},
            "text": new,
        }
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        text = text[:first] + new + text[last:]

    end = _position(text, len(text), encoding)
    params = {"textDocument": {"uri": uri}, "position": end, "context": {"triggerKind": 1}}
    response = client.request("textDocument/inlineCompletion", params)
    assert "error" not in response
    prompt = sim_session.completion_requests()[-1]["prompt"]
    assert prompt == f"<|fim_prefix|>{text}<|fim_suffix|><|fim_middle|>"

    anywhere = {"line": cursor[0], "character": cursor[1]}
    response = client.request("textDocument/inlineCompletion", {**params, "position": anywhere})
    assert "error" not in response
