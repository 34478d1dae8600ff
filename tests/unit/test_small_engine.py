"""Mode choice, debounce, typing-through cache, stats, token counting, cursor context."""

from __future__ import annotations

from dataclasses import replace

from spark_lsp.engine.cursor import cursor_context, prefix_tail, strip_eol
from spark_lsp.engine.debounce import TypingRhythm, WasteRate
from spark_lsp.engine.early_stop import EarlyStop
from spark_lsp.engine.inline import InlineRequest, accepted
from spark_lsp.engine.mode import wants_multiline
from spark_lsp.engine.stats import LatencySeries, Stats
from spark_lsp.engine.suggestion_cache import CachedSuggestion, SuggestionCache
from spark_lsp.engine.tokens import LineTokenCounter, estimate_tokens, load_encoder


def test_mid_line_text_means_single_line() -> None:
    assert not wants_multiline("x = foo(", "bar)")
    assert not wants_multiline("    ", "return x")


def test_block_openers_and_empty_lines_are_multi_line() -> None:
    assert wants_multiline("def f(x):", "")
    assert wants_multiline("    ", "")
    assert wants_multiline("", "")
    assert wants_multiline("const f = () => {", "}")
    assert wants_multiline("    ", ")")


def test_statements_being_written_are_single_line() -> None:
    assert not wants_multiline("x = ", "")
    assert not wants_multiline("    x = 1", "")


def test_debounce_follows_the_typing_rhythm() -> None:
    rhythm = TypingRhythm(20, 400)
    for i in range(10):
        rhythm.keystroke(i * 0.1)
    fast = TypingRhythm(20, 400)
    for i in range(10):
        fast.keystroke(i * 0.03)
    assert fast.delay_ms("a") < rhythm.delay_ms("a")
    assert rhythm.delay_ms(" ") < rhythm.delay_ms("a")
    assert 20 <= fast.delay_ms("a") <= 400


def test_debounce_counts_time_already_waited_and_clamps() -> None:
    rhythm = TypingRhythm(50, 200)
    rhythm.keystroke(0.0)
    rhythm.keystroke(10.0)  # a long pause is thinking time, not rhythm
    assert rhythm.delay_ms("a", now=10.0) == 120.0  # no rhythm yet: 1.2 x half the maximum
    assert rhythm.delay_ms("a", now=10.5) == 0.0
    slow = TypingRhythm(50, 200)
    for i in range(5):
        slow.keystroke(i * 1.0)
    assert slow.delay_ms("a") == 200


def test_debounce_shrinks_to_the_minimum_while_no_request_is_wasted() -> None:
    rhythm = TypingRhythm(25, 350)
    for i in range(10):
        rhythm.keystroke(i * 0.15)
    full = rhythm.delay_ms("a")
    assert rhythm.delay_ms("a", waste=0.0) == 25
    assert 25 < rhythm.delay_ms("a", waste=0.5) < full == rhythm.delay_ms("a", waste=1.0)
    waste = WasteRate()
    assert waste.value == 0.0
    for _ in range(6):
        waste.record(wasted=True)
    assert waste.value > 0.8
    waste.record(wasted=False)
    assert 0.6 < waste.value < 0.8


def _entry(text: str = "hello_world()\n    pass") -> CachedSuggestion:
    return CachedSuggestion(
        line=3, index=4, prefix_tail="def f():\n    ", line_suffix="", text=text, multiline=True
    )


def test_cache_answers_the_rest_of_a_suggestion_being_typed() -> None:
    cache = SuggestionCache()
    cache.put("u", _entry())
    assert cache.lookup("u", 3, 4, "def f():\n    ", "")[1] == "hello_world()\n    pass"  # type: ignore[index]
    assert cache.lookup("u", 3, 9, "def f():\n    hello", "")[1] == "_world()\n    pass"  # type: ignore[index]
    assert cache.lookup("u", 4, 2, "def f():\n    hello_world()\n  ", "")[1] == "  pass"  # type: ignore[index]


