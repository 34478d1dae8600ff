"""The "perfect model": continues a prefix with the text that follows it in a known truth file."""

from __future__ import annotations

from dataclasses import dataclass

# Longest prefix tail we try to locate; enough to pin a position in any real source file.
MAX_TAIL_CHARS = 4000
# A tail shorter than this (unless it is the whole prefix) is too weak to trust as a location.
MIN_TAIL_CHARS = 8
# How far past a match we look for the start of the suffix when several matches tie.
SUFFIX_WINDOW_CHARS = 20000


@dataclass(frozen=True)
class Location:
    name: str
    end: int  # index in the truth text just past the matched prefix tail


class TruthStore:
    """Named truth texts, searched together."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def add(self, name: str, text: str) -> None:
        self._texts[name] = text

    def clear(self) -> None:
        self._texts.clear()

    def describe(self) -> list[dict[str, object]]:
        return [{"name": name, "chars": len(text)} for name, text in self._texts.items()]

    def __len__(self) -> int:
        return len(self._texts)

    def text_after(self, where: Location, max_chars: int) -> tuple[str, bool]:
        """Up to ``max_chars`` of truth after ``where``, and whether that reaches the end of the text."""
        text = self._texts[where.name]
        return text[where.end : where.end + max_chars], where.end + max_chars >= len(text)

    def locate(self, prefix: str, suffix: str = "") -> Location | None:
        """Find the longest tail of ``prefix`` in the truth texts, preferring a unique occurrence."""
        if not self._texts or not prefix:
            return None
        limit = min(len(prefix), MAX_TAIL_CHARS)
        # If a tail occurs somewhere then every shorter tail does too, so the longest is found by bisection.
        low, high = 0, limit
        while low < high:
            mid = (low + high + 1) // 2
            if self._occurs(prefix[-mid:]):
                low = mid
            else:
                high = mid - 1
        if low < min(MIN_TAIL_CHARS, len(prefix)):
            return None
        matches = self._occurrences(prefix[-low:])
        if len(matches) > 1:
            return _closest_to_suffix(matches, suffix, self._texts) or matches[0]
        return matches[0]

    def _occurs(self, tail: str) -> bool:
        return any(tail in text for text in self._texts.values())

    def _occurrences(self, tail: str) -> list[Location]:
        found: list[Location] = []
        for name, text in self._texts.items():
            start = text.find(tail)
            while start >= 0:
                found.append(Location(name, start + len(tail)))
                start = text.find(tail, start + 1)
        return found


def _closest_to_suffix(matches: list[Location], suffix: str, texts: dict[str, str]) -> Location | None:
    """Break a tie with the suffix: the match followed soonest by the suffix's first line wins."""
    head = next((line.strip() for line in suffix.splitlines() if line.strip()), "")
    if not head:
        return None
    best: tuple[int, Location] | None = None
    for match in matches:
        at = texts[match.name].find(head, match.end, match.end + SUFFIX_WINDOW_CHARS)
        if at >= 0 and (best is None or at - match.end < best[0]):
            best = (at - match.end, match)
    return None if best is None else best[1]
