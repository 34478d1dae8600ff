"""Secret redaction: replace credentials in code with stable placeholders before the code leaves the machine.

Each secret becomes `<redacted:KIND>` (e.g. `"<redacted:github-token>"`, inside the code's own quotes),
so the code around it keeps its shape and a model answering code still writes valid code. The
placeholder depends only on the kind, never on the secret or its position, so the same window always
redacts to the same bytes and the provider's prompt cache keeps hitting.

There is deliberately no `restore`: secrets are never put back into anything a model returns. A model
that writes a placeholder would make the user's code contain `<redacted:...>` instead of their secret,
so the server refuses to show or apply any answer for which `contains_placeholder` is true.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PLACEHOLDER = "<redacted:{kind}>"
# Liberal on purpose: a model may mangle the placeholder's kind, case or colon.
_PLACEHOLDER_SEEN = re.compile(r"<\s*redacted\b", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """One redacted span of the original text: `text[start:end]` was replaced. The secret is not kept."""

    kind: str
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        """The text that replaced the secret."""
        return PLACEHOLDER.format(kind=self.kind)


@dataclass(frozen=True)
class Redaction:
    """Redacted text and where the secrets were in the original text (in order, not overlapping)."""

    text: str
    secrets: tuple[Found, ...]

    def map_offset(self, offset: int) -> int | None:
        """Where an offset of the original text is in the redacted text; None inside a secret.

        Lets the server redact the whole window at once (a secret may straddle the cursor) and still
        split it at the cursor; None means the cursor is in a secret, where no request should go out.
        """
        shift = 0
        for found in self.secrets:
            if offset <= found.start:
                break
            if offset < found.end:
                return None
            shift += len(found.placeholder) - (found.end - found.start)
        return offset + shift


def contains_placeholder(text: str) -> bool:
    """Whether a model's answer contains a placeholder (so it must be neither shown nor applied)."""
    return "edacted" in text.lower() and _PLACEHOLDER_SEEN.search(text) is not None


# --- What counts as a real value ------------------------------------------------------------------

