"""When to stop reading a stream: the rest would be cut by the filters anyway, so don't wait for it."""

from __future__ import annotations

from spark_lsp.engine.answer_shapes import normalize_answer
from spark_lsp.engine.filters import (
    CompletionContext,
    cut_repetition,
    drop_suffix_duplicate_lines,
    limit_to_block_scope,
)

_CUTTING_FILTERS = (limit_to_block_scope, drop_suffix_duplicate_lines, cut_repetition)


class EarlyStop:
    """Decides, after each streamed piece, whether the answer is complete for this cursor.

    Single-line mode stops at the first line break. Multi-line mode stops when a finished line leaves
    the block being written, repeats the code below the cursor, loops, or the line limit is reached.
    Only finished lines are judged: a half-streamed line can't be told apart from a good one.
    """

    def __init__(self, context: CompletionContext, max_lines: int) -> None:
        self._context = context
        self._max_lines = max_lines
        self._judged_lines = 0
        self._raw_breaks = 0
        self.raw = ""

    def partial(self) -> str:
        """The suggestion as far as it has streamed, cleaned up like a final answer."""
        return normalize_answer(self.raw, self._context)

    def should_stop(self, raw: str) -> bool:
        """Whether to stop reading after receiving `raw` so far."""
        self.raw = raw
        # Only a new line break in the stream can finish a line: judge nothing in between (the
        # clean-up below costs O(answer) per piece, and a stream is hundreds of pieces).
        breaks = raw.count("\n")
        if breaks == self._raw_breaks:
            return False
        self._raw_breaks = breaks
        text = normalize_answer(raw, self._context)
        if not self._context.multiline:
            return "\n" in text
        finished_lines = text.count("\n")
        if finished_lines >= self._max_lines:
            return True
        if finished_lines == self._judged_lines:
            return False
        self._judged_lines = finished_lines
        finished = text[: text.rfind("\n")]
        lines_before = finished.count("\n")
        return any(cut(finished, self._context).count("\n") < lines_before for cut in _CUTTING_FILTERS)

    def on_deadline(self, raw: str) -> str | None:
        """The complete lines of a multi-line answer cut short; a half line is never shown."""
        if not self._context.multiline or "\n" not in raw:
            return None
        complete = self.on_stop(raw)
        return complete if normalize_answer(complete, self._context).strip() else None

    def on_stop(self, raw: str) -> str:
        """The answer without the line that was still streaming when reading stopped.

        A multi-line stop (the line limit, or a line that leaves the block or repeats the code below)
        comes with the start of the next line in the same piece; shown, it would be half a statement.
        In single-line mode only the first line is kept anyway.
        """
        if not self._context.multiline or "\n" not in raw:
            return raw
        return raw[: raw.rfind("\n")]
