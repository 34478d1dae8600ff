"""Resource use of the server process (memory, file descriptors, tasks) for `spark/stats` and soak tests."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from typing import Any


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        # Not Linux: the peak is the best portable figure (bytes on macOS, KiB elsewhere).
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def _open_fds() -> int | None:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return None


def process_info() -> dict[str, Any]:
    """RSS, open file descriptors and live asyncio tasks, right now."""
    try:
        tasks: int | None = len(asyncio.all_tasks())
    except RuntimeError:
        tasks = None
    return {"rssBytes": _rss_bytes(), "openFds": _open_fds(), "asyncioTasks": tasks}