_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme", "change-me", "change_me", "changeit", "change-it", "password", "passwd", "pass",
        "secret", "token", "apikey", "api-key", "api_key", "none", "null", "nil", "undefined", "todo",
        "tbd", "fixme", "redacted", "hidden", "example", "sample", "dummy", "fake", "test", "testing",
        "placeholder", "default", "admin", "root", "guest", "user", "username", "empty", "n/a", "foo",
        "bar", "baz", "value", "string", "bearer", "secret-key", "secret_key", "mysecret", "mypassword",
    }
)  # fmt: skip
# Whole values that are templates, references, markers or colours rather than credentials.
_TEMPLATE = re.compile(
    r"""<[^<>]*>|\[[A-Za-z_]+\]|\{\{.*\}\}|\$[A-Za-z_]\w*|%[A-Za-z_]\w*%|\{\w*\}|\#[0-9a-f]{3,8}
    |(?:your|my|insert|enter|put|add|replace)[-_ ].*|.*[-_ ](?:here|goes[-_ ]here)
    |(?:dummy|fake|example|sample|placeholder)[-_ ].*""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
# Anywhere in a value: interpolation (`${x}`, `%(x)s`, `%s`, `{}`) or regex syntax (lexers name them `token`).
_NOT_LITERAL = re.compile(r"\$\{|%\(\w+\)|%[sdr]|\{\d*\}|\\[wdsWDSbB]|\[\^|\(\?")
_NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z_ -]*")
# Dotted names (`sparkLsp.menu`), paths and plain URLs: a URL's password has its own detector.
_NAME_OR_PATH = re.compile(
    r"[A-Za-z_][A-Za-z_-]*(?:\.[A-Za-z_][A-Za-z_-]*)+|\.{0,2}/.*|[A-Za-z][A-Za-z0-9+.-]*://.*"
)
_NAME_WORDS = re.compile(r"pass|pwd|secret|token|key|credential|auth", re.IGNORECASE)
# Unquoted values that are names (`other_var`, `settings.TOKEN`, `rust.hpke.X25519Key`), numbers or `$REF`.
_REFERENCE = re.compile(
    r"[A-Za-z_][A-Za-z_]*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[-+]?\d[\d._]*|[$%@!&*~].*", re.DOTALL
)


def is_placeholder_value(value: str) -> bool:
    """Whether an assigned literal is obviously not a secret ("", "xxx", "changeme", "<token>", "${X}")."""
    text = value.strip()
    if len(text) < 4 or len(set(text)) == 1 or text.lower() in _PLACEHOLDER_WORDS:
        return True
    if _TEMPLATE.fullmatch(text) or _NOT_LITERAL.search(text) or not any(c.isalnum() for c in text):
        return True
    if _NAME_OR_PATH.fullmatch(text):
        return True
    # Names and prose held in a string ("refresh_token", "X-Api-Key", "id_token token"), not credentials.
    return bool(_NAME_LIKE.fullmatch(text) and _NAME_WORDS.search(text))


def _real_literal(value: str) -> bool:
    """A quoted value worth redacting."""
    return not is_placeholder_value(value)


def _real_bare_value(value: str) -> bool:
    """An unquoted value worth redacting: not a name (`token: str`, `secret = other`), number or `$REF`."""
    return not _REFERENCE.fullmatch(value) and not is_placeholder_value(value)


def _mixed(value: str) -> bool:
    """Has a digit and a letter: random tokens do, words and identifiers mostly do not."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _mixed_case(value: str) -> bool:
    """Has upper- and lower-case letters."""
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def _basic_credentials(value: str) -> bool:
    """An HTTP Basic value: base64 of `user:password`."""
    try:
        return b":" in base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False


# --- Detectors ------------------------------------------------------------------------------------
#
# Every regex starts with literal text (`ghp_`, `AKIA`, `://`) so the regex engine can skip ahead to it:
# a leading look-behind, `\b` or IGNORECASE makes Python's `re` try every position (50-300x slower on
# 8 KB). Word boundaries are checked in code instead, and case-insensitive shapes run on a lower-cased
# copy of the text that has the same offsets.

_ALNUM = "A-Za-z0-9"


@dataclass(frozen=True)
class _Detector:
    """One secret shape; group `s` of the regex is the secret."""

    kind: str
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    # Matches the character that must not come right before the match (it would be part of a longer word).
    not_after: re.Pattern[str] | None = None
    # Run on the lower-cased text (the regex is written in lower case).
    folded: bool = False


def _detector(
    kind: str,
    regex: str,
    check: Callable[[str], bool] | None = None,
    not_after: str = "",
    folded: bool = False,
) -> _Detector:
    """A detector with its regex compiled once."""
    return _Detector(
        kind, re.compile(regex), check, re.compile(f"[{not_after}]") if not_after else None, folded
    )


_DETECTORS: tuple[_Detector, ...] = (
    _detector(
        "aws-access-key",
        r"(?P<s>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])",
        None,
        _ALNUM,
    ),
    _detector(
        "github-token",
        r"(?P<s>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{70,251})(?![A-Za-z0-9_])",
        None,
        _ALNUM + "_",
    ),
    _detector(
        "gitlab-token",
        # The routable form ends in `.<2 chars><7 chars>`.
        r"(?P<s>gl(?:pat|ptt|dt|rt|soat|cbt)-[A-Za-z0-9_-]{20,300}(?:\.[0-9a-z]{2}\.?[0-9a-z]{7})?)"
        r"(?![A-Za-z0-9_-])",
        None,
        _ALNUM + "_-",
    ),
    _detector("slack-token", r"(?P<s>xox(?:[abposr]|e\.xox[bp]|e)-[A-Za-z0-9-]{10,250})", _mixed, _ALNUM),
    _detector(
        "slack-webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/+-]{20,250})"
    ),
    # One regex per prefix: a leading character class (`[sr]k_`) would defeat the skip-ahead.
    _detector("stripe-key", r"(?P<s>sk_(?:live|test)_[A-Za-z0-9]{16,247})", None, _ALNUM),
    _detector("stripe-key", r"(?P<s>rk_(?:live|test)_[A-Za-z0-9]{16,247})", None, _ALNUM),
    _detector("stripe-key", r"(?P<s>whsec_[A-Za-z0-9]{24,250})", None, _ALNUM),
    _detector("google-api-key", r"(?P<s>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])", None, _ALNUM + "_-"),
    _detector(
        "anthropic-key", r"(?P<s>sk-ant-[a-z]{2,10}\d{0,3}-[A-Za-z0-9_-]{20,250})", None, _ALNUM + "_-"
    ),
    _detector(
        "openai-key",
        r"(?P<s>sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,250}"
        r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{32,250}))(?![A-Za-z0-9_-])",
        _mixed,
        _ALNUM + "_-",
    ),
    _detector("cerebras-key", r"(?P<s>csk-[A-Za-z0-9]{32,250})(?![A-Za-z0-9_-])", _mixed, _ALNUM + "_-"),
    _detector(
        "huggingface-token", r"(?P<s>hf_[A-Za-z0-9]{34,40})(?![A-Za-z0-9_])", _mixed_case, _ALNUM + "_"
    ),
    _detector("npm-token", r"(?P<s>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", _mixed, _ALNUM + "_"),
    _detector("pypi-token", r"(?P<s>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,})"),
    _detector("twilio-key", r"(?P<s>SK[0-9a-fA-F]{32})(?![A-Za-z0-9])", _mixed, _ALNUM),
    _detector(
        "sendgrid-key",
        r"(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])",
        None,
        _ALNUM + "_-",
    ),
    _detector(
        "jwt",
        r"(?P<s>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*)(?![A-Za-z0-9_-])",
        None,
        _ALNUM + "_-",
    ),
    # scheme://user:password@host: only the password goes.
    _detector("password", r"""://[^\s/:@'"`<>]{0,256}:(?P<s>[^\s/@'"`<>]{1,256})@""", _real_literal),
    _detector("bearer-token", r"bearer[ \t]+(?P<s>[a-z0-9._~+/-]{20,}=*)", _mixed, _ALNUM, folded=True),
    _detector(
        "basic-auth",
        r"basic[ \t]+(?P<s>[a-z0-9+/]{8,}={0,2})(?![a-z0-9+/=])",
        _basic_credentials,
        _ALNUM,
        True,
    ),
    # Connection strings: `Server=x;User Id=y;Password=z;`.
    _detector(
        "password",
        r""";[ \t]*(?:password|pwd)[ \t]*=[ \t]*(?P<s>[^;'"`\n]{1,200})""",
        _real_literal,
        folded=True,
    ),
)

