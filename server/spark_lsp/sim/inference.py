"""Parses and validates ``/v1/completions`` and ``/v1/chat/completions`` request bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spark_lsp.sim.holes import Hole, hole_in_chat, hole_in_completion_prompt, message_text
from spark_lsp.sim.script import Endpoint
from spark_lsp.sim.tokens import count_tokens

# Chat templates wrap every message in a few special tokens; OpenAI documents about this many.
TOKENS_PER_MESSAGE = 4


class BadRequest(Exception):
    """The body is not a valid request; the message goes back to the client in a 400 error."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class InferenceRequest:
    endpoint: Endpoint
    model: str
    stream: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    prompt: Any  # the raw prompt string or messages list, kept for the request log
    prompt_text: str  # what a script entry's ``match`` is tested against
    prompt_tokens: int
    hole: Hole | None
    # Predicted output (chat only): text the answer is expected to mostly repeat.
    prediction: str | None = None


def parse_inference(endpoint: Endpoint, raw: bytes) -> InferenceRequest:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(body, Mapping):
        raise BadRequest("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model is required", "model")
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise BadRequest("stream must be a boolean", "stream")
    n = body.get("n")
    if n not in (None, 1):
        raise BadRequest("the simulator supports only n=1", "n")
    if endpoint == "chat":
        prompt, text, tokens, hole = _chat_prompt(body)
    else:
        prompt, text, tokens, hole = _completion_prompt(body)
    return InferenceRequest(
        endpoint=endpoint,
        model=model,
        stream=stream,
        max_tokens=_max_tokens(body),
        stop=_stop(body.get("stop")),
        prompt=prompt,
        prompt_text=text,
        prompt_tokens=tokens,
        hole=hole,
        prediction=_prediction(endpoint, body.get("prediction")),
    )


def _completion_prompt(body: Mapping[str, Any]) -> tuple[Any, str, int, Hole | None]:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string", "prompt")
    return prompt, prompt, count_tokens(prompt), hole_in_completion_prompt(prompt)


def _chat_prompt(body: Mapping[str, Any]) -> tuple[Any, str, int, Hole | None]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list", "messages")
    for message in messages:
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise BadRequest("each message needs a role", "messages")
    texts = [message_text(message.get("content")) for message in messages]
    tokens = sum(count_tokens(text) + TOKENS_PER_MESSAGE for text in texts)
    return messages, "\n".join(texts), tokens, hole_in_chat(messages)


def _prediction(endpoint: Endpoint, value: object) -> str | None:
    """The predicted text of ``{"type": "content", "content": str | [{"type": "text", "text": str}]}``."""
    if value is None:
        return None
    if endpoint != "chat":
        raise BadRequest("prediction is only supported on chat completions", "prediction")
    if not isinstance(value, Mapping) or value.get("type") != "content":
        raise BadRequest('prediction must be {"type": "content", "content": ...}', "prediction")
    content = value.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, Mapping) and isinstance(part.get("text"), str) for part in content
    ):
        return "".join(str(part["text"]) for part in content)
    raise BadRequest("prediction.content must be a string or a list of text parts", "prediction")


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadRequest(f"{key} must be a non-negative integer", key)
        return value
    return None


def _stop(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise BadRequest("stop must be a string or a list of strings", "stop")
