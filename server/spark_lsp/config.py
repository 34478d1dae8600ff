"""Typed settings: defaults, environment, camelCase wire names, and validation errors as text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import attrs
import cattrs

PromptFormat = Literal["auto", "fim", "chat"]
FimTemplateName = Literal["qwen", "starcoder", "codellama", "deepseek"]
CompletionFallback = Literal["auto", "always", "never"]

_T = TypeVar("_T")


def _positive(_: object, attribute: attrs.Attribute[Any], value: int | float) -> None:
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: int | float) -> None:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"must be between 0 and 1, got {value!r}")


@attrs.frozen
class ModelSettings:
    """How to prompt one model: raw fill-in-the-middle or a chat hole-filling prompt."""

    prompt_format: PromptFormat = "auto"
    fim_template: FimTemplateName = "qwen"
    # Send the code being rewritten as a predicted output; None follows the global `predictedOutputs`.
    predicted_outputs: bool | None = None


@attrs.frozen
class InlineSettings:
    """Inline completion (ghost text) behaviour."""

    enabled: bool = True
    debounce_min_ms: int = attrs.field(default=25, validator=_non_negative)
    debounce_max_ms: int = attrs.field(default=350, validator=_non_negative)
    prompt_tokens: int = attrs.field(default=1536, validator=_positive)
    suffix_share: float = attrs.field(default=0.25, validator=_fraction)
    max_tokens_single_line: int = attrs.field(default=64, validator=_positive)
    max_tokens_multi_line: int = attrs.field(default=192, validator=_positive)
    max_lines: int = attrs.field(default=24, validator=_positive)
    temperature: float = attrs.field(default=0.0, validator=_non_negative)
    prefetch: bool = True
    completion_fallback: CompletionFallback = "auto"
    completion_deadline_ms: int = attrs.field(default=400, validator=_positive)


@attrs.frozen
class QuickfixSettings:
    """Quick-fixes and selection rewrites offered as code actions (fast tier, GPU tier on a bad answer)."""

    enabled: bool = True
    context_tokens: int = attrs.field(default=2000, validator=_positive)
    max_tokens: int = attrs.field(default=4096, validator=_positive)
    temperature: float = attrs.field(default=0.0, validator=_non_negative)


@attrs.frozen
class HoverSettings:
    """Hover explanations; off by default because each new symbol costs one fast-tier request."""

    enabled: bool = False
    deadline_ms: int = attrs.field(default=800, validator=_positive)
    context_tokens: int = attrs.field(default=800, validator=_positive)
    max_tokens: int = attrs.field(default=200, validator=_positive)
    cache_size: int = attrs.field(default=256, validator=_positive)


@attrs.frozen
class RefactorSettings:
    """Multi-step refactors (`spark.refactor`, GPU tier)."""

    max_steps: int = attrs.field(default=8, validator=_positive)
    file_tokens: int = attrs.field(default=12000, validator=_positive)
    max_tokens: int = attrs.field(default=8192, validator=_positive)
    temperature: float = attrs.field(default=0.0, validator=_non_negative)


@attrs.frozen
class DeadlineSettings:
    """How long one task may wait: for a first token from a tier, and for the whole answer."""

    first_token_ms: int = attrs.field(default=500, validator=_positive)
    total_ms: int = attrs.field(default=1500, validator=_positive)


def _default_deadlines() -> dict[str, DeadlineSettings]:
    # Inline ghost text that comes late is worse than none; a quick-fix or a refactor is worth waiting for.
    return {
        "inline": DeadlineSettings(500, 1500),
        "hover": DeadlineSettings(600, 2500),
        "quickfix": DeadlineSettings(1500, 15000),
        "refactor": DeadlineSettings(10000, 180000),
    }


@attrs.frozen
class ProviderSettings:
    """An extra OpenAI-compatible endpoint, usable by name in `routing.routes`."""

    name: str = ""
    base_url: str = ""
    model: str | None = None
    api_key_env: str | None = None


@attrs.frozen
class RoutingSettings:
    """Which tiers serve which task, and how requests fall back between them."""

    fallback: bool = True
    hedge: bool = False
    routes: dict[str, list[str]] = attrs.Factory(dict)
    deadlines: dict[str, DeadlineSettings] = attrs.Factory(_default_deadlines)


@attrs.frozen
class Settings:
    """Everything the server can be configured with (section `sparkLsp`)."""

    fast_model: str | None = None
    fast_base_url: str | None = None
    fast_api_key: str | None = attrs.field(default=None, repr=False)
    gpu_model: str | None = None
    gpu_base_url: str | None = None
    gpu_api_key: str | None = attrs.field(default=None, repr=False)
    ca_bundle: str | None = None
    request_timeout_s: float = attrs.field(default=20.0, validator=_positive)
    keep_warm_s: float = attrs.field(default=30.0, validator=_non_negative)
    inline: InlineSettings = attrs.Factory(InlineSettings)
    quickfix: QuickfixSettings = attrs.Factory(QuickfixSettings)
    hover: HoverSettings = attrs.Factory(HoverSettings)
    refactor: RefactorSettings = attrs.Factory(RefactorSettings)
    # Send the code being rewritten as a predicted output on chat requests (per model: `models.*`).
    predicted_outputs: bool = True
    routing: RoutingSettings = attrs.Factory(RoutingSettings)
    # Globs of files never sent to any model (on top of .gitignore, .sparkignore and secret files).
    exclude: list[str] = attrs.Factory(list)
    providers: list[ProviderSettings] = attrs.Factory(list)
    models: dict[str, ModelSettings] = attrs.Factory(dict)
    log_level: Literal["error", "warning", "info", "debug", "trace"] = "info"
    # Benchmarks only: turn every latency optimisation off to measure what each one buys.
    naive_baseline: bool = False


ENVIRONMENT_KEYS: Mapping[str, str] = {
    "fast_model": "SPARK_LSP_FAST_MODEL",
    "fast_base_url": "CEREBRAS_BASE_URL",
    "fast_api_key": "CEREBRAS_API_KEY",
    "gpu_model": "SPARK_LSP_GPU_MODEL",
    "gpu_base_url": "SPARK_LSP_GPU_BASE_URL",
    "gpu_api_key": "SPARK_LSP_GPU_API_KEY",
    "ca_bundle": "SPARK_LSP_CA_BUNDLE",
}

_converter = cattrs.Converter(forbid_extra_keys=True)


def camel(name: str) -> str:
    """Python snake_case field name -> the camelCase key used on the wire."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _structure_value(value: object, hint: Any, path: str, problems: list[str]) -> tuple[bool, Any]:
    """Structure one leaf or nested value; on failure record why and report it unusable."""
    if attrs.has(hint):
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected an object, got {_describe(value)}")
            return False, None
        return True, _structure_class(value, hint, path, problems)
    if get_origin(hint) is dict:
        _, item_hint = get_args(hint)
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected an object, got {_describe(value)}")
            return False, None
        items: dict[str, Any] = {}
        for key, item in value.items():
            ok, structured = _structure_value(item, item_hint, f"{path}.{key}", problems)
            if ok:
                items[str(key)] = structured
        return True, items
    if get_origin(hint) is list:
        (item_hint,) = get_args(hint)
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {_describe(value)}")
            return False, None
        structured_items = []
        for position, item in enumerate(value):
            ok, structured = _structure_value(item, item_hint, f"{path}[{position}]", problems)
            if ok:
                structured_items.append(structured)
        return True, structured_items
    # Booleans are ints in Python: refuse them where a number is expected, and refuse numbers
    # where a boolean is expected, so `"debounceMaxMs": true` is reported instead of becoming 1.
    expected = (
        {a for a in get_args(hint) if a is not type(None)} if get_origin(hint) is not Literal else set()
    )
    if hint in (int, float) or expected & {int, float}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path}: expected a number, got {_describe(value)}")
            return False, None
        if hint is int and isinstance(value, float) and not value.is_integer():
            problems.append(f"{path}: expected a whole number, got {_describe(value)}")
            return False, None
    if (hint is bool or (bool in expected and value is not None)) and not isinstance(value, bool):
        problems.append(f"{path}: expected true or false, got {_describe(value)}")
        return False, None
    if (hint is str or str in expected) and value is not None and not isinstance(value, str):
        problems.append(f"{path}: expected a string, got {_describe(value)}")
        return False, None
    try:
        return True, _converter.structure(value, hint)
    except Exception:
        if get_origin(hint) is Literal:
            choices = ", ".join(repr(c) for c in get_args(hint))
            problems.append(f"{path}: expected one of {choices}, got {_describe(value)}")
        else:
            problems.append(f"{path}: invalid value {_describe(value)}")
        return False, None