# --- Assignments to secret-looking names -----------------------------------------------------------
#
# Found from the name's last word (`DB_PASSWORD`, `githubToken`, `client_secret`, `x-api-key`), then the
# assignment after it: `= "literal"` in most languages, JSON/YAML/JS object keys, keyword arguments,
# comparisons; or an unquoted value on a line of its own (.env, shell, YAML, INI, properties).

# One regex per word, each starting with literal text (an alternation would be tried at every position).
_SECRET_WORDS = tuple(
    re.compile(word)
    for word in (r"pass(?:word|wd|phrase)?", "pwd", "secret", "token", "credentials?", r"key(?:[_-]?base)?")
)
# `...key` is a secret's name only after one of these (`api_key`, `secretKey`, not `cache_key`).
_KEY_QUALIFIER = re.compile(
    r"(?:api|access|secret|private|auth|signing|encryption|master|client|app|license)[_-]?\Z"
)
_AWS_SECRET_NAME = re.compile(r"(?:aws_?secret(?:_?access)?_?key|secret_?access_?key|aws_?secret)\Z")
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+=]{40}")
# Assignment operators, a type annotation before `=` (`password: str = `), or a key's colon. Not `==`:
# lexers compare `token == "include"` all the time.
_ASSIGNMENT = (
    r"""["'`]?[ \t]*(?:(?::[ \t]*[A-Za-z_][\w.\[\]| ,]{0,40}?[ \t]*)?(?:=(?!=)|:=|=>|\?\?=|\|\|=)|:)[ \t]*"""
)
_QUOTED_TAIL = re.compile(
    # Not a member of a TypeScript union of string literals (`type Credentials = 'omit' | 'include'`).
    _ASSIGNMENT
    + r"""(?P<prefix>[rRbBuU]{0,2})(?P<q>["'`])(?P<s>(?:\\.|(?!(?P=q))[^\\\n]){1,500})(?P=q)(?![ \t]*\|)"""
)
# A `#` starts a comment only after a space (in YAML and shell, `pa#ss` is one word).
_BARE_TAIL = re.compile(
    r"""["']?[ \t]*[=:][ \t]*(?P<s>[^\s'"`,;(){}\[\]<>]{1,500})(?:[ \t]+\#[^\n]*)?[ \t]*\r?(?:\n|\Z)"""
)
_BARE_LINE_HEAD = re.compile(r"""[ \t]*(?:export[ \t]+|env[ \t]+|set[ \t]+|-[ \t]+)?["']?[\w.-]*""")
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")
_MAX_LINE_HEAD = 120
# `<password>s3cret</password>` (Maven settings, XML configs).
_XML_TAIL = re.compile(r"""["']?>(?P<s>[^<\n]{1,200})</""")
# Command-line flags: `--password=s3cret`, `-token=...`.
_FLAG_HEAD = re.compile(r"(?:^|[ \t])--?[\w-]*\Z")
_FLAG_TAIL = re.compile(r"""=(?P<s>[^\s'"`]{1,200})""")


