"""Human-like key intervals: lognormal per character, longer at line starts and after punctuation, seeded."""

from __future__ import annotations

import math
import random

# Median time between two keys of a fluent typist (~70 words per minute) and its spread.
KEY_MEDIAN_S = 0.15
KEY_SIGMA = 0.3
# Extra pause before the first character of a new line: the user reads what is there and thinks.
LINE_START_MEDIAN_S = 0.40
# Extra pause after punctuation, where typists hesitate between tokens.
PUNCTUATION_MEDIAN_S = 0.10
PAUSE_SIGMA = 0.4
PUNCTUATION = frozenset(",;:.()[]{}=")
# The first key of a region follows the user placing the cursor.
FIRST_KEY_S = 0.4
# After pressing Tab the user reads the accepted text before typing on.
ACCEPT_REACTION_S = 0.15


def auto_indent_mask(text: str) -> list[bool]:
    """For each character: is it indentation the editor inserts after a newline (not typed by the user)?"""
    mask: list[bool] = []
    at_line_start = False
    for char in text:
        if char == "\n":
            at_line_start = True
            mask.append(False)
        elif at_line_start and char in " \t":
            mask.append(True)
        else:
            at_line_start = False
            mask.append(False)
    return mask


def key_intervals(text: str, rng: random.Random, speed: float = 1.0) -> list[float]:
    """Seconds to wait before typing each character of `text` (divided by `speed`).

    Every character gets a value, typed or not, so the sequence depends only on the text and the
    seed: a second run of the same trace (the naive baseline) waits exactly as long before each key.
    """
    mask = auto_indent_mask(text)
    intervals: list[float] = []
    previous = ""
    after_newline = False
    for index, char in enumerate(text):
        delay = rng.lognormvariate(math.log(KEY_MEDIAN_S), KEY_SIGMA)
        pause = 0.0
        if after_newline and not mask[index]:
            pause = rng.lognormvariate(math.log(LINE_START_MEDIAN_S), PAUSE_SIGMA)
        elif previous in PUNCTUATION:
            pause = rng.lognormvariate(math.log(PUNCTUATION_MEDIAN_S), PAUSE_SIGMA)
        if index == 0:
            delay, pause = FIRST_KEY_S, 0.0
        intervals.append((delay + pause) / speed)
        if char == "\n":
            after_newline = True
        elif not mask[index]:
            after_newline = False
        if not mask[index]:
            previous = char
    return intervals
