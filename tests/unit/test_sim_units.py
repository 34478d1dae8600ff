"""Unit tests of the simulator's pure parts: tokens, plans, holes, truth, pacing and the script queue."""

from __future__ import annotations

import time

import pytest

from spark_lsp.sim.faults import DropConnection, StatusFault, parse_fault
from spark_lsp.sim.holes import hole_in_chat, hole_in_completion_prompt
from spark_lsp.sim.pacing import Pace, paced_batches
from spark_lsp.sim.plan import plan_answer
from spark_lsp.sim.script import ScriptQueue, parse_entry
from spark_lsp.sim.tokens import Piece, count_tokens, split_pieces
from spark_lsp.sim.truth import TruthStore


def test_split_pieces_never_breaks_a_character() -> None:
    text = "crab 🦀 and 世界 and é"
    pieces = split_pieces(text)
    assert "".join(piece.text for piece in pieces) == text
    assert sum(piece.tokens for piece in pieces) == count_tokens(text)
    assert "\ufffd" not in "".join(piece.text for piece in pieces)
    merged = [piece for piece in pieces if piece.tokens > 1]
    assert any("🦀" in piece.text for piece in merged)


def test_plan_cuts_at_max_tokens_with_length() -> None:
    plan = plan_answer("one two three four five six", max_tokens=3, stop=())
    assert plan.text == "one two three"
    assert plan.finish_reason == "length"
    assert plan.completion_tokens == 3


def test_plan_cuts_at_earliest_stop_sequence() -> None:
    plan = plan_answer("alpha\nbeta\n\ngamma END delta", max_tokens=None, stop=["END", "\n\n"])
    assert plan.text == "alpha\nbeta"
    assert plan.finish_reason == "stop"


def test_plan_stop_inside_token_budget_wins_over_length() -> None:
    plan = plan_answer("a b c STOP d e f g h", max_tokens=5, stop=["STOP"])
    assert plan.text == "a b c "
    assert plan.finish_reason == "stop"


def test_plan_does_not_keep_half_a_merged_character() -> None:
    plan = plan_answer("🦀🦀", max_tokens=4, stop=())
    assert plan.text == "🦀"
    assert plan.finish_reason == "length"


PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nprint(add(1, 2))\n"


