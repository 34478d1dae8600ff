"""initialize / initialized / configuration changes / shutdown: settings and provider set-up."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import ServerCapabilitiesBuilder

from spark_lsp import logs
from spark_lsp.client_log import CLIENT_LOG
from spark_lsp.config import parse_settings
from spark_lsp.engine.exclusion import WATCH_GLOBS
from spark_lsp.engine.positions import PositionEncoding

if TYPE_CHECKING:
    from spark_lsp.app import SparkLanguageServer

logger = logging.getLogger(__name__)
SECTION = "sparkLsp"
STATUS_NOTIFICATION = "spark/status"


def show(
    server: SparkLanguageServer, message: str, kind: types.MessageType = types.MessageType.Warning
) -> None:
    """Tell the user something once, in the editor and in the log."""
    logger.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, "%s", message)
    server.window_show_message(types.ShowMessageParams(type=kind, message=message))


def send_status(server: SparkLanguageServer, document: dict[str, Any] | None = None) -> None:
    """Notify the client of each tier's health (`spark/status`), and why a document gets nothing."""
    status: dict[str, Any] = {"tiers": server.session.tiers_snapshot()}
    if document is not None:
        status["document"] = document
    server.protocol.notify(STATUS_NOTIFICATION, status)


async def excluded(server: SparkLanguageServer, uri: str) -> bool:
    """Whether `uri` must not be sent to any model; the first time, the client's status says why."""
    session = server.session
    exclusion = await session.exclusion_for(uri)
    if exclusion is None:
        return False
    session.stats.count("requests.excluded")
    if session.first_time_excluded(uri):
        send_status(server, {"uri": uri, "excluded": True, "reason": exclusion.reason})
    return True


def apply_settings(server: SparkLanguageServer, raw: object) -> bool:
    """Validate and install settings; report problems and keep defaults. Returns whether providers changed."""
    settings, problems = parse_settings(raw)
    if problems:
        show(server, "spark-lsp: some settings were ignored:\n" + "\n".join(problems))
    session = server.session
    previous = session.settings
    session.settings = settings
    logs.set_level(settings.log_level)
    session.configure_exclusion()
    logs.SCRUBBER.set_secrets(
        [settings.fast_api_key, settings.gpu_api_key]
        + [os.environ.get(p.api_key_env) for p in settings.providers if p.api_key_env]
    )
    provider_fields = (
        "fast_model",
        "fast_base_url",
        "fast_api_key",
        "gpu_model",
        "gpu_base_url",
        "gpu_api_key",
        "providers",
        "routing",
        "ca_bundle",
        "request_timeout_s",
        "models",
        "naive_baseline",
    )
    return any(getattr(previous, name) != getattr(settings, name) for name in provider_fields)


async def start_providers(server: SparkLanguageServer) -> None:
    """(Re)create and warm the providers, telling the user what is missing."""
    session = server.session
    session.providers_ready.clear()
    try:
        for message in await session.configure_providers():
            show(server, message, types.MessageType.Info)
        for message in await session.warm_tiers():
            show(server, message)
    finally:
        session.providers_ready.set()


async def pull_configuration(server: SparkLanguageServer) -> object | None:
    """The `sparkLsp` section from `workspace/configuration`, when the client supports it."""
    workspace = server.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return None
    try:
        result = await server.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )
    except Exception as error:
        logger.warning("workspace/configuration failed: %s", error)
        return None
    return result[0] if result else None


async def watch_ignore_files(server: SparkLanguageServer) -> None:
    """Ask the client to tell us when ignore files change (if it can register watchers dynamically)."""
    workspace = server.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if watched is None or not watched.dynamic_registration:
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCH_GLOBS]
    )
    registration = types.Registration(
        id="spark-ignore-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
    )
    try:
        await server.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
    except Exception as error:
        logger.info(
            "the client did not accept file watchers (%s); ignore-file edits apply after a restart", error
        )


HOVER_REGISTRATION_ID = "spark-hover"


