"""The pure parts of hover explanations and multi-step refactors, and their settings."""

from __future__ import annotations

import os
from pathlib import Path

from spark_lsp.config import ModelSettings, Settings, parse_settings, predicted_outputs
from spark_lsp.engine.checked_generation import Failure
from spark_lsp.engine.documents import split_lines
from spark_lsp.engine.hover import HoverCache, clean_explanation, hover_messages, hover_target, word_at
from spark_lsp.engine.refactor import FileText, Plan, interpret_step, parse_plan, resolve_path
from spark_lsp.engine.tokens import LineTokenCounter

SOURCE = "import os\n\n\ndef home():\n    base = os.path.expanduser('~')\n    return base\n\n\n\n"
COUNTER = LineTokenCounter()


def test_word_at_takes_the_identifier_touching_the_cursor() -> None:
    assert word_at("x = foo_bar(1)", 6) == (4, 11)
    assert word_at("x = foo_bar(1)", 11) == (4, 11)  # right after it
    assert word_at("x = (1)", 5) is None


def test_hover_target_is_the_dotted_expression_up_to_the_word() -> None:
    lines = split_lines(SOURCE)
    target = hover_target(lines, 4, 24, "python", COUNTER, 800)  # on `expanduser`
    assert target is not None
    assert (target.text, target.kind, target.start, target.end) == ("os.path.expanduser", "symbol", 11, 29)
    assert target.scope_text.startswith("def home():")
    on_path = hover_target(lines, 4, 17, "python", COUNTER, 800)
    assert on_path is not None and on_path.text == "os.path"


def test_keywords_and_blank_lines() -> None:
    lines = split_lines(SOURCE)
    on_return = hover_target(lines, 5, 6, "python", COUNTER, 800)
    assert on_return is not None and (on_return.kind, on_return.text) == ("line", "return base")
    assert hover_target(lines, 7, 0, "python", COUNTER, 800) is None


def test_the_cache_key_changes_with_the_context() -> None:
    lines = split_lines(SOURCE)
    first = hover_target(lines, 4, 24, "python", COUNTER, 800)
    changed = hover_target(
        split_lines(SOURCE.replace("return base", "return base + '/'")), 4, 24, "python", COUNTER, 800
    )
    same = hover_target(lines, 4, 26, "python", COUNTER, 800)
    assert first is not None and changed is not None and same is not None
    assert first.key == same.key != changed.key
    question = hover_messages(first)[1]["content"]
    assert question.endswith("Explain `os.path.expanduser` on line 5: `base = os.path.expanduser('~')`.")


def test_explanations_are_cleaned_and_kept_short() -> None:
    assert (
        clean_explanation("<think>hmm</think>\n```markdown\nIt **expands** `~`.\n```")
        == "It **expands** `~`."
    )
    assert clean_explanation("  ") is None
    long = "A sentence. " * 200
    cleaned = clean_explanation(long)
    assert cleaned is not None and len(cleaned) <= 900 and cleaned.endswith(".")


def test_the_hover_cache_drops_the_least_recently_used() -> None:
    cache = HoverCache(capacity=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and len(cache) == 2


# Refactors -------------------------------------------------------------------------------------


def test_a_plan_is_read_from_fenced_or_bare_json() -> None:
    answer = 'Plan:\n```json\n{"summary": "s", "steps": [{"file": "a.py", "description": "d"}]}\n```'
    plan = parse_plan(answer, 4)
    assert isinstance(plan, Plan) and plan.steps[0].file == "a.py" and plan.summary == "s"
    bare = parse_plan('{"steps": [{"file": "b.py", "description": ""}]} trailing', 4)
    assert isinstance(bare, Plan) and bare.steps[0].file == "b.py"


def test_bad_plans_say_why() -> None:
    assert isinstance(parse_plan("no json here", 4), Failure)
    assert "no steps" in parse_plan('{"steps": []}', 4).reason  # type: ignore[union-attr]
    many = '{"steps": [' + ",".join('{"file": "a.py", "description": "d"}' for _ in range(5)) + "]}"
    assert "at most 4" in parse_plan(many, 4).reason  # type: ignore[union-attr]
    assert isinstance(parse_plan('{"steps": [{"description": "d"}]}', 4), Failure)


def test_paths_outside_the_workspace_are_refused(tmp_path: Path) -> None:
    root = tmp_path.resolve() / "project"
    (root / "pkg").mkdir(parents=True)
    (tmp_path / "secret.py").write_text("x = 1\n")
    os.symlink(tmp_path / "secret.py", root / "link.py")
    assert resolve_path("pkg/a.py", str(root), [str(root)]) == str(root / "pkg" / "a.py")
    assert resolve_path("../secret.py", str(root), [str(root)]) is None
    assert resolve_path("/etc/passwd", str(root), [str(root)]) is None
    assert resolve_path("link.py", str(root), [str(root)]) is None  # a symlink out of the workspace
    assert resolve_path("", str(root), [str(root)]) is None


def test_a_step_answer_must_parse() -> None:
    current = FileText("/w/a.py", "def f():\n    return 1\n", "python")
    assert interpret_step(current, "```python\ndef f():\n    return 2\n```") == "def f():\n    return 2\n"
    failure = interpret_step(current, "```python\ndef f(:\n```")
    assert isinstance(failure, Failure) and "does not parse" in failure.reason
    created = FileText("/w/new.py", "", "python", exists=False)
    assert interpret_step(created, "```python\nX = 1\n```") == "X = 1\n"


# Settings --------------------------------------------------------------------------------------


def test_feature_settings_defaults_and_validation() -> None:
    defaults = Settings()
    assert defaults.hover.enabled is False and defaults.hover.deadline_ms == 800
    assert defaults.quickfix.enabled is True and defaults.refactor.max_steps == 8
    settings, problems = parse_settings(
        {
            "hover": {"enabled": True, "deadlineMs": 0},
            "refactor": {"maxSteps": 3},
            "predictedOutputs": False,
            "models": {"m": {"predictedOutputs": "yes"}, "n": {"predictedOutputs": True}},
        },
        {},
    )
    assert settings.hover.enabled is True and settings.hover.deadline_ms == 800
    assert settings.refactor.max_steps == 3
    assert problems == [
        "sparkLsp.hover.deadlineMs: must be greater than 0, got 0",
        "sparkLsp.models.m.predictedOutputs: expected true or false, got 'yes'",
    ]
    assert predicted_outputs(settings, settings.models["n"]) is True  # the model's own setting wins
    assert predicted_outputs(settings, ModelSettings()) is False  # else the global toggle
