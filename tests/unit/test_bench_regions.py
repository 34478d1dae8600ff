"""Region picking for the typing replay: function bodies by indentation and braces, windows otherwise."""

from __future__ import annotations

import itertools
import random

from spark_lsp.bench.regions import MIN_LINES, function_bodies, pick_regions

PYTHON = '''import os


def short(a):
    return a


class Greeter:
    def greet(self, name: str) -> str:
        """Say hello.

        Twice, politely.
        """
        if not name:
            name = "world"
        message = f"hello {name}"
        message = message.strip()
        print(message)
        return message

    def one_liner(self): return 1

    async def fetch(
        self,
        url: str,
    ) -> bytes:
        data = await self.get(url)
        data = data.strip()
        data = data.lower()
        data = data.upper()
        return data


def tail():
    pass
'''

JS = """'use strict';

function add(a, b) {
  var total = a + b;
  if (total > 10) {
    total = 10;
  }
  var s = "}{";
  return total;
}

defineGetter(req, 'host', function host() {
  var trust = this.app.get('trust proxy fn');
  var val = this.get('X-Forwarded-Host');
  if (!val || !trust(this.connection.remoteAddress, 0)) {
    val = this.get('Host');
  }
  return val || undefined;
});
"""

GO = """package main

func (c *Command) Run(args []string) error {
\tfor _, a := range args {
\t\tif a == "" {
\t\t\tcontinue
\t\t}
\t\tfmt.Println(a)
\t}
\treturn nil
}
"""


def _texts(text: str, language: str, count: int = 5, seed: int = 1, max_lines: int = 40) -> list[str]:
    regions = pick_regions(text, language, random.Random(seed), count, max_lines=max_lines)
    return [region.text(text) for region in regions]


def test_python_bodies_skip_docstrings_one_liners_and_short_functions() -> None:
    texts = _texts(PYTHON, "python", count=2)
    assert texts == [
        'if not name:\n            name = "world"\n        message = f"hello {name}"\n'
        "        message = message.strip()\n        print(message)\n        return message",
        "data = await self.get(url)\n        data = data.strip()\n        data = data.lower()\n"
        "        data = data.upper()\n        return data",
    ]


def test_a_region_starts_after_the_first_lines_indentation_and_ends_before_the_newline() -> None:
    [region, _] = pick_regions(PYTHON, "python", random.Random(1), 2)
    assert PYTHON[region.start - 8 : region.start] == " " * 8
    assert PYTHON[region.end] == "\n"
    assert region.kind == "body" and region.line_count == 6


def test_brace_bodies_in_javascript_and_go_exclude_the_closing_line() -> None:
    js = _texts(JS, "javascript", count=2)
    assert js[0].startswith("var total = a + b;") and js[0].endswith("return total;")
    assert js[1].startswith("var trust") and js[1].endswith("return val || undefined;")
    [go] = _texts(GO, "go", count=1)
    assert go.startswith("for _, a := range args {") and go.endswith("return nil")


def test_long_bodies_are_cut_at_a_statement_boundary() -> None:
    [text] = _texts(PYTHON, "python", count=1, seed=3, max_lines=5)
    lines = text.split("\n")
    assert len(lines) <= 5
    # The cut never leaves a block opener without its body.
    assert not lines[-1].rstrip().endswith(":")


def test_function_bodies_found_per_language() -> None:
    assert len(function_bodies(PYTHON, "python")) == 4  # short, greet, fetch, tail
    assert len(function_bodies(JS, "javascript")) == 2
    assert len(function_bodies(GO, "go")) == 1


def test_windows_fill_in_when_there_are_too_few_bodies() -> None:
    text = "\n".join(f"x{i} = {i}" for i in range(100)) + "\n"
    regions = pick_regions(text, "python", random.Random(5), 3)
    assert len(regions) == 3
    assert all(region.kind == "window" and region.line_count >= MIN_LINES for region in regions)
    spans = sorted((r.start, r.end) for r in regions)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_picking_is_deterministic_for_a_seed() -> None:
    first = pick_regions(PYTHON + JS, "python", random.Random(9), 3)
    second = pick_regions(PYTHON + JS, "python", random.Random(9), 3)
    assert first == second