def _quoted_secret(value: re.Match[str]) -> bool:
    """Whether a quoted literal after a secret's name holds one."""
    # Raw strings assigned to `token` names are lexer regexes; backticks with spaces are Markdown in comments.
    if "r" in value.group("prefix").lower() or (value.group("q") == "`" and " " in value.group("s")):
        return False
    return _real_literal(value.group("s"))


def _value_after(text: str, folded: str, start: int, end: int) -> re.Match[str] | None:
    """The literal assigned to the name whose secret word spans `start:end`, if it looks real."""
    value = _QUOTED_TAIL.match(text, end)
    if value is not None and _quoted_secret(value):
        return value
    value = _XML_TAIL.match(text, end)
    if value is not None and _real_literal(value.group("s")):
        return value
    # Only short line heads are looked at: a long run without a line break is not `NAME=value`, and
    # scanning back to its start from every hit would make redaction quadratic.
    low = max(0, start - _MAX_LINE_HEAD)
    line_start = text.rfind("\n", low, start) + 1
    if line_start == 0 and low > 0:
        return None
    if _FLAG_HEAD.search(folded, max(line_start, start - 64), start):
        value = _FLAG_TAIL.match(text, end)
    elif _BARE_LINE_HEAD.fullmatch(folded, line_start, start):
        value = _BARE_TAIL.match(text, end)
    else:
        return None
    return value if value is not None and _real_bare_value(value.group("s")) else None