@pytest.mark.parametrize(
    ("prompt", "source"),
    [
        (f"<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>", "qwen"),
        (
            f"<|repo_name|>r\n<|file_sep|>a.py\n<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>",
            "qwen",
        ),
        (f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>", "starcoder"),
        (f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>", "codellama"),
        (
            f"<\uff5cfim\u2581begin\uff5c>{PREFIX}<\uff5cfim\u2581hole\uff5c>{SUFFIX}<\uff5cfim\u2581end\uff5c>",
            "deepseek",
        ),
    ],
)
def test_fim_templates_give_prefix_and_suffix(prompt: str, source: str) -> None:
    hole = hole_in_completion_prompt(prompt)
    assert (hole.prefix, hole.suffix, hole.source) == (PREFIX, SUFFIX, source)


def test_fim_prompt_unescapes_zero_width_non_joiner() -> None:
    escaped = 'MARK = "<\u200c|fim_prefix|>"\n'
    hole = hole_in_completion_prompt(f"<|fim_prefix|>{escaped}x = <|fim_suffix|><|fim_middle|>")
    assert hole.prefix == 'MARK = "<|fim_prefix|>"\nx = '


def test_fim_text_after_middle_marker_extends_prefix() -> None:
    hole = hole_in_completion_prompt(f"<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>a +")
    assert hole.prefix == PREFIX + "a +"


def test_plain_prompt_is_all_prefix() -> None:
    assert hole_in_completion_prompt("import os\n").prefix == "import os\n"


def test_chat_hole_is_bounded_by_code_fence() -> None:
    user = f"Fill the hole.\n```python\n{PREFIX}{{{{FILL_HERE}}}}{SUFFIX}```\nAnswer with code only."
    hole = hole_in_chat(
        [{"role": "system", "content": "You complete code."}, {"role": "user", "content": user}]
    )
    assert hole is not None
    assert (hole.prefix, hole.suffix) == (PREFIX, SUFFIX)


def test_chat_hole_with_cursor_at_line_start_and_prefill() -> None:
    user = "```\nx = 1\n{{FILL_HERE}}\n```"
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": "y ="}]
    hole = hole_in_chat(messages)
    assert hole is not None
    assert hole.prefix == "x = 1\ny ="


def test_chat_without_marker_has_no_hole() -> None:
    assert hole_in_chat([{"role": "user", "content": "hello"}]) is None


def test_truth_prefers_longest_tail_and_starts_mid_file() -> None:
    store = TruthStore()
    store.add("a.py", "import os\n\ndef f():\n    return 1\n\ndef g():\n    return 2\n")
    where = store.locate("# unrelated header typed by the user\ndef g():\n    return ")
    assert where is not None
    text, at_end = store.text_after(where, 100)
    assert (text, at_end) == ("2\n", True)


def test_truth_breaks_ties_with_the_suffix() -> None:
    store = TruthStore()
    store.add("a.py", "x = 1\nfirst()\nx = 1\nsecond()\n")
    where = store.locate("x = 1\n", "second()\n")
    assert where is not None
    assert store.text_after(where, 100)[0] == "second()\n"


def test_truth_without_match_is_none() -> None:
    store = TruthStore()
    store.add("a.py", "abc")
    assert store.locate("completely different text") is None


async def test_pacing_batches_due_tokens_and_honours_rate() -> None:
    pieces = [Piece(f"t{i} ", 1) for i in range(100)]
    start = time.monotonic()
    batches = [batch async for batch in paced_batches(pieces, Pace(start, 0.02, 2000.0))]
    elapsed = time.monotonic() - start
    assert sum(batch.tokens for batch in batches) == 100
    assert "".join(batch.text for batch in batches) == "".join(piece.text for piece in pieces)
    assert elapsed >= 0.02 + 99 / 2000.0 - 0.005
    # At 2000 tokens/s tokens fall due faster than the loop wakes, so they are merged into fewer events.
    assert len(batches) < 100


async def test_pacing_stops_batches_at_breaks_and_applies_stalls() -> None:
    pieces = [Piece("x", 1)] * 10
    start = time.monotonic()
    batches = [b async for b in paced_batches(pieces, Pace(start, 0.0, None), stalls={4: 0.05}, breaks=[7])]
    totals = [batch.total_tokens for batch in batches]
    assert 4 in totals and 7 in totals
    assert time.monotonic() - start >= 0.05


def test_script_queue_match_skips_and_repeat_consumes() -> None:
    queue = ScriptQueue()
    queue.extend(
        [
            parse_entry({"text": "special", "match": "needle"}),
            parse_entry({"text": "twice", "repeat": 2, "endpoint": "chat"}),
            parse_entry({"text": "forever", "repeat": -1}),
        ]
    )
    assert entry_text(queue.take("completions", "hay")) == "forever"
    assert entry_text(queue.take("chat", "hay")) == "twice"
    assert entry_text(queue.take("chat", "hay needle")) == "special"
    assert entry_text(queue.take("chat", "hay")) == "twice"
    assert entry_text(queue.take("chat", "hay")) == "forever"
    assert entry_text(queue.take("chat", "hay")) == "forever"
    assert len(queue) == 1


def entry_text(entry: object) -> str | None:
    return getattr(entry, "text", None)


def test_fault_parsing() -> None:
    fault = parse_fault({"type": "status", "status": 429, "retry_after_s": 2, "ratelimit_headers": {"a": 1}})
    assert fault == StatusFault(429, 2.0, None, {"a": "1"})
    assert parse_fault({"type": "drop_connection", "after_tokens": 3}) == DropConnection(3)
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault({"type": "explode"})
    with pytest.raises(ValueError, match="status"):
        parse_fault({"type": "status", "status": 200})
