"""Generates the ~400 KB Python file of `--large`: corpus files concatenated with renamed definitions."""

from __future__ import annotations

import re
from collections.abc import Sequence

TARGET_BYTES = 400_000
_DEFINITION = re.compile(r"^\s*(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def renamed_copy(text: str, copy: int) -> str:
    """`text` with every function and class it defines renamed `<name>_c<copy>` (dunders kept).

    Each copy must differ from the others and from the corpus, or the simulated perfect model could
    not tell where in its truth texts a prompt comes from.
    """
    names = {name for name in _DEFINITION.findall(text) if not name.startswith("__")}
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda match: f"{match.group(1)}_c{copy}", text)


def large_python_file(sources: Sequence[str], target_bytes: int = TARGET_BYTES) -> str:
    """Concatenate renamed copies of `sources` (Python files) until the result is at least `target_bytes`."""
    if not sources or not any(s.strip() for s in sources):
        raise ValueError("the large file needs at least one non-empty Python source")
    parts: list[str] = []
    size = 0
    copy = 0
    while size < target_bytes:
        for source in sources:
            copy += 1
            part = f"# ---- copy {copy} ----\n" + renamed_copy(source, copy).rstrip("\n") + "\n\n\n"
            parts.append(part)
            size += len(part.encode("utf-8"))
            if size >= target_bytes:
                break
    return "".join(parts)