async def sync_hover_registration(server: SparkLanguageServer) -> None:
    """Register hover with the client while it is enabled, unregister it when it is turned off."""
    session = server.session
    enabled = session.settings.hover.enabled
    try:
        if enabled and session.hover_registration == "dynamic":
            registration = types.Registration(
                id=HOVER_REGISTRATION_ID,
                method=types.TEXT_DOCUMENT_HOVER,
                register_options=types.HoverRegistrationOptions(document_selector=None),
            )
            await server.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
            session.hover_registration = "registered"
        elif not enabled and session.hover_registration == "registered":
            unregistration = types.Unregistration(id=HOVER_REGISTRATION_ID, method=types.TEXT_DOCUMENT_HOVER)
            await server.client_unregister_capability_async(
                types.UnregistrationParams(unregisterations=[unregistration])
            )
            session.hover_registration = "dynamic"
    except Exception as error:
        logger.info("could not change the hover registration: %s", error)


def _merge(initial: Any, pulled: Any) -> Any:
    if isinstance(initial, dict) and isinstance(pulled, dict):
        return {**initial, **pulled}
    return pulled if pulled is not None else initial


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


async def exit_when_parent_dies(pid: int, every_s: float = 3.0) -> None:
    """End the server when the editor that started it is gone (LSP's `processId`), even if stdin
    stays open (a grandchild may hold it)."""
    while True:
        await asyncio.sleep(every_s)
        if not _alive(pid):
            logger.warning("the client process %d is gone; exiting", pid)
            os._exit(0)  # nothing left to answer; don't wait on stdin that may never close


def register(server: SparkLanguageServer) -> None:
    """Register lifecycle handlers."""
    from spark_lsp.handlers import completion

    initial_options: dict[str, Any] = {"value": None}

    @server.feature(types.INITIALIZE)
    def initialize(ls: SparkLanguageServer, params: types.InitializeParams) -> None:
        session = ls.session
        session.router.on_change = lambda: send_status(ls)
        if params.process_id:
            session.keep(asyncio.ensure_future(exit_when_parent_dies(params.process_id)))
        session.start_loading_encoder()
        encoding = ServerCapabilitiesBuilder.choose_position_encoding(params.capabilities)
        session.encoding = PositionEncoding(getattr(encoding, "value", encoding))
        text_document = params.capabilities.text_document
        session.client_has_inline_completion = bool(text_document and text_document.inline_completion)
        folders = params.workspace_folders or []
        session.workspace_roots = [folder.uri for folder in folders] or (
            [params.root_uri] if params.root_uri else ([params.root_path] if params.root_path else [])
        )
        options = params.initialization_options
        if isinstance(options, dict) and SECTION in options and len(options) == 1:
            options = options[SECTION]
        initial_options["value"] = options
        apply_settings(ls, options)
        fallback = session.settings.inline.completion_fallback
        if fallback == "always" or (fallback == "auto" and not session.client_has_inline_completion):
            completion.register_completion(ls)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: SparkLanguageServer, params: types.InitializedParams) -> None:
        if CLIENT_LOG in logging.getLogger().handlers:
            CLIENT_LOG.attach(ls)
        pulled = await pull_configuration(ls)
        if pulled is not None:
            apply_settings(ls, _merge(initial_options["value"], pulled))
        await watch_ignore_files(ls)
        await sync_hover_registration(ls)
        await start_providers(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SparkLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        pulled = await pull_configuration(ls)
        raw = pulled
        if raw is None and isinstance(params.settings, dict):
            raw = params.settings.get(SECTION, params.settings)
        providers_changed = apply_settings(ls, _merge(initial_options["value"], raw))
        await sync_hover_registration(ls)
        if providers_changed:
            await start_providers(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: SparkLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.session.ignore_files_changed([change.uri for change in params.changes])

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: SparkLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        session = ls.session
        removed = {folder.uri for folder in params.event.removed}
        roots = [root for root in session.workspace_roots if root not in removed]
        session.workspace_roots = roots + [folder.uri for folder in params.event.added]
        session.configure_exclusion()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SparkLanguageServer, params: None) -> None:
        await ls.session.close_providers()
