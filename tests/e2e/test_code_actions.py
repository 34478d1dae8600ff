"""End to end: AI quick-fixes for another server's diagnostics, computed lazily and checked before use."""

from __future__ import annotations

import ast
import statistics
import time
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartClient, capabilities, counter, open_document, server_env, stats, two_tiers
from tests.e2e.feature_helpers import Recorder, messages
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e

URI = "file:///work/shop.py"
TEXT = (
    "import os\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return reuslt\n"
    "\n"
    "\n"
    "def other():\n"
    "    return os.sep\n"
)
FIXED = (
    "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n"
    "    return result\n"
)
BROKEN = "def total(items):\n    result = (0\n    return result\n"


def span(line: int, character: int, end_line: int, end_character: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=character),
        end=types.Position(line=end_line, character=end_character),
    )


# A Pyright-style diagnostic, as the client would pass along from that server.
DIAGNOSTIC = types.Diagnostic(
    range=span(7, 11, 7, 17),
    message='"reuslt" is not defined',
    severity=types.DiagnosticSeverity.Error,
    source="Pyright",
    code="reportUndefinedVariable",
)
OPTIONS = {"keepWarmS": 0}


def fenced(code: str) -> dict[str, Any]:
    return {"text": f"```python\n{code}```\n"}


def action_params(
    diagnostics: list[types.Diagnostic],
    selection: types.Range | None = None,
    only: list[types.CodeActionKind] | None = None,
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        range=selection or DIAGNOSTIC.range,
        context=types.CodeActionContext(
            diagnostics=diagnostics, only=only, trigger_kind=types.CodeActionTriggerKind.Automatic
        ),
    )


async def _fix_action(client: Any) -> types.CodeAction:
    actions = await client.text_document_code_action_async(action_params([DIAGNOSTIC]))
    fixes = [
        a for a in actions if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix
    ]
    assert len(fixes) == 1
    return fixes[0]


EXPECTED_EDIT = types.TextEdit(
    range=span(7, 0, 8, 0),
    new_text="    return result\n",
)


async def test_a_quick_fix_is_listed_free_and_resolved_to_a_minimal_edit(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(fenced(FIXED))
    client = await start_client(server_env(sim), options=OPTIONS)
    open_document(client, URI, TEXT)

    action = await _fix_action(client)
    assert action.title == 'Fix with AI: "reuslt" is not defined'
    assert list(action.diagnostics or []) == [DIAGNOSTIC]
    assert action.edit is None and action.data is not None
    assert sim.completion_requests() == []  # listing costs nothing

    resolved = await client.code_action_resolve_async(action)

    assert resolved.edit is not None
    assert resolved.edit.document_changes is not None
    (change,) = resolved.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == URI and change.text_document.version == 1
    assert list(change.edits) == [EXPECTED_EDIT]
    (record,) = sim.completion_requests()
    assert record["path"] == "/v1/chat/completions"
    prompt = record["prompt"][1]["content"]
    assert "Region to rewrite (lines 4-8)" in prompt and "reportUndefinedVariable" in prompt
    assert "def other" in prompt  # context after the region
    # The original scope went along as the predicted output.
    assert record["accepted_prediction_tokens"] > 0


async def test_an_invalid_answer_is_retried_on_the_gpu_tier(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    sim.script(fenced(BROKEN))
    gpu.script(fenced(FIXED))
    client = await start_client(two_tiers(sim, gpu), options=OPTIONS)
    open_document(client, URI, TEXT)

    resolved = await client.code_action_resolve_async(await _fix_action(client))

    assert resolved.edit is not None and resolved.edit.document_changes is not None
    assert list(resolved.edit.document_changes[0].edits) == [EXPECTED_EDIT]  # type: ignore[union-attr]
    report = await stats(client)
    assert counter(report, "quickfix.invalidAnswers") == 1
    assert counter(report, "quickfix.answeredBy.gpu") == 1


async def test_when_both_tiers_answer_badly_nothing_is_applied_and_the_user_is_told(
    sim: SimProcess, gpu: SimProcess, start_client: StartClient
) -> None:
    sim.script(fenced(BROKEN))
    gpu.script(fenced(BROKEN))
    client = await start_client(two_tiers(sim, gpu), options=OPTIONS)
    open_document(client, URI, TEXT)
    action = await _fix_action(client)

    resolved = await client.code_action_resolve_async(action)

    assert resolved.edit is None
    assert len(sim.completion_requests()) == 1 and len(gpu.completion_requests()) == 1
    (told,) = [m for m in messages(client) if "Fix with AI" in m]
    assert "does not parse" in told and "Nothing was changed" in told
    assert counter(await stats(client), "quickfix.invalidAnswers") == 2


async def test_a_client_without_resolve_gets_a_command_that_applies_the_edit(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(fenced(FIXED))
    caps = capabilities()
    assert caps.text_document is not None and caps.text_document.code_action is not None
    caps.text_document.code_action.resolve_support = None
    client = await start_client(server_env(sim), caps, options=OPTIONS)
    recorder = Recorder(client)
    open_document(client, URI, TEXT)

    (item, *_) = await client.text_document_code_action_async(action_params([DIAGNOSTIC]))
    # lsprotocol's client-side hook reads any action with a `command` key as a bare Command and
    # leaves the action's command object as text in `command`: read it back from there.
    assert isinstance(item, types.Command) and item.title == 'Fix with AI: "reuslt" is not defined'
    command = ast.literal_eval(item.command)
    assert command["command"] == "spark.applyFix"
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command["command"], arguments=command["arguments"])
    )

    (applied,) = recorder.edits
    assert applied.label == 'Fix with AI: "reuslt" is not defined'
    assert applied.edit.document_changes is not None
    assert list(applied.edit.document_changes[0].edits) == [EXPECTED_EDIT]  # type: ignore[union-attr]


async def test_a_document_changed_since_listing_is_not_edited(
    sim: SimProcess, start_client: StartClient
) -> None:
    sim.script(fenced(FIXED))
    client = await start_client(server_env(sim), options=OPTIONS)
    open_document(client, URI, TEXT)
    action = await _fix_action(client)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=TEXT + "\n")],
        )
    )

    resolved = await client.code_action_resolve_async(action)

    assert resolved.edit is None
    assert any("changed since" in m for m in messages(client))
    assert sim.completion_requests() == []


