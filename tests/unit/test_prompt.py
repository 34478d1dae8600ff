"""Prompt windows, anchoring, escaping and framing."""

from __future__ import annotations

from spark_lsp.engine.prompt import (
    ANCHOR_LINES,
    ESCAPE_MARK,
    FIM_TEMPLATES,
    HOLE_MARKER,
    build_window,
    chat_messages,
    escape_hole_marker,
    escape_special_text,
    fim_prompt,
    guess_fim_template,
)
from spark_lsp.engine.tokens import LineTokenCounter, load_encoder

COUNTER = LineTokenCounter(load_encoder())


def _lines(count: int) -> list[str]:
    return [f"value_{i} = compute({i}, 'text')\n" for i in range(count)] + [""]


def test_window_holds_prefix_and_suffix_around_the_cursor() -> None:
    lines = ["a = 1\n", "b = 2\n", "c = 3"]
    window = build_window(lines, 1, 3, COUNTER, 100, 100)
    assert window.prefix == "a = 1\nb ="
    assert window.suffix == " 2\nc = 3"


def test_window_respects_budgets() -> None:
    lines = _lines(2000)
    window = build_window(lines, 1000, 5, COUNTER, 300, 100)
    assert window.prefix_tokens <= 300 and window.suffix_tokens <= 100
    real = load_encoder()
    assert real(window.prefix) <= 300
    assert real(window.suffix) <= 100


def test_window_start_is_anchored_and_stable_while_typing() -> None:
    lines = _lines(2000)
    first = build_window(lines, 1000, 0, COUNTER, 400, 100)
    assert first.start_line % ANCHOR_LINES == 0
    typed = list(lines)
    for count in range(1, 12):
        typed[1000] = "x" * count + lines[1000]
        window = build_window(typed, 1000, count, COUNTER, 400, 100)
        assert window.start_line == first.start_line
        assert window.prefix.startswith(first.prefix[:-1] if first.prefix else "")


def test_window_on_a_huge_single_line_is_cut_not_dropped() -> None:
    lines = ["x = [" + "1, " * 100_000 + "]\n", "y = 2"]
    window = build_window(lines, 0, 200_000, COUNTER, 200, 50)
    assert 0 < len(window.prefix) <= 400 and lines[0][:200_000].endswith(window.prefix)
    assert window.suffix.startswith(lines[0][200_000:][:10])


def test_escaping_neutralises_special_tokens() -> None:
    template = FIM_TEMPLATES["qwen"]
    text = 'a = "<|fim_middle|>"; b = "<|im_start|>"; c = "<｜end▁of▁sentence｜>"; d = a < b'
    escaped = escape_special_text(text, template.special_tokens)
    assert "<|fim_middle|>" not in escaped and "<|im_start|>" not in escaped
    assert "<｜end▁of▁sentence｜>" not in escaped
    assert "a < b" in escaped
    assert escaped.replace(ESCAPE_MARK, "") == text


def test_fim_prompt_has_exactly_one_frame() -> None:
    lines = ["s = '<|fim_suffix|><|fim_prefix|>'\n", "t = "]
    window = build_window(lines, 1, 4, COUNTER, 100, 100)
    prompt = fim_prompt(window, FIM_TEMPLATES["qwen"])
    assert prompt.count("<|fim_prefix|>") == 1 and prompt.count("<|fim_suffix|>") == 1
    assert prompt.startswith("<|fim_prefix|>") and prompt.endswith("<|fim_middle|>")


def test_each_template_renders_its_layout() -> None:
    assert FIM_TEMPLATES["codellama"].render("P", "S") == "<PRE> P <SUF>S <MID>"
    assert FIM_TEMPLATES["starcoder"].render("P", "S") == "<fim_prefix>P<fim_suffix>S<fim_middle>"
    assert FIM_TEMPLATES["deepseek"].render("P", "S") == "<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>"


def test_hole_marker_in_user_code_is_escaped_in_chat_prompts() -> None:
    window = build_window(["x = '{{FILL_HERE}}'\n", "y = "], 1, 4, COUNTER, 100, 100)
    [system, user] = chat_messages(window, "python", multiline=False)
    assert system["role"] == "system"
    assert user["content"].count(HOLE_MARKER) == 1
    assert "y = {{FILL_HERE}}" in user["content"]
    assert escape_hole_marker(HOLE_MARKER) != HOLE_MARKER


def test_chat_fence_is_longer_than_backtick_runs_in_code() -> None:
    window = build_window(["doc = '''\n", "````md\n", "x"], 2, 1, COUNTER, 100, 100)
    content = chat_messages(window, "python", multiline=True)[1]["content"]
    assert content.startswith("`````python\n")


def test_model_family_guesses() -> None:
    assert guess_fim_template("qwen-2.5-coder-32b") == "qwen"
    assert guess_fim_template("deepseek-coder-v2") == "deepseek"
    assert guess_fim_template("starcoder2-15b") == "starcoder"
    assert guess_fim_template("CodeLlama-13b") == "codellama"
    assert guess_fim_template("llama-3.3-70b") is None
    assert guess_fim_template("gpt-oss-120b") is None