def _structure_fields(
    raw: Mapping[str, Any], cls: type[Any], path: str, problems: list[str]
) -> dict[str, Any]:
    """The accepted fields of `cls` from `raw`, checked one by one so one bad value spoils nothing else."""
    hints = get_type_hints(cls)
    fields = {camel(f.name): f for f in attrs.fields(cls)}
    accepted: dict[str, Any] = {}
    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            problems.append(f"{path}.{key}: unknown setting (ignored)")
            continue
        if value is None and field.default is None:
            accepted[field.name] = None
            continue
        ok, structured = _structure_value(value, hints[field.name], f"{path}.{key}", problems)
        if not ok:
            continue
        if field.validator is not None:
            try:
                field.validator(None, field, structured)
            except ValueError as error:
                problems.append(f"{path}.{key}: {error}")
                continue
        accepted[field.name] = structured
    return accepted


def _structure_class(raw: Mapping[str, Any], cls: type[_T], path: str, problems: list[str]) -> _T:
    """Build `cls` from `raw`, keeping the default of every field whose value is unusable."""
    return cls(**_structure_fields(raw, cls, path, problems))


def _cross_check(inline: InlineSettings, problems: list[str]) -> InlineSettings:
    if inline.debounce_min_ms > inline.debounce_max_ms:
        problems.append(
            "sparkLsp.inline.debounceMinMs: must not exceed debounceMaxMs "
            f"({inline.debounce_min_ms} > {inline.debounce_max_ms}); using the defaults"
        )
        defaults = InlineSettings()
        return attrs.evolve(
            inline, debounce_min_ms=defaults.debounce_min_ms, debounce_max_ms=defaults.debounce_max_ms
        )
    return inline


