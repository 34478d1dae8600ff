"""workspace/executeCommand `spark.refactor`: a planned multi-file refactor with progress and one edit."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

# A runtime import: pygls resolves a command handler's annotations (get_type_hints) on each call.
from spark_lsp.app import SparkLanguageServer, current_command
from spark_lsp.config import deadline, predicted_outputs
from spark_lsp.engine.checked_generation import Failure
from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.edits import line_edits
from spark_lsp.engine.generation import Deadlines
from spark_lsp.engine.languages import language_for
from spark_lsp.engine.refactor import FileText, inside
from spark_lsp.engine.refactor_run import FileChange, Models, RefactorRequest, RefactorResult, run_refactor
from spark_lsp.handlers.code_actions import (
    REFACTOR_COMMAND,
    annotates_changes,
    creates_files,
    text_edits,
    versioned_edits,
)
from spark_lsp.handlers.lifecycle import show

USE_FAST_TIER = "Use the fast tier"
CANCEL = "Cancel"
ANNOTATION = "spark-refactor"
_NEIGHBOURS = 40


@dataclass(frozen=True, slots=True)
class RefactorArguments:
    """The single argument of `spark.refactor`: `{uri, range?, instruction}`."""

    uri: str
    instruction: str
    lines: tuple[int, int] | None


def parse_arguments(arguments: tuple[Any, ...]) -> RefactorArguments | str:
    """The command's argument, or what is wrong with it."""
    raw = arguments[0] if arguments else None
    if not isinstance(raw, dict) or not isinstance(raw.get("uri"), str):
        return f"{REFACTOR_COMMAND} needs one argument {{uri, range?, instruction}}."
    instruction = raw.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        return f"{REFACTOR_COMMAND} needs an instruction: say what should change."
    lines: tuple[int, int] | None = None
    selection = raw.get("range")
    try:
        if isinstance(selection, dict):
            first, last = int(selection["start"]["line"]), int(selection["end"]["line"])
            if selection["start"] != selection["end"]:
                if last > first and int(selection["end"].get("character", 1)) == 0:
                    last -= 1
                lines = (first, max(first, last))
    except (KeyError, TypeError, ValueError):
        return f"{REFACTOR_COMMAND}: the range is not an LSP range."
    return RefactorArguments(raw["uri"], instruction.strip(), lines)


def workspace_roots(ls: SparkLanguageServer) -> list[str]:
    """The workspace folders as resolved paths (the root URI when the client sent no folders)."""
    uris = [folder.uri for folder in ls.workspace.folders.values()]
    if not uris and ls.workspace.root_uri:
        uris = [ls.workspace.root_uri]
    paths = (to_fs_path(uri) for uri in uris)
    return [os.path.realpath(path) for path in paths if path]