def _assignment_candidates(text: str, folded: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of literals assigned to names that end in a secret word."""
    for word in (match for regex in _SECRET_WORDS for match in regex.finditer(folded)):
        start, end = word.span()
        name = word.group()
        if name in ("pass", "pwd") and start > 0 and _WORD_CHAR.match(text, start - 1):
            continue  # `bypass`, `compass`
        if name.startswith("key") and not _KEY_QUALIFIER.search(folded, max(0, start - 12), start):
            continue
        value = _value_after(text, folded, start, end)
        if value is None:
            continue
        kind = "password" if name.startswith(("pass", "pwd")) else "secret"
        aws_name = _AWS_SECRET_NAME.search(folded, max(0, start - 16), end)
        if aws_name and _AWS_SECRET_VALUE.fullmatch(value.group("s")):
            kind = "aws-secret-key"
        yield value.start("s"), value.end("s"), kind


# --- Private keys ---------------------------------------------------------------------------------

_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=]{40}")
# A line of a key's body, also inside a string (`"MIIE...\n" +`), or a header (`Proc-Type: 4,ENCRYPTED`).
_BODY_LINE = re.compile(
    r"""[ \t]*(?:["'`]?[A-Za-z0-9+/=]*(?:\\[rn])*["'`]?[ \t]*[+,]?|[A-Za-z-]{2,20}:[ \t][^\n]{0,120})"""
    r"""[ \t]*\\?\r?"""
)
_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=]{16}")


def _lines_from(text: str, start: int, step: int) -> Iterator[tuple[int, int]]:
    """(start, end) of whole lines from the line holding `start`, going down (step 1) or up (step -1)."""
    begin = text.rfind("\n", 0, start) + 1
    while 0 <= begin <= len(text):
        end = text.find("\n", begin)
        end = len(text) if end == -1 else end
        yield begin, end
        if step > 0:
            if end == len(text):
                return
            begin = end + 1
        else:
            if begin == 0:
                return
            begin = text.rfind("\n", 0, begin - 1) + 1


def _body_end(text: str, after: int) -> int:
    """The end of a key body that starts after a BEGIN marker ending at `after` (no END in sight)."""
    lines = _lines_from(text, after, 1)
    _, first_end = next(lines)
    # The rest of the BEGIN line counts when it holds key material (a one-line string missing its END).
    end = first_end if _BODY_CHARS.search(text, after, first_end) else after
    for line_start, line_end in lines:
        if not _BODY_LINE.fullmatch(text, line_start, line_end):
            break
        if text[line_start:line_end].strip():
            end = line_end
    return end if _BODY_CHARS.search(text, after, end) else after


def _body_start(text: str, before: int) -> int:
    """The start of a key body that ends at an END marker starting at `before` (its BEGIN not in sight)."""
    start = text.rfind("\n", 0, before) + 1
    lines = _lines_from(text, before, -1)
    next(lines)
    for line_start, line_end in lines:
        if not _BODY_LINE.fullmatch(text, line_start, line_end):
            break
        start = line_start
    while start < before and text[start] in " \t\"'`":
        start += 1
    return start if _BODY_CHARS.search(text, start, before) else before


def _private_key_spans(text: str) -> list[tuple[int, int]]:
    """PEM/PGP private key blocks, whole (markers included); also a block cut off by the window's edge."""
    events = sorted([(m.start(), m.end(), True) for m in _PEM_BEGIN.finditer(text)] +
                    [(m.start(), m.end(), False) for m in _PEM_END.finditer(text)])  # fmt: skip
    spans: list[tuple[int, int]] = []
    opened: tuple[int, int] | None = None
    for start, end, is_begin in events:
        if is_begin:
            if opened is not None:
                spans.extend(_unclosed(text, *opened))
            # The latest BEGIN pairs with the next END: an earlier one may be a string in code.
            opened = (start, end)
        elif opened is not None:
            if _KEY_MATERIAL.search(text, opened[1], start):
                spans.append((opened[0], end))
            opened = None
        else:
            body = _body_start(text, start)
            if body < start:
                spans.append((body, end))
    if opened is not None:
        spans.extend(_unclosed(text, *opened))
    return spans


def _unclosed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span of a key whose END is not in the text, if key material follows its BEGIN marker."""
    body = _body_end(text, end)
    return [(start, body)] if body > end else []


# --- Redaction ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower-cased text with the same offsets (a few non-ASCII letters change length under `lower`)."""
    folded = text.lower()
    return folded if len(folded) == len(text) else text.translate(_ASCII_LOWER)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _candidates(text: str) -> list[tuple[int, int, int, str]]:
    """Every detector's matches as (start, end, priority, kind); a lower priority number is more specific."""
    folded = _fold(text)
    found: list[tuple[int, int, int, str]] = []
    if "PRIVATE KEY" in text:
        found.extend((start, end, 0, "private-key") for start, end in _private_key_spans(text))
    for priority, detector in enumerate(_DETECTORS, 1):
        for match in detector.regex.finditer(folded if detector.folded else text):
            at = match.start()
            if detector.not_after is not None and at > 0 and detector.not_after.match(text, at - 1):
                continue
            start, end = match.span("s")
            if detector.check is None or detector.check(text[start:end]):
                found.append((start, end, priority, detector.kind))
    generic = len(_DETECTORS) + 1
    found.extend((start, end, generic, kind) for start, end, kind in _assignment_candidates(text, folded))
    return found


def _every_occurrence(text: str, found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    """Add the other places each secret value appears (`login(user, "hunter22")` after the assignment)."""
    extra: list[tuple[int, int, int, str]] = []
    for value, (_, _, priority, kind) in {text[s:e]: (s, e, p, k) for s, e, p, k in found}.items():
        at = text.find(value)
        while at != -1:
            extra.append((at, at + len(value), priority, kind))
            at = text.find(value, at + 1)
    return found + extra


def _merge(found: list[tuple[int, int, int, str]]) -> list[Found]:
    """Overlapping spans become one; it takes the kind of its most specific detector."""
    merged: list[Found] = []
    best = 0
    for start, end, priority, kind in sorted(found):
        if merged and start < merged[-1].end:
            last = merged[-1]
            winner = kind if priority < best else last.kind
            best = min(best, priority)
            merged[-1] = Found(winner, last.start, max(last.end, end))
        else:
            merged.append(Found(kind, start, end))
            best = priority
    return merged


def redact(text: str) -> Redaction:
    """Replace every secret in `text` with its placeholder; never raises.

    Cheap when there is nothing to find: each detector runs only if its anchor text (`AKIA`, `ghp_`,
    `token`, ...) occurs at all.
    """
    found = _candidates(text)
    if not found:
        return Redaction(text, ())
    secrets = _merge(_every_occurrence(text, found))
    pieces: list[str] = []
    at = 0
    for secret in secrets:
        pieces.append(text[at : secret.start])
        pieces.append(secret.placeholder)
        at = secret.end
    pieces.append(text[at:])
    return Redaction("".join(pieces), tuple(secrets))
