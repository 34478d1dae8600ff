"""End to end: `spark.refactor` plans on the GPU tier, reports progress, applies one edit or nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.e2e import feature_helpers
from tests.e2e.conftest import cancel_request, open_document, server_env, two_tiers
from tests.e2e.feature_helpers import Recorder, messages
from tests.e2e.sim_process import SimProcess

pytestmark = pytest.mark.e2e
workspace_client = feature_helpers.workspace_client

APP = "from util import double\n\n\ndef total(values):\n    return sum(double(v) for v in values)\n"
UTIL = "def double(x):\n    return 2 * x\n"
NEW_APP = APP.replace("double", "triple")
NEW_UTIL = UTIL + "\n\ndef triple(x):\n    return 3 * x\n"
INSTRUCTION = "Add a triple helper to util.py and use it in total instead of double"
PLAN = {
    "summary": "Add triple() and use it",
    "steps": [
        {"file": "util.py", "description": "Add a triple(x) function."},
        {"file": "app.py", "description": "Import and use triple instead of double."},
    ],
}
OPTIONS = {"keepWarmS": 0}


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def script_refactor(sim: SimProcess, stall_step: int | None = None) -> None:
    step_two: dict[str, Any] = {"text": fenced(NEW_APP), "match": "Now do step 2"}
    if stall_step == 2:
        step_two["ttft_ms"] = 8000
    sim.script(
        {"text": json.dumps(PLAN), "match": "Plan at most"},
        {"text": fenced(NEW_UTIL), "match": "Now do step 1"},
        step_two,
    )


def workspace(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path.resolve()
    (root / "app.py").write_text(APP)
    (root / "util.py").write_text(UTIL)
    return root, (root / "app.py").as_uri(), (root / "util.py").as_uri()


def command(uri: str, instruction: str = INSTRUCTION) -> types.ExecuteCommandParams:
    selection = {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}}
    return types.ExecuteCommandParams(
        command="spark.refactor", arguments=[{"uri": uri, "range": selection, "instruction": instruction}]
    )


def span(line: int, character: int, end_line: int, end_character: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=character),
        end=types.Position(line=end_line, character=end_character),
    )


def progress_kinds(client: Any) -> list[str]:
    (reports,) = client.progress_reports.values()
    return [report.kind for report in reports]


async def test_a_two_file_refactor_reports_progress_and_applies_one_edit(
    sim: SimProcess, gpu: SimProcess, workspace_client: Any, tmp_path: Path
) -> None:
    root, app_uri, util_uri = workspace(tmp_path)
    script_refactor(gpu)
    client = await workspace_client(two_tiers(sim, gpu), [root.as_uri()], options=OPTIONS)
    recorder = Recorder(client)
    open_document(client, app_uri, APP)

    assert await client.workspace_execute_command_async(command(app_uri)) is None

    (applied,) = recorder.edits  # one workspace/applyEdit for the whole refactor
    assert applied.label == f"AI refactor: {INSTRUCTION}"
    edit = applied.edit
    assert edit.change_annotations is not None
    annotation = edit.change_annotations["spark-refactor"]
    assert annotation.needs_confirmation is True
    changes = {
        c.text_document.uri: c for c in edit.document_changes or [] if isinstance(c, types.TextDocumentEdit)
    }
    assert changes[app_uri].text_document.version == 1  # the open document, at the version read
    assert changes[util_uri].text_document.version is None  # read from disk
    assert [(e.range, e.new_text, e.annotation_id) for e in changes[util_uri].edits] == [  # type: ignore[union-attr]
        (span(2, 0, 2, 0), "\n\ndef triple(x):\n    return 3 * x\n", "spark-refactor")
    ]
    assert [(e.range, e.new_text) for e in changes[app_uri].edits] == [
        (span(0, 0, 1, 0), "from util import triple\n"),
        (span(4, 0, 5, 0), "    return sum(triple(v) for v in values)\n"),
    ]
    kinds = progress_kinds(client)
    assert kinds[0] == "begin" and kinds[-1] == "end" and kinds.count("report") >= 3
    (reports,) = client.progress_reports.values()
    steps = [r.message for r in reports if r.kind == "report"]
    assert "Step 1/2: util.py" in steps and "Step 2/2: app.py" in steps
    assert reports[-1].message == "Changed 2 file(s)"
    assert [r["model"] for r in gpu.completion_requests()] == ["sim-gpu-coder"] * 3
    assert sim.completion_requests() == []


async def _cancel_midway(
    sim: SimProcess, gpu: SimProcess, workspace_client: Any, tmp_path: Path, how: str
) -> tuple[Any, Recorder, Any]:
    root, app_uri, _ = workspace(tmp_path)
    script_refactor(gpu, stall_step=2)
    client = await workspace_client(two_tiers(sim, gpu), [root.as_uri()], options=OPTIONS)
    recorder = Recorder(client)
    open_document(client, app_uri, APP)
    msg_id = str(uuid.uuid4())
    pending = asyncio.wrap_future(
        client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, command(app_uri), msg_id=msg_id)
    )
    # Wait until the second step is being generated (the simulator stalls on it).
    for _ in range(200):
        reports = next(iter(client.progress_reports.values()), [])
        if any(getattr(r, "message", None) == "Step 2/2: app.py" for r in reports):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"the refactor never reached step 2: {client.progress_reports}")
    if how == "progress":
        (token,) = client.progress_reports
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    else:
        cancel_request(client, msg_id)
    return client, recorder, pending


async def test_cancelling_the_progress_midway_applies_nothing(
    sim: SimProcess, gpu: SimProcess, workspace_client: Any, tmp_path: Path
) -> None:
    client, recorder, pending = await _cancel_midway(sim, gpu, workspace_client, tmp_path, "progress")

    assert await asyncio.wait_for(pending, 3.0) is None
    assert recorder.edits == []
    (reports,) = client.progress_reports.values()
    assert reports[-1].kind == "end" and reports[-1].message == "Cancelled: nothing was changed"
    # The stalled generation was abandoned upstream too.
    await asyncio.to_thread(
        gpu.wait_for, lambda records: records[-1]["outcome"] == "client_disconnected", 3.0
    )


async def test_cancel_request_midway_applies_nothing(
    sim: SimProcess, gpu: SimProcess, workspace_client: Any, tmp_path: Path
) -> None:
    client, recorder, pending = await _cancel_midway(sim, gpu, workspace_client, tmp_path, "request")

    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(pending, 3.0)
    await asyncio.sleep(0.2)
    assert recorder.edits == []
    assert progress_kinds(client)[-1] == "end"


async def test_without_the_gpu_tier_the_user_chooses_the_fast_tier(
    sim: SimProcess, workspace_client: Any, tmp_path: Path
) -> None:
    root, app_uri, _ = workspace(tmp_path)
    client = await workspace_client(server_env(sim), [root.as_uri()], options=OPTIONS)
    recorder = Recorder(client, answer="Cancel")
    open_document(client, app_uri, APP)

    await client.workspace_execute_command_async(command(app_uri))  # declined: nothing happens
    assert sim.completion_requests() == [] and recorder.edits == []
    (question,) = recorder.questions
    assert "gpu tier is not configured" in question.message
    assert [a.title for a in question.actions or []] == ["Use the fast tier", "Cancel"]

    recorder.answer = "Use the fast tier"
    script_refactor(sim)
    await client.workspace_execute_command_async(command(app_uri))
    assert len(recorder.edits) == 1
    assert len(sim.completion_requests()) == 3

    outside = (root.parent / "elsewhere.py").as_uri()
    await client.workspace_execute_command_async(command(outside))
    assert any("outside the workspace folders" in m for m in messages(client))
    assert len(recorder.edits) == 1 and len(sim.completion_requests()) == 3