class Progress:
    """Work-done progress for one refactor; cancelling it from the client calls `on_cancel`."""

    def __init__(self, ls: SparkLanguageServer) -> None:
        self._ls = ls
        self.token: types.ProgressToken | None = None
        self.on_cancel: Callable[[], object] | None = None

    async def begin(self, title: str) -> None:
        """Use the request's workDoneToken, or create a token when the client supports it."""
        ls = self._ls
        params = current_command.get()
        token = params.work_done_token if params is not None else None
        window = ls.client_capabilities.window
        if token is None and window is not None and window.work_done_progress:
            token = f"spark-refactor-{uuid.uuid4().hex[:12]}"
            try:
                await ls.work_done_progress.create_async(token)
            except Exception:
                token = None
        if token is None:
            return
        self.token = token
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
        )
        loop = asyncio.get_running_loop()
        # The cancel future is a concurrent one; hop back onto the loop to cancel the work.
        ls.work_done_progress.tokens[token].add_done_callback(
            lambda future: loop.call_soon_threadsafe(self._cancelled) if future.cancelled() else None
        )

    def _cancelled(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()

    def report(self, message: str, percentage: int) -> None:
        """Say what is happening now."""
        if self.token is not None:
            self._ls.work_done_progress.report(
                self.token,
                types.WorkDoneProgressReport(
                    message=message, percentage=min(100, percentage), cancellable=True
                ),
            )

    def end(self, message: str) -> None:
        """Close the progress (once)."""
        if self.token is not None:
            self._ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self._ls.work_done_progress.tokens.pop(self.token, None)
            self.token = None


class EditorFiles:
    """Files for a refactor: open documents from the session's snapshots, others from disk (off-loop)."""

    def __init__(self, ls: SparkLanguageServer, base: str, progress: Progress) -> None:
        self._ls = ls
        self._base = base
        self._progress = progress
        # The exact lines each file had when read, for the final edit's positions.
        self.lines: dict[str, tuple[str, ...]] = {}

    async def read(self, path: str) -> FileText:
        """The file's text (open document first); `exists=False` when it is not there."""
        uri = from_fs_path(path) or path
        exclusion = await self._ls.session.exclusion_for(uri)
        if exclusion is not None:
            # Raised as ValueError so the step fails with a clear reason and nothing is sent or written.
            raise ValueError(f"excluded from AI features: {exclusion.reason}")
        snapshot = self._ls.session.documents.snapshot(uri)
        if snapshot is not None:
            self.lines[path] = snapshot.lines
            return FileText(
                path, _plain(snapshot.text()), snapshot.language_id, snapshot.version, True, snapshot.eol
            )

        def load() -> str | None:
            try:
                with open(path, encoding="utf-8", newline="") as file:
                    return file.read()
            except FileNotFoundError:
                return None

        raw = await asyncio.to_thread(load)
        if raw is None:
            self.lines[path] = ("",)
            return FileText(path, "", language_for(path), None, False)
        lines = tuple(split_lines(raw))
        self.lines[path] = lines
        eol = "\r\n" if "\r\n" in raw else "\n"
        return FileText(path, _plain(raw), language_for(path), None, True, eol)

    async def neighbours(self, path: str) -> list[str]:
        """Up to 40 file names next to `path`, relative to the workspace root."""
        directory = os.path.dirname(path)

        def listing() -> list[str]:
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                return []
            files = [n for n in names if not n.startswith(".") and os.path.isfile(os.path.join(directory, n))]
            return [os.path.relpath(os.path.join(directory, n), self._base) for n in files[:_NEIGHBOURS]]

        return await asyncio.to_thread(listing)

    def report(self, message: str, percentage: int) -> None:
        """Forward to the work-done progress."""
        self._progress.report(message, percentage)


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _gpu_unavailable(ls: SparkLanguageServer) -> str | None:
    """Why the refactor route's first tier cannot serve now, or None when it can."""
    router = ls.session.router
    names = router.routes.get("refactor", ("gpu", "fast"))
    tier = router.tiers.get(names[0]) if names else None
    if tier is not None and tier.usable(router.now()):
        return None
    name = names[0] if names else "gpu"
    if tier is None or tier.provider is None:
        return f"the {name} tier is not configured (set SPARK_LSP_GPU_BASE_URL)"
    return f"the {name} tier is {tier.health(router.now())}" + (f" ({tier.detail})" if tier.detail else "")


async def _confirm_degraded(ls: SparkLanguageServer, why: str) -> bool:
    result = await ls.window_show_message_request_async(
        types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=f"spark-lsp: refactors run on the larger GPU model, but {why}. "
            "Use the fast tier instead (answers may be of lower quality)?",
            actions=[types.MessageActionItem(title=USE_FAST_TIER), types.MessageActionItem(title=CANCEL)],
        )
    )
    return result is not None and result.title == USE_FAST_TIER


def build_edit(
    ls: SparkLanguageServer, changes: tuple[FileChange, ...], files: EditorFiles, label: str
) -> types.WorkspaceEdit | str:
    """One workspace edit for every changed file (created files included), annotated for confirmation."""
    caps = ls.client_capabilities
    encoding = ls.session.encoding
    annotation = ANNOTATION if annotates_changes(caps) else None
    document_changes: list[
        types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile
    ] = []
    plain: dict[str, list[types.TextEdit]] = {}
    for change in changes:
        original = change.original
        uri = from_fs_path(original.path) or original.path
        if not original.exists:
            if not creates_files(caps):
                return f"the editor cannot create files, and the refactor creates {original.path}."
            document_changes.append(
                types.CreateFile(
                    uri=uri, options=types.CreateFileOptions(ignore_if_exists=False), annotation_id=annotation
                )
            )
            old_lines: tuple[str, ...] = ("",)
        else:
            old_lines = files.lines[original.path]
        new_lines = split_lines(change.new_text.replace("\n", original.eol))
        edits = text_edits(old_lines, line_edits(old_lines, new_lines), encoding, annotation)
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=original.version)
        document_changes.append(types.TextDocumentEdit(text_document=identifier, edits=edits))
        plain[uri] = [types.TextEdit(range=e.range, new_text=e.new_text) for e in edits]
    if not versioned_edits(caps):
        return types.WorkspaceEdit(changes=plain)
    annotations = None
    if annotation is not None:
        annotations = {
            annotation: types.ChangeAnnotation(label=label, needs_confirmation=True, description="spark-lsp")
        }
    return types.WorkspaceEdit(document_changes=document_changes, change_annotations=annotations)


def _stale(ls: SparkLanguageServer, changes: tuple[FileChange, ...]) -> str | None:
    """A file that changed in the editor since the refactor read it, if any."""
    documents = ls.session.documents
    for change in changes:
        original = change.original
        snapshot = documents.snapshot(from_fs_path(original.path) or original.path)
        if original.version is not None and (snapshot is None or snapshot.version != original.version):
            return original.path
        if original.version is None and snapshot is not None and _plain(snapshot.text()) != original.text:
            return original.path
    return None