def test_cache_misses_when_the_typed_text_diverges_or_the_line_changed() -> None:
    cache = SuggestionCache()
    cache.put("u", _entry())
    assert cache.lookup("u", 3, 9, "def f():\n    help!", "") is None
    assert cache.lookup("u", 3, 9, "def f():\n    hello", ")") is None
    assert cache.lookup("u", 3, 3, "def f():\n   ", "") is None
    assert cache.lookup("other", 3, 4, "def f():\n    ", "") is None


def test_cache_has_nothing_left_once_fully_typed() -> None:
    cache = SuggestionCache()
    cache.put("u", _entry("abc"))
    assert cache.lookup("u", 3, 7, "def f():\n    abc", "") is None
    cache.forget("u")
    assert cache.lookup("u", 3, 4, "def f():\n    ", "") is None


def test_latency_percentiles() -> None:
    series = LatencySeries()
    for value in range(1, 101):
        series.add(float(value))
    assert series.percentile(0.5) == 50.0
    assert series.percentile(0.99) == 99.0
    assert LatencySeries().percentile(0.5) is None
    stats = Stats()
    stats.count("inline.a")
    stats.count("inline.a", 2)
    stats.count("b")
    stats.observe("x.lat", 1.5)
    snapshot = stats.snapshot()
    assert snapshot["counters"] == {"inline": {"a": 3}, "b": 1}
    assert snapshot["latencyMs"]["x"]["lat"] == {"count": 1, "p50": 1.5, "p95": 1.5, "p99": 1.5}


def test_token_counter_memoises_and_switches_to_the_real_encoder() -> None:
    counter = LineTokenCounter()
    assert not counter.exact
    assert counter.line("hello world") == estimate_tokens("hello world")
    counter.set_encoder(load_encoder())
    assert counter.exact
    assert counter.line("hello world") == 2
    assert counter.lines(["hello world", "<|endoftext|>"]) > 3  # special text counts as plain text


def test_cursor_context_and_prefix_tail() -> None:
    lines = ["def f(x):\r\n", "    return x\r\n", ""]
    context = cursor_context(lines, 1, 11, "    ", "\r\n")
    assert (context.line_prefix, context.line_suffix) == ("    return ", "x")
    assert context.lines_above == ("def f(x):",) and context.lines_below == ("",)
    assert not context.multiline
    assert prefix_tail(lines, 1, 11, 8) == " return "
    assert prefix_tail(lines, 1, 4, 100) == "def f(x):\r\n    "
    assert strip_eol("a\r\n") == "a" and strip_eol("a\r") == "a" and strip_eol("a") == "a"


def test_accepting_a_suggestion_changes_only_the_cursor_line() -> None:

    lines = ("def f():\n", "    x = \n", "    return x\n", "")
    request = InlineRequest("u", 1, "python", lines, 1, 8, "    ", "\n", True, 0.0)
    one_line = accepted(request, "1")
    assert one_line.lines == ("def f():\n", "    x = 1\n", "    return x\n", "")
    assert (one_line.line, one_line.index, one_line.automatic) == (1, 9, False)
    two_lines = accepted(request, "1\n    y = 2")
    assert two_lines.lines == ("def f():\n", "    x = 1\n", "    y = 2\n", "    return x\n", "")
    assert (two_lines.line, two_lines.index) == (2, 9)
    at_the_end = accepted(replace(request, lines=("x = ",), line=0, index=4), "1\n")
    assert at_the_end.lines == ("x = 1\n", "") and (at_the_end.line, at_the_end.index) == (1, 0)


def test_early_stop_at_the_line_limit_drops_the_line_still_streaming() -> None:
    lines = ("def run(items):\n", "    \n", "")
    context = cursor_context(lines, 1, 4, "    ", "\n")
    stop = EarlyStop(context, max_lines=2)
    answer = "step_0(items)\n    step_1(items)\n    if"
    assert stop.should_stop(answer)  # two finished lines: the limit
    assert stop.on_stop(answer) == "step_0(items)\n    step_1(items)"
    single = EarlyStop(cursor_context(("x = \n", ""), 0, 4, "    ", "\n"), max_lines=2)
    assert single.should_stop("1\ny")
    assert single.on_stop("1\ny") == "1\ny"  # single-line mode keeps only the first line later anyway
