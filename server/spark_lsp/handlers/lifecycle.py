"""initialize / initialized / configuration changes / shutdown: settings and provider set-up."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import ServerCapabilitiesBuilder

from spark_lsp import logs
from spark_lsp.config import parse_settings
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


def send_status(server: SparkLanguageServer) -> None:
    """Notify the client of each tier's health (`spark/status`)."""
    server.protocol.notify(STATUS_NOTIFICATION, {"tiers": server.session.tiers_snapshot()})


def apply_settings(server: SparkLanguageServer, raw: object) -> bool:
    """Validate and install settings; report problems and keep defaults. Returns whether providers changed."""
    settings, problems = parse_settings(raw)
    if problems:
        show(server, "spark-lsp: some settings were ignored:\n" + "\n".join(problems))
    session = server.session
    previous = session.settings
    session.settings = settings
    logs.set_level(settings.log_level)
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
        pulled = await pull_configuration(ls)
        if pulled is not None:
            apply_settings(ls, _merge(initial_options["value"], pulled))
        await start_providers(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SparkLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        pulled = await pull_configuration(ls)
        raw = pulled
        if raw is None and isinstance(params.settings, dict):
            raw = params.settings.get(SECTION, params.settings)
        if apply_settings(ls, _merge(initial_options["value"], raw)):
            await start_providers(ls)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SparkLanguageServer, params: None) -> None:
        await ls.session.close_providers()
