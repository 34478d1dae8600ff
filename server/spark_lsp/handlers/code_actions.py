"""textDocument/codeAction and codeAction/resolve: AI quick-fixes and rewrites, computed lazily."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import attrs
from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

# A runtime import: pygls resolves a command handler's annotations (get_type_hints) on each call.
from spark_lsp.app import SparkLanguageServer
from spark_lsp.config import deadline, predicted_outputs
from spark_lsp.engine.checked_generation import Failure, generate_checked
from spark_lsp.engine.documents import DocumentSnapshot, split_lines
from spark_lsp.engine.edits import LineEdit, edit_range
from spark_lsp.engine.generation import Deadlines
from spark_lsp.engine.positions import PositionEncoding, lsp_character
from spark_lsp.engine.quickfix import (
    REWRITE_TITLES,
    TYPED_LANGUAGES,
    ActionKind,
    Problem,
    Rewrite,
    RewriteJob,
    interpret,
    interpret_tests,
    max_tokens_for,
    plan_job,
    rewrite_messages,
    sibling_test_path,
)
from spark_lsp.engine.router import Tier
from spark_lsp.handlers.lifecycle import show
from spark_lsp.providers.base import ModelRequest

logger = logging.getLogger(__name__)
APPLY_FIX_COMMAND = "spark.applyFix"
REFACTOR_COMMAND = "spark.refactor"
_TITLE_CHARS = 80
_KINDS: tuple[ActionKind, ...] = ("fix", "simplify", "typeHints", "docstring", "tests")


# Client capabilities ---------------------------------------------------------------------------


def resolves_edits(caps: types.ClientCapabilities) -> bool:
    """Whether the client fills in a code action's edit through codeAction/resolve."""
    action = caps.text_document.code_action if caps.text_document else None
    support = action.resolve_support if action else None
    return support is not None and "edit" in support.properties


def _workspace_edit_caps(caps: types.ClientCapabilities) -> types.WorkspaceEditClientCapabilities | None:
    return caps.workspace.workspace_edit if caps.workspace else None


def versioned_edits(caps: types.ClientCapabilities) -> bool:
    """Whether the client takes `documentChanges` (versioned edits: it refuses stale ones)."""
    edit = _workspace_edit_caps(caps)
    return bool(edit and edit.document_changes)


def creates_files(caps: types.ClientCapabilities) -> bool:
    """Whether the client can create files as part of a workspace edit."""
    edit = _workspace_edit_caps(caps)
    operations = edit.resource_operations if edit else None
    return versioned_edits(caps) and bool(operations and types.ResourceOperationKind.Create in operations)


def annotates_changes(caps: types.ClientCapabilities) -> bool:
    """Whether the client honours change annotations (and so can ask the user to confirm)."""
    edit = _workspace_edit_caps(caps)
    return versioned_edits(caps) and bool(edit and edit.change_annotation_support is not None)


# Edits -----------------------------------------------------------------------------------------


def text_edits(
    lines: Sequence[str], edits: Sequence[LineEdit], encoding: PositionEncoding, annotation: str | None = None
) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    """Whole-line edits as LSP text edits in the negotiated position encoding."""
    snapshot = DocumentSnapshot("", "", 0, tuple(lines))
    result: list[types.TextEdit | types.AnnotatedTextEdit] = []
    for edit in edits:
        (start_line, start_index), (end_line, end_index) = edit_range(lines, edit)
        start = snapshot.index_to_position(start_line, start_index, encoding)
        end = snapshot.index_to_position(end_line, end_index, encoding)
        lsp_range = types.Range(
            start=types.Position(line=start[0], character=start[1]),
            end=types.Position(line=end[0], character=end[1]),
        )
        if annotation is None:
            result.append(types.TextEdit(range=lsp_range, new_text=edit.text))
        else:
            result.append(
                types.AnnotatedTextEdit(range=lsp_range, new_text=edit.text, annotation_id=annotation)
            )
    return result


def document_edit(
    caps: types.ClientCapabilities,
    uri: str,
    version: int | None,
    edits: list[types.TextEdit | types.AnnotatedTextEdit],
) -> types.WorkspaceEdit:
    """A workspace edit of one document: versioned when the client allows, so a stale one is refused."""
    if versioned_edits(caps):
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=edits)]
        )
    return types.WorkspaceEdit(
        changes={uri: [types.TextEdit(range=e.range, new_text=e.new_text) for e in edits]}
    )


