"""Logging policy: a trace level for prompts and completions, and API keys scrubbed from every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

TRACE = 5
logging.addLevelName(TRACE, "TRACE")
_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
_LEVELS["trace"] = TRACE
logger = logging.getLogger("spark_lsp")


class SecretScrubber(logging.Filter):
    """Replaces configured secrets (API keys) in log records, whatever logged them (us, httpx, the SDK)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def set_secrets(self, secrets: Iterable[str | None]) -> None:
        """The strings to hide; short ones are ignored (they would mangle unrelated text)."""
        self._secrets = tuple(sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            scrubbed = self.scrub(message)
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.scrub(record.exc_text)
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return True


class ClientErrorsOnOneLine(logging.Filter):
    """pygls logs a full traceback for every malformed message a client sends; that is the client's
    error, not ours, so it becomes one line (and real tracebacks stay rare enough to be noticed)."""

    _NOISE = ("Unable to handle message", "Unable to deserialize message")

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("pygls") or not str(record.msg).startswith(self._NOISE):
            return True
        if record.exc_info:
            error = record.exc_info[1]
            reason = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        else:
            # Some paths pass the formatted traceback as an argument: keep only its last line.
            lines = [line.strip() for line in record.getMessage().splitlines() if line.strip()]
            reason = lines[-1][:200] if len(lines) > 1 else ""
        record.msg = f"{str(record.msg).splitlines()[0]}: {reason}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


SCRUBBER = SecretScrubber()


def install(handler: logging.Handler) -> None:
    """Scrub secrets and quieten client errors on a handler (every handler we add goes through here)."""
    handler.addFilter(ClientErrorsOnOneLine())
    handler.addFilter(SCRUBBER)


def set_level(name: str) -> None:
    """Apply `logLevel`; turning trace on says loudly what it means."""
    level = _LEVELS.get(name, logging.INFO)
    previous = logger.level
    logger.setLevel(level)
    if level <= TRACE < previous or (level <= TRACE and previous == logging.NOTSET):
        logger.warning(
            "trace logging is ON: prompts sent to models and their answers (your code) "
            "are written to this log"
        )


def trace(message: str, *args: object) -> None:
    """Log prompt/completion content, only at the explicit trace level."""
    if logger.isEnabledFor(TRACE):
        logger.log(TRACE, message, *args)