def parse_settings(raw: object, environ: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Settings from the client's `sparkLsp` object over the environment; problems as user-facing text.

    Explicit settings win over environment variables, which win over defaults. A bad value is
    reported and its default kept: a typo must never stop the server.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    from_env = {
        camel(field): environ[key] for field, key in ENVIRONMENT_KEYS.items() if environ.get(key, "").strip()
    }
    accepted = _structure_fields(from_env, Settings, "environment", problems)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(f"sparkLsp: expected an object, got {_describe(raw)}")
        raw = {}
    from_client = _structure_fields(raw, Settings, "sparkLsp", problems)
    # An empty string or null in the client's settings means "not set here": keep the environment's.
    accepted.update({name: value for name, value in from_client.items() if value not in (None, "")})
    merged = Settings(**accepted)
    merged = attrs.evolve(merged, inline=_cross_check(merged.inline, problems))
    return merged, problems


def deadline(settings: Settings, task: str) -> DeadlineSettings:
    """The deadlines of a task (settings over the defaults)."""
    return settings.routing.deadlines.get(task) or _default_deadlines().get(task) or DeadlineSettings()


def predicted_outputs(settings: Settings, model: ModelSettings) -> bool:
    """Whether requests to a model carry the rewritten code as a predicted output."""
    return settings.predicted_outputs if model.predicted_outputs is None else model.predicted_outputs


def model_settings(settings: Settings, model: str) -> ModelSettings:
    """The prompting settings for one model (exact name first, then the `*` entry, then defaults)."""
    return settings.models.get(model) or settings.models.get("*") or ModelSettings()