async def test_selection_rewrites_only_filtering_and_a_docstring(
    sim: SimProcess, start_client: StartClient
) -> None:
    client = await start_client(server_env(sim), options=OPTIONS)
    open_document(client, URI, TEXT)
    selection = types.Range(
        start=types.Position(line=3, character=0), end=types.Position(line=8, character=0)
    )

    every = await client.text_document_code_action_async(action_params([DIAGNOSTIC], selection))
    # (An action carrying a command reaches the test client as a bare Command: see above.)
    titles = [(a.title, getattr(a, "kind", "command")) for a in every]
    assert titles == [
        ('Fix with AI: "reuslt" is not defined', types.CodeActionKind.QuickFix),
        ("Simplify", types.CodeActionKind.RefactorRewrite),
        ("Add type hints", types.CodeActionKind.RefactorRewrite),
        ("Add docstring", types.CodeActionKind.RefactorRewrite),
        ("Write tests for this", types.CodeActionKind.RefactorRewrite),
        ("Refactor with AI…", "command"),
    ]
    assert "spark.refactor" in every[-1].command
    rewrites = await client.text_document_code_action_async(
        action_params([DIAGNOSTIC], selection, only=[types.CodeActionKind.RefactorRewrite])
    )
    assert [a.title for a in rewrites] == [
        "Simplify",
        "Add type hints",
        "Add docstring",
        "Write tests for this",
    ]
    refactors = await client.text_document_code_action_async(
        action_params([DIAGNOSTIC], selection, only=[types.CodeActionKind.Refactor])
    )
    assert [a.title for a in refactors][-1] == "Refactor with AI…" and len(refactors) == 5
    assert await client.text_document_code_action_async(action_params([DIAGNOSTIC], only=["source"])) is None
    assert sim.completion_requests() == []

    # Picking "Add docstring" with the cursor's word selected rewrites the whole function around it.
    documented = FIXED.replace("def total(items):\n", 'def total(items):\n    """Sum the prices."""\n')
    sim.script(fenced(documented.replace("return result", "return reuslt")))
    actions = await client.text_document_code_action_async(
        action_params([], span(3, 4, 3, 9), only=[types.CodeActionKind.RefactorRewrite])
    )
    (docstring,) = [a for a in actions if a.title == "Add docstring"]

    resolved = await client.code_action_resolve_async(docstring)

    assert resolved.edit is not None and resolved.edit.document_changes is not None
    assert list(resolved.edit.document_changes[0].edits) == [  # type: ignore[union-attr]
        types.TextEdit(range=span(4, 0, 4, 0), new_text='    """Sum the prices."""\n')
    ]


PREDICTION_FUNCTION = (
    "def report(rows):\n"
    + "".join(f"    line_{i} = format_row(rows[{i}], width={i + 10}, pad='.')\n" for i in range(24))
    + "    return reuslt\n"
)
PREDICTION_FIXED = PREDICTION_FUNCTION.replace("return reuslt", "return line_0")
# Cerebras-like pacing (the spark profile's numbers): prediction savings are about generation time.
SPARK_PACE = {"ttft_ms": 60, "tokens_per_second": 1500}


async def test_predicted_outputs_make_a_fix_faster(sim: SimProcess, start_client: StartClient) -> None:
    uri = "file:///work/report.py"
    diagnostic = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=25, character=11), end=types.Position(line=25, character=17)
        ),
        message='"reuslt" is not defined',
        source="ruff",
        code="F821",
    )
    timings: dict[bool, list[float]] = {}
    for predicted in (False, True):
        sim.reset()
        sim.script({"text": f"```python\n{PREDICTION_FIXED}```\n", "repeat": -1, **SPARK_PACE})
        client = await start_client(server_env(sim), options={**OPTIONS, "predictedOutputs": predicted})
        open_document(client, uri, PREDICTION_FUNCTION)
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
        actions = await client.text_document_code_action_async(params)
        (action,) = [a for a in actions if getattr(a, "kind", None) == types.CodeActionKind.QuickFix]
        for _ in range(3):
            started = time.perf_counter()
            resolved = await client.code_action_resolve_async(action)
            timings.setdefault(predicted, []).append(time.perf_counter() - started)
            assert resolved.edit is not None
        record = sim.completion_requests()[-1]
        assert (record["accepted_prediction_tokens"] is not None) == predicted
    plain, with_prediction = statistics.median(timings[False]), statistics.median(timings[True])
    tokens = sim.completion_requests()[-1]["tokens_sent"]
    print(
        f"\nquick-fix of a {tokens}-token function at ~1500 tokens/s: "
        f"{plain * 1000:.0f} ms without prediction, {with_prediction * 1000:.0f} ms with "
        f"({with_prediction / plain:.2f}x)"
    )
    assert with_prediction < plain * 0.75
