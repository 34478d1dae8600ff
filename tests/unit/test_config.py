"""Settings: camelCase, environment, validation per field."""

from __future__ import annotations

from spark_lsp.config import ModelSettings, Settings, camel, model_settings, parse_settings


def test_camel_case_names() -> None:
    assert camel("fast_model") == "fastModel"
    assert camel("debounce_min_ms") == "debounceMinMs"


def test_defaults_without_anything() -> None:
    settings, problems = parse_settings(None, {})
    assert settings == Settings()
    assert problems == []


def test_environment_supplies_provider_settings() -> None:
    env = {"CEREBRAS_API_KEY": "k", "CEREBRAS_BASE_URL": "http://x", "SPARK_LSP_FAST_MODEL": "m"}
    settings, problems = parse_settings({}, env)
    assert (settings.fast_api_key, settings.fast_base_url, settings.fast_model) == ("k", "http://x", "m")
    assert problems == []


def test_client_settings_win_over_environment_but_empty_values_do_not() -> None:
    env = {"SPARK_LSP_FAST_MODEL": "env-model", "CEREBRAS_API_KEY": "env-key"}
    settings, _ = parse_settings({"fastModel": "client-model", "fastApiKey": ""}, env)
    assert settings.fast_model == "client-model"
    assert settings.fast_api_key == "env-key"


def test_each_bad_value_is_reported_and_keeps_its_default() -> None:
    raw = {
        "inline": {"debounceMaxMs": "x", "enabled": 1, "maxLines": 0, "temperature": 0.3, "nope": True},
        "logLevel": "loud",
        "models": {"good": {"promptFormat": "fim", "fimTemplate": "starcoder"}, "bad": {"promptFormat": 3}},
        "requestTimeoutS": True,
    }
    settings, problems = parse_settings(raw, {})
    assert settings.inline.temperature == 0.3
    assert (
        settings.inline.debounce_max_ms == 350 and settings.inline.enabled and settings.inline.max_lines == 24
    )
    assert settings.log_level == "info"
    assert settings.request_timeout_s == 20.0
    assert settings.models["good"] == ModelSettings("fim", "starcoder")
    assert settings.models["bad"] == ModelSettings()
    text = "\n".join(problems)
    for key in (
        "debounceMaxMs",
        "inline.enabled",
        "maxLines",
        "inline.nope",
        "logLevel",
        "models.bad.promptFormat",
    ):
        assert key in text
    assert "requestTimeoutS" in text
    assert len(problems) == 7


def test_not_an_object_is_reported() -> None:
    settings, problems = parse_settings(["x"], {})
    assert settings == Settings()
    assert problems == ["sparkLsp: expected an object, got ['x']"]


def test_inconsistent_debounce_bounds_fall_back_to_defaults() -> None:
    settings, problems = parse_settings({"inline": {"debounceMinMs": 500, "debounceMaxMs": 100}}, {})
    assert (settings.inline.debounce_min_ms, settings.inline.debounce_max_ms) == (25, 350)
    assert "debounceMinMs" in problems[0]


def test_api_keys_never_appear_in_reprs() -> None:
    settings, _ = parse_settings({"fastApiKey": "secret-123", "gpuApiKey": "secret-456"}, {})
    assert "secret" not in repr(settings)


def test_model_settings_lookup() -> None:
    settings, _ = parse_settings(
        {"models": {"a": {"promptFormat": "chat"}, "*": {"promptFormat": "fim"}}}, {}
    )
    assert model_settings(settings, "a").prompt_format == "chat"
    assert model_settings(settings, "other").prompt_format == "fim"
    assert model_settings(Settings(), "x") == ModelSettings()