def end_position(text: str, encoding: PositionEncoding) -> types.Position:
    """The LSP position of the end of `text`."""
    lines = split_lines(text)
    return types.Position(line=len(lines) - 1, character=lsp_character(lines[-1], len(lines[-1]), encoding))


# Action data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionData:
    """What resolving an action needs; travels in `CodeAction.data` or the command's argument."""

    kind: ActionKind
    uri: str
    version: int
    start: tuple[int, int]
    end: tuple[int, int]
    problem: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form for the wire."""
        return {
            "spark": self.kind,
            "uri": self.uri,
            "version": self.version,
            "range": [*self.start, *self.end],
            "problem": self.problem,
        }

    @staticmethod
    def from_json(raw: object) -> ActionData | None:
        """Read it back; None when it is not ours or malformed."""
        if not isinstance(raw, dict) or raw.get("spark") not in _KINDS:
            return None
        numbers = raw.get("range")
        uri, version = raw.get("uri"), raw.get("version")
        if not isinstance(uri, str) or not isinstance(version, int) or isinstance(version, bool):
            return None
        if not isinstance(numbers, list) or len(numbers) != 4 or not all(isinstance(n, int) for n in numbers):
            return None
        problem = raw.get("problem")
        return ActionData(
            raw["spark"],
            uri,
            version,
            (numbers[0], numbers[1]),
            (numbers[2], numbers[3]),
            problem if isinstance(problem, dict) else None,
        )

    def title(self) -> str:
        """The action's title."""
        if self.kind == "fix" and self.problem is not None:
            return f"Fix with AI: {_short(str(self.problem.get('message', '')))}"
        return REWRITE_TITLES.get(self.kind, "Fix with AI")