async def _where(ls: SparkLanguageServer, uri: str) -> tuple[str, str, tuple[str, ...]] | str:
    """The file's resolved path, the root paths are relative to, and the folders files may be in."""
    path = await asyncio.to_thread(os.path.realpath, to_fs_path(uri) or uri)
    roots = workspace_roots(ls)
    if roots and not inside(path, roots):
        return f"{path} is outside the workspace folders; refactors only change files inside them."
    base = max((root for root in roots if inside(path, [root])), key=len, default=os.path.dirname(path))
    # Without workspace folders only the file itself may change.
    return path, base, tuple(roots) if roots else (path,)


def _models(ls: SparkLanguageServer) -> Models:
    session = ls.session
    settings = session.settings
    limits = deadline(settings, "refactor")
    return Models(
        router=session.router,
        stats=session.stats,
        counter=session.counter,
        deadlines=Deadlines(limits.first_token_ms / 1000.0, limits.total_ms / 1000.0),
        max_tokens=settings.refactor.max_tokens,
        temperature=settings.refactor.temperature,
        wants_prediction=lambda tier: predicted_outputs(settings, tier.model_settings),
        max_steps=settings.refactor.max_steps,
        file_tokens=settings.refactor.file_tokens,
    )


async def _apply(
    ls: SparkLanguageServer, outcome: RefactorResult, files: EditorFiles, label: str, progress: Progress
) -> str:
    """Send the one workspace edit (unless a file changed meanwhile); returns the progress' last word."""
    stats = ls.session.stats
    if not outcome.changes:
        show(ls, "spark-lsp: the refactor found nothing to change.", types.MessageType.Info)
        return "Nothing to change"
    stale = _stale(ls, outcome.changes)
    if stale is not None:
        show(ls, f"spark-lsp: {stale} changed during the refactor; nothing was changed. Run it again.")
        return "Stopped: a file changed meanwhile"
    edit = build_edit(ls, outcome.changes, files, label)
    if isinstance(edit, str):
        stats.count("refactor.failed")
        show(ls, f"spark-lsp: {edit} Nothing was changed.")
        return "Failed: nothing was changed"
    progress.report(f"Applying changes to {len(outcome.changes)} file(s)", 98)
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
    if not result.applied:
        show(ls, f"spark-lsp: the editor did not apply the refactor ({result.failure_reason}).")
        return "The editor did not apply the changes"
    stats.count("refactor.applied")
    return f"Changed {len(outcome.changes)} file(s)"


async def refactor(ls: SparkLanguageServer, arguments: tuple[Any, ...]) -> None:
    """Plan, run each step with progress, and apply everything in one `workspace/applyEdit` (or nothing)."""
    session = ls.session
    parsed = parse_arguments(arguments)
    if isinstance(parsed, str):
        show(ls, f"spark-lsp: {parsed}")
        return
    where = await _where(ls, parsed.uri)
    if isinstance(where, str):
        show(ls, f"spark-lsp: {where}")
        return
    path, base, allowed = where
    session.stats.count("refactor.requests")
    session.last_activity = time.monotonic()  # keeps the pooled connections warm
    await session.wait_until_ready()
    if not session.router.candidates_exist("refactor"):
        show(ls, "spark-lsp: no model is available for refactors (check the spark-lsp status and settings).")
        return
    why = _gpu_unavailable(ls)
    if why is not None and not await _confirm_degraded(ls, why):
        session.stats.count("refactor.declined")
        return
    await session.encoder_ready()
    progress = Progress(ls)
    await progress.begin("Spark: refactoring")
    files = EditorFiles(ls, base, progress)
    request = RefactorRequest(path, parsed.instruction, parsed.lines, allowed, base)
    work = asyncio.ensure_future(run_refactor(request, files, _models(ls)))
    progress.on_cancel = work.cancel
    ending = "Cancelled: nothing was changed"
    try:
        outcome = await work
        if isinstance(outcome, Failure):
            ending = "Failed: nothing was changed"
            session.stats.count("refactor.failed")
            show(ls, f"spark-lsp: the refactor stopped: {outcome.reason}. Nothing was changed.")
            return
        ending = await _apply(ls, outcome, files, f"AI refactor: {parsed.instruction}", progress)
    except asyncio.CancelledError:
        session.stats.count("refactor.cancelled")
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # `$/cancelRequest`: pygls answers RequestCancelled
    finally:
        work.cancel()
        progress.end(ending)


def register(server: SparkLanguageServer) -> None:
    """Register `spark.refactor`."""

    @server.command(REFACTOR_COMMAND)
    async def refactor_command(ls: SparkLanguageServer, *arguments: Any) -> None:
        await refactor(ls, arguments)
