"""JSON bodies, SSE framing and headers shaped like Cerebras / OpenAI-compatible responses."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from spark_lsp.sim.script import Endpoint

SYSTEM_FINGERPRINT = "fp_spark_lsp_sim"
OWNED_BY = "spark-lsp-sim"
DONE_EVENT = b"data: [DONE]\n\n"
Json = dict[str, Any]

# Plausible constants: the real service sends these on every /v1 response.
RATE_LIMIT_HEADERS: dict[str, str] = {
    "x-ratelimit-limit-requests-day": "1000000",
    "x-ratelimit-limit-tokens-minute": "10000000",
    "x-ratelimit-remaining-requests-day": "999000",
    "x-ratelimit-remaining-tokens-minute": "9990000",
    "x-ratelimit-reset-requests-day": "43200.0",
    "x-ratelimit-reset-tokens-minute": "30.0",
}

_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "bad_request"),
    401: ("invalid_request_error", "wrong_api_key"),
    402: ("payment_required", "payment_required"),
    403: ("permission_denied", "forbidden"),
    404: ("not_found_error", "model_not_found"),
    408: ("timeout", "request_timeout"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("too_many_requests_error", "request_quota_exceeded"),
    500: ("server_error", "internal_server_error"),
    502: ("server_error", "bad_gateway"),
    503: ("service_unavailable", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}


def error_body(status: int, message: str, *, code: str | None = None, param: str | None = None) -> Json:
    """OpenAI-style ``{"error": {"message", "type", "code", "param"}}`` for an HTTP status."""
    kind, default_code = _ERROR_KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", str(status))
    )
    return {"error": {"message": message, "type": kind, "param": param, "code": code or default_code}}


def encode_json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sse_event(body: object) -> bytes:
    return b"data: " + encode_json(body) + b"\n\n"


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def models_list(models: tuple[str, ...], created: int) -> Json:
    return {"object": "list", "data": [model_card(name, created) for name in models]}


def model_card(name: str, created: int) -> Json:
    return {"id": name, "object": "model", "created": created, "owned_by": OWNED_BY}


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    # Set only when the request carried a prediction, as OpenAI and Cerebras report them.
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None

    def to_json(self) -> Json:
        body: Json = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        if self.accepted_prediction_tokens is not None:
            body["completion_tokens_details"] = {
                "accepted_prediction_tokens": self.accepted_prediction_tokens,
                "rejected_prediction_tokens": self.rejected_prediction_tokens or 0,
            }
        return body


@dataclass
class Timings:
    """Cerebras ``time_info``: queue, prompt (prefill) and completion seconds."""

    started_wall: float
    prompt_s: float
    completion_s: float

    def to_json(self) -> Json:
        return {
            "queue_time": 0.0001,
            "prompt_time": round(self.prompt_s, 6),
            "completion_time": round(self.completion_s, 6),
            "total_time": round(self.prompt_s + self.completion_s + 0.0001, 6),
            "created": self.started_wall,
        }


@dataclass
class ResponseShaper:
    """Builds every body of one completion, so all chunks share id, model and creation time."""

    endpoint: Endpoint
    model: str
    id: str = ""
    created: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self) -> None:
        if not self.id:
            prefix = "chatcmpl" if self.endpoint == "chat" else "cmpl"
            self.id = f"{prefix}-{uuid.uuid4()}"

    def _envelope(self, obj: str) -> Json:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def role_chunk(self) -> Json:
        """The first chat chunk: it carries only the assistant role, as OpenAI and Cerebras send it."""
        body = self._envelope("chat.completion.chunk")
        body["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
        return body

    def text_chunk(self, text: str) -> Json:
        if self.endpoint == "chat":
            body = self._envelope("chat.completion.chunk")
            body["choices"] = [{"index": 0, "delta": {"content": text}, "finish_reason": None}]
        else:
            body = self._envelope("text_completion")
            body["choices"] = [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]
        return body

    def final_chunk(self, finish_reason: Literal["stop", "length"], usage: Usage, timings: Timings) -> Json:
        if self.endpoint == "chat":
            body = self._envelope("chat.completion.chunk")
            body["choices"] = [{"index": 0, "delta": {}, "finish_reason": finish_reason}]
        else:
            body = self._envelope("text_completion")
            body["choices"] = [{"index": 0, "text": "", "logprobs": None, "finish_reason": finish_reason}]
        body["usage"] = usage.to_json()
        body["time_info"] = timings.to_json()
        return body

    def full_response(
        self, text: str, finish_reason: Literal["stop", "length"], usage: Usage, timings: Timings
    ) -> Json:
        if self.endpoint == "chat":
            body = self._envelope("chat.completion")
            message = {"role": "assistant", "content": text}
            body["choices"] = [{"index": 0, "message": message, "finish_reason": finish_reason}]
        else:
            body = self._envelope("text_completion")
            body["choices"] = [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}]
        body["usage"] = usage.to_json()
        body["time_info"] = timings.to_json()
        return body

    def error_event(self) -> Json:
        """A mid-stream error event in the shape OpenAI-compatible servers (and the Cerebras SDK) use."""
        body = error_body(500, "The simulated upstream failed mid-stream.", code="internal_server_error")
        body["status_code"] = 500
        return body