def _short(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= _TITLE_CHARS else first[: _TITLE_CHARS - 1] + "…"


def _problem_json(diagnostic: types.Diagnostic) -> dict[str, Any]:
    code = diagnostic.code
    return {
        "message": diagnostic.message,
        "source": diagnostic.source,
        "code": None if code is None else str(code),
        "lines": [diagnostic.range.start.line, diagnostic.range.end.line],
    }


def _problem(raw: dict[str, Any] | None) -> Problem | None:
    if raw is None:
        return None
    lines = raw.get("lines") or [0, 0]
    return Problem(
        message=str(raw.get("message", "")),
        start_line=int(lines[0]),
        end_line=int(lines[1]),
        source=raw.get("source") if isinstance(raw.get("source"), str) else None,
        code=raw.get("code") if isinstance(raw.get("code"), str) else None,
    )


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's `context.only`: a kind matches itself and its sub-kinds ("refactor" takes "refactor.rewrite")."""
    return only is None or any(kind == o or kind.startswith(o + ".") for o in only)


# Computing an edit -----------------------------------------------------------------------------


async def compute_edit(ls: SparkLanguageServer, data: ActionData) -> types.WorkspaceEdit | str:
    """The checked workspace edit for an action, or what to tell the user instead."""
    session = ls.session
    exclusion = await session.exclusion_for(data.uri)
    if exclusion is not None:
        return f"this file is excluded from AI features ({exclusion.reason})."
    snapshot = session.documents.snapshot(data.uri)
    if snapshot is None:
        return "the document is not open any more."
    if snapshot.version != data.version:
        return "the document changed since this action was offered; ask for it again."
    session.last_activity = time.monotonic()  # keeps the pooled connections warm
    await session.wait_until_ready()
    await session.encoder_ready()
    session.stats.count(f"quickfix.{data.kind}.requests")
    if data.kind == "tests":
        outcome = await _tests_edit(ls, data, snapshot)
    else:
        outcome = await _rewrite_edit(ls, data, snapshot)
    if isinstance(outcome, str):
        session.stats.count(f"quickfix.{data.kind}.failed")
        return outcome
    current = session.documents.snapshot(data.uri)
    if current is None or current.version != snapshot.version:
        return "the document changed while the edit was being prepared; ask for it again."
    session.stats.count(f"quickfix.{data.kind}.edits")
    return outcome


def _deadlines(ls: SparkLanguageServer) -> Deadlines:
    limits = deadline(ls.session.settings, "quickfix")
    return Deadlines(limits.first_token_ms / 1000.0, limits.total_ms / 1000.0)


def _request(
    ls: SparkLanguageServer,
    tier: Tier,
    messages: list[dict[str, str]],
    max_tokens: int,
    prediction: str | None,
) -> ModelRequest:
    assert tier.model is not None
    settings = ls.session.settings
    wants = prediction is not None and predicted_outputs(settings, tier.model_settings)
    return ModelRequest(
        model=tier.model,
        max_tokens=max_tokens,
        messages=tuple(messages),
        temperature=settings.quickfix.temperature,
        prediction=prediction if wants else None,
    )


_T = TypeVar("_T")


def _path(uri: str) -> str:
    return to_fs_path(uri) or uri


def _job(
    ls: SparkLanguageServer,
    data: ActionData,
    snapshot: DocumentSnapshot,
    kind: ActionKind,
    first: int,
    last: int,
    problem: Problem | None,
) -> RewriteJob:
    """What the model is asked to rewrite, with its context within the quick-fix token budget."""
    session = ls.session
    return plan_job(
        snapshot.lines,
        os.path.basename(_path(data.uri)),
        snapshot.language_id,
        kind,
        first,
        last,
        problem,
        session.counter,
        session.settings.quickfix.context_tokens,
        snapshot.eol,
    )


async def _ask(
    ls: SparkLanguageServer, job: RewriteJob, prediction: str | None, check: Callable[[str], _T | Failure]
) -> _T | Failure:
    """The model's answer for `job` that passes `check` (the GPU tier retries a bad fast-tier answer)."""
    session = ls.session
    messages = rewrite_messages(job)
    limit = max_tokens_for(job, session.counter, session.settings.quickfix.max_tokens)
    return await generate_checked(
        session.router,
        session.stats,
        "quickfix",
        lambda tier: _request(ls, tier, messages, limit, prediction),
        _deadlines(ls),
        check,
    )


async def _rewrite_edit(
    ls: SparkLanguageServer, data: ActionData, snapshot: DocumentSnapshot
) -> types.WorkspaceEdit | str:
    session = ls.session
    encoding = session.encoding
    first, _ = snapshot.position_to_index(*data.start, encoding)
    last, last_index = snapshot.position_to_index(*data.end, encoding)
    if last > first and last_index == 0:
        last -= 1  # a selection ending at the start of a line does not include that line
    job = _job(ls, data, snapshot, data.kind, first, last, _problem(data.problem))
    result = await _ask(ls, job, job.original, lambda answer: interpret(job, answer))
    if isinstance(result, Failure):
        return result.reason
    assert isinstance(result, Rewrite)
    caps = ls.client_capabilities
    return document_edit(caps, data.uri, snapshot.version, text_edits(snapshot.lines, result.edits, encoding))


async def _read_if_exists(path: str) -> str | None:
    def read() -> str | None:
        try:
            with open(path, encoding="utf-8", newline="") as file:
                return file.read()
        except FileNotFoundError:
            return None

    return await asyncio.to_thread(read)


async def _tests_edit(
    ls: SparkLanguageServer, data: ActionData, snapshot: DocumentSnapshot
) -> types.WorkspaceEdit | str:
    session = ls.session
    encoding = session.encoding
    test_path = sibling_test_path(_path(data.uri), snapshot.language_id)
    if test_path is None:
        return "there is no test file convention for this file."
    test_uri = from_fs_path(test_path) or test_path
    open_test = session.documents.snapshot(test_uri)
    existing = open_test.text() if open_test is not None else await _read_if_exists(test_path)
    caps = ls.client_capabilities
    if existing is None and not creates_files(caps):
        return f"the editor cannot create {os.path.basename(test_path)}; create it and try again."
    first, _ = snapshot.position_to_index(*data.start, encoding)
    last, _ = snapshot.position_to_index(*data.end, encoding)
    job = _job(ls, data, snapshot, "tests", first, last, None)
    addition = await _ask(
        ls, job, None, lambda answer: interpret_tests(answer, snapshot.language_id, existing)
    )
    if isinstance(addition, Failure):
        return addition.reason
    assert isinstance(addition, str)
    at = end_position(existing or "", encoding)
    insert = types.TextEdit(range=types.Range(start=at, end=at), new_text=addition)
    if existing is not None:
        version = open_test.version if open_test is not None else None
        return document_edit(caps, test_uri, version, [insert])
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(uri=test_uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=test_uri, version=None),
                edits=[insert],
            ),
        ]
    )


# Registration ----------------------------------------------------------------------------------


def _actions(ls: SparkLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    session = ls.session
    uri = params.text_document.uri
    snapshot = session.documents.snapshot(uri)
    if snapshot is None or not session.settings.quickfix.enabled:
        return []
    only = (
        [str(getattr(kind, "value", kind)) for kind in params.context.only] if params.context.only else None
    )
    resolve = resolves_edits(ls.client_capabilities)
    actions: list[types.CodeAction] = []

    def offer(
        data: ActionData, kind: types.CodeActionKind, diagnostics: list[types.Diagnostic] | None = None
    ) -> None:
        title = data.title()
        action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics)
        if resolve:
            action.data = data.to_json()
        else:
            action.command = types.Command(title=title, command=APPLY_FIX_COMMAND, arguments=[data.to_json()])
        actions.append(action)

    if _wanted(types.CodeActionKind.QuickFix.value, only):
        for diagnostic in params.context.diagnostics:
            where = diagnostic.range
            data = ActionData(
                "fix",
                uri,
                snapshot.version,
                (where.start.line, where.start.character),
                (where.end.line, where.end.character),
                _problem_json(diagnostic),
            )
            offer(data, types.CodeActionKind.QuickFix, [diagnostic])
    selection = params.range
    selected = selection.start != selection.end
    if selected and _wanted(types.CodeActionKind.RefactorRewrite.value, only):
        start = (selection.start.line, selection.start.character)
        end = (selection.end.line, selection.end.character)
        rewrites: tuple[ActionKind, ...] = ("simplify", "typeHints", "docstring", "tests")
        for kind in rewrites:
            if kind == "typeHints" and snapshot.language_id not in TYPED_LANGUAGES:
                continue
            if kind == "tests" and sibling_test_path(_path(uri), snapshot.language_id) is None:
                continue
            offer(ActionData(kind, uri, snapshot.version, start, end), types.CodeActionKind.RefactorRewrite)
    invoked = params.context.trigger_kind == types.CodeActionTriggerKind.Invoked
    if (selected or invoked) and _wanted(types.CodeActionKind.Refactor.value, only):
        # The client asks for the instruction: VS Code's extension intercepts this command with an
        # input box; other clients send it as is and are told an instruction is needed.
        argument = {
            "uri": uri,
            "range": {
                "start": {"line": selection.start.line, "character": selection.start.character},
                "end": {"line": selection.end.line, "character": selection.end.character},
            },
        }
        actions.append(
            types.CodeAction(
                title="Refactor with AI…",
                kind=types.CodeActionKind.Refactor,
                command=types.Command(
                    title="Refactor with AI…", command=REFACTOR_COMMAND, arguments=[argument]
                ),
            )
        )
    session.stats.count("quickfix.listed", len(actions))
    return actions


def register(server: SparkLanguageServer) -> None:
    """Register code actions, their resolution, and the command for clients without resolve."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.RefactorRewrite,
                types.CodeActionKind.Refactor,
            ],
            resolve_provider=True,
        ),
    )
    def code_action(ls: SparkLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        # Listing is instant and free: no model call until the user picks an action. Excluded files get
        # no AI actions at all (resolving would refuse them anyway).
        if ls.session.known_exclusion(params.text_document.uri) is not None:
            return None
        return _actions(ls, params) or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: SparkLanguageServer, action: types.CodeAction) -> types.CodeAction:
        data = ActionData.from_json(action.data)
        if data is None:
            return action
        outcome = await compute_edit(ls, data)
        if isinstance(outcome, str):
            show(ls, f"spark-lsp: {data.title()}: {outcome.rstrip('.')}. Nothing was changed.")
            return action
        return attrs.evolve(action, edit=outcome)

    @server.command(APPLY_FIX_COMMAND)
    async def apply_fix(ls: SparkLanguageServer, *arguments: Any) -> None:
        data = ActionData.from_json(arguments[0] if arguments else None)
        if data is None:
            show(ls, f"spark-lsp: {APPLY_FIX_COMMAND} needs the argument of the code action it came with.")
            return
        outcome = await compute_edit(ls, data)
        if isinstance(outcome, str):
            show(ls, f"spark-lsp: {data.title()}: {outcome.rstrip('.')}. Nothing was changed.")
            return
        result = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=outcome, label=data.title())
        )
        if not result.applied:
            show(
                ls, f"spark-lsp: {data.title()}: the editor did not apply the edit ({result.failure_reason})."
            )
