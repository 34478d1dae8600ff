"""Content exclusion: decide which files must never be sent to a model (secrets, ignore files, settings)."""

from __future__ import annotations

import posixpath
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath
from urllib.parse import unquote, urlsplit

SETTING = "sparkLsp.exclude"
IGNORE_FILE_NAMES = (".gitignore", ".sparkignore")
# What a client should watch (`workspace/didChangeWatchedFiles`) and pass to `invalidate`.
WATCH_GLOBS = ("**/.gitignore", "**/.sparkignore", "**/.git/info/exclude", "**/.git")

# Files that hold credentials by convention, in gitignore syntax (the last matching line wins). They
# apply everywhere, also outside the workspace folders, and cannot be re-included by any setting.
BUILTIN_PATTERNS = (
    "*.env",
    ".env.*",
    ".env",
    ".envrc",
    # Templates that document the variables without values: useful context and not secret.
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    "!.env.dist",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.p8",
    "*.ppk",
    "*.keystore",
    "*.jks",
    "*.keytab",
    "*.kdbx",
    "*.ovpn",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "!id_*.pub",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".my.cnf",
    ".git-credentials",
    ".htpasswd",
    ".vault-token",
    ".boto",
    ".s3cfg",
    ".dockercfg",
    ".terraformrc",
    "terraform.rc",
    "*.tfstate",
    "*.tfstate.*",
    "credentials*.json",
    "client_secret*.json",
    "secrets.*",
    "**/.aws/credentials",
    "**/.docker/config.json",
    "**/.kube/config",
    "**/.cargo/credentials",
    "**/.cargo/credentials.toml",
    "**/.gem/credentials",
    "**/.config/gh/hosts.yml",
    "**/.ssh/**",
    "**/.gnupg/**",
    "**/.azure/**",
    "**/.config/gcloud/**",
    "**/.hg/hgrc",
    # Git's own files can hold remote URLs with tokens; commit messages are written in the editor.
    "**/.git/**",
    "!**/.git/COMMIT_EDITMSG",
    "!**/.git/MERGE_MSG",
    "!**/.git/TAG_EDITMSG",
    "!**/.git/**/git-rebase-todo",
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_DRIVE = re.compile(r"^/?([A-Za-z]):(?=/|$)")
_WINDOWS_LIKE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
# Schemes whose path is a file on disk (a notebook cell lives in its notebook file).
_DISK_SCHEMES = frozenset({"file", "vscode-notebook-cell", "vscode-notebook"})
_CASE_INSENSITIVE_PLATFORM = sys.platform in ("win32", "darwin")
_MAX_CACHED_FILES = 20_000

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}


@dataclass(frozen=True)
class Exclusion:
    """Why a file is never sent: `reason` is shown to the user, `source` names where the rule lives.

    `source` is "builtin", "sparkLsp.exclude" or the path of the ignore file.
    """

    reason: str
    source: str


class GlobError(ValueError):
    """A glob that cannot be used; the message says why, for the user."""


# --- Glob translation -----------------------------------------------------------------------------


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """Translate the bracket expression opening at `start`; returns its regex and the index after it."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    i += negate
    items: list[str] = []
    first = True
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and not first:
            body = "".join(items)
            # Neither `*` nor a bracket may match a path separator.
            return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), i + 1
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end != -1:
                name = pattern[i + 2 : end]
                if name not in _POSIX_CLASSES:
                    raise GlobError(f"unknown character class '[:{name}:]'")
                items.append(_POSIX_CLASSES[name])
                i = end + 2
                continue
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            high = pattern[i + 2]
            if high < char:
                raise GlobError(f"reversed range '{char}-{high}'")
            items.append(f"{re.escape(char)}-{re.escape(high)}")
            i += 3
            continue
        items.append(re.escape(char))
        i += 1
    raise GlobError("unclosed '['")


def _is_segment_start(pattern: str, i: int, braces: bool) -> bool:
    """Whether index `i` starts a path segment (so `**` there spans directories)."""
    return i == 0 or pattern[i - 1] == "/" or (braces and pattern[i - 1] in "{,")


def _is_segment_end(pattern: str, i: int, braces: bool) -> bool:
    """Whether index `i` ends a path segment."""
    return i == len(pattern) or pattern[i] == "/" or (braces and pattern[i] in ",}")


def _commit(out: list[str], index: int, lazy: str) -> None:
    """Turn the greedy wildcard at `out[index]` and what follows into an atomic leftmost match.

    A wildcard followed by more wildcards would make `re` backtrack polynomially (`*a*a*a*b` against a
    long name, `**/a/**/a/**/b` against a deep path: a hang on a hostile ignore file). The text
    between two wildcards has a fixed length, so its leftmost match is always a right one (the next
    wildcard absorbs the rest) and can be committed, as `fnmatch` does.
    """
    if index >= 0:
        out[index] = lazy
        out.append(")")


def translate_glob(pattern: str, braces: bool = False) -> str:
    """Regex source for a glob: `*`, `?`, `[...]`, `**` as a whole segment, `\\` escapes, `{a,b}` if `braces`.

    Raises GlobError for syntax the matcher cannot use (unclosed `[` or `{`, a trailing backslash).
    """
    out: list[str] = []
    i, depth = 0, 0
    # Indexes in `out` of the last `*` in this name and of the last `**/`, while still greedy.
    star, globstar = -1, -1
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            end = i
            while end < len(pattern) and pattern[end] == "*":
                end += 1
            whole = (
                end - i >= 2
                and _is_segment_start(pattern, i, braces)
                and _is_segment_end(pattern, end, braces)
            )
            if whole:
                _commit(out, globstar, "(?>(?:.*?/)??")
                star, globstar = -1, len(out)
                if end < len(pattern) and pattern[end] == "/":
                    out.append("(?:.*/)?")
                    end += 1
                else:
                    out.append(".*")
            else:
                # git: "other consecutive asterisks are considered regular asterisks".
                _commit(out, star, "(?>[^/]*?")
                star = len(out)
                out.append("[^/]*")
            i = end
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            regex, i = _bracket(pattern, i)
            out.append(regex)
            continue
        elif char == "\\":
            if i + 1 == len(pattern):
                raise GlobError("ends with a backslash")
            i += 1
            out.append(re.escape(pattern[i]))
        elif braces and (char == "{" or (depth and char in ",}")):
            # A committed group must not straddle a brace's alternatives.
            star, globstar = -1, -1
            depth += {"{": 1, ",": 0, "}": -1}[char]
            out.append({"{": "(?:", ",": "|", "}": ")"}[char])
        else:
            star = -1 if char == "/" else star
            out.append(re.escape(char))
        i += 1
    if depth:
        raise GlobError("unclosed '{'")
    return "".join(out)


@lru_cache(maxsize=8192)
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    """A regex compiled on first use: most lines of a long ignore file never need their own regex."""
    return re.compile(source, flags)


@dataclass(frozen=True)
class _Rule:
    """One gitignore line as a regex source, for the basename (no `/` in the pattern) or the relative path."""

    pattern: str
    source: str
    negated: bool
    dir_only: bool
    basename: bool
    flags: int

    def matches(self, name: str, relative: str) -> bool:
        """Whether the line matches an entry (its name and its path relative to the ignore file)."""
        return _compiled(self.source, self.flags).match(name if self.basename else relative) is not None


def _strip_trailing_spaces(line: str) -> str:
    """Drop trailing spaces unless escaped with a backslash, as git does."""
    stripped = line.rstrip(" ")
    # `\ ` keeps the escaped space (the pattern translation turns `\ ` into a space).
    return stripped + " " if stripped.endswith("\\") and len(stripped) < len(line) else stripped


def parse_gitignore_line(line: str, flags: int = 0) -> _Rule | None:
    """Translate one gitignore line; None for blanks and comments; GlobError for bad syntax."""
    text = _strip_trailing_spaces(line.rstrip("\r"))
    if not text or text.startswith("#"):
        return None
    body = text[1:] if text.startswith("!") else text
    dir_only = body.endswith("/")
    body = body[:-1] if dir_only else body
    # A separator at the start or in the middle anchors the pattern to the ignore file's directory;
    # without one it matches a name at any depth, and since `*` never matches `/`, only the last name.
    basename = "/" not in body
    body = body.removeprefix("/")
    if not body:
        return None
    source = translate_glob(body) + r"\Z"
    return _Rule(text, source, text.startswith("!"), dir_only, basename, flags)


@dataclass(frozen=True)
class _Quick:
    """One regex for all basename rules and one for all path rules: a miss costs two C-level matches."""

    names: re.Pattern[str] | None
    paths: re.Pattern[str] | None

    @staticmethod
    def of(rules: Sequence[_Rule], flags: int) -> _Quick:
        """The combined regexes of `rules`."""

        def combined(sources: list[str]) -> re.Pattern[str] | None:
            return re.compile("|".join(f"(?:{source})" for source in sources), flags) if sources else None

        return _Quick(
            combined([rule.source for rule in rules if rule.basename]),
            combined([rule.source for rule in rules if not rule.basename]),
        )

    def matches(self, name: str, relative: str) -> bool:
        """Whether any rule could match."""
        return bool(
            (self.names is not None and self.names.match(name))
            or (self.paths is not None and self.paths.match(relative))
        )


@dataclass(frozen=True)
class _RuleFile:
    """The rules of one ignore file; `depth` is how many path parts its directory has."""

    depth: int
    label: str
    source: str
    rules: tuple[_Rule, ...]
    for_files: _Quick
    for_dirs: _Quick


def _rule_file(
    depth: int, label: str, source: str, lines: Iterable[str], flags: int
) -> tuple[_RuleFile, list[str]]:
    """Translate an ignore file's lines; bad lines are skipped and described in the returned problems."""
    rules: list[_Rule] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        try:
            rule = parse_gitignore_line(line, flags)
        except (GlobError, re.error) as error:
            problems.append(f"{label}, line {number}: {error} in '{line.strip()}'; the line is ignored")
            continue
        if rule is not None:
            rules.append(rule)
    for_files = _Quick.of([rule for rule in rules if not rule.dir_only], flags)
    return _RuleFile(depth, label, source, tuple(rules), for_files, _Quick.of(rules, flags)), problems


def _first_match(
    stack: Sequence[_RuleFile], parts: Sequence[str], is_dir: bool
) -> tuple[_Rule, _RuleFile] | None:
    """The rule that decides `parts`: deeper files override shallower ones, later lines earlier ones."""
    name = parts[-1]
    for rule_file in reversed(stack):
        relative = "/".join(parts[rule_file.depth :])
        quick = rule_file.for_dirs if is_dir else rule_file.for_files
        if not quick.matches(name, relative):
            continue
        for rule in reversed(rule_file.rules):
            if (is_dir or not rule.dir_only) and rule.matches(name, relative):
                return rule, rule_file
    return None


def _builtin_display(pattern: str) -> str:
    """A built-in pattern as the user would write it (`**/.ssh/**` reads as `.ssh/`)."""
    text = pattern.removeprefix("**/")
    return text[:-2] if text.endswith("/**") else text


_BUILTINS, _BUILTIN_PROBLEMS = _rule_file(
    0, "built-in", "builtin", BUILTIN_PATTERNS, re.IGNORECASE | re.DOTALL
)
assert not _BUILTIN_PROBLEMS, _BUILTIN_PROBLEMS


def builtin_exclusion(path: str) -> Exclusion | None:
    """The built-in secrets-file rule for a `/`-separated path (absolute or not), if one matches."""
    found = _first_match((_BUILTINS,), path.split("/"), is_dir=False)
    if found is None or found[0].negated:
        return None
    pattern = _builtin_display(found[0].pattern)
    if pattern.startswith((".git/", ".hg/")):
        return Exclusion(f"is version-control metadata ({pattern})", "builtin")
    return Exclusion(f"looks like a secrets file ({pattern})", "builtin")


# --- The user's globs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Glob:
    """One `sparkLsp.exclude` glob."""

    text: str
    regex: re.Pattern[str]
    absolute: bool
    dir_only: bool


def _is_absolute(path: str) -> bool:
    """Whether a normalised path is absolute (`/x`, `c:/x`, `//host/share`)."""
    return path.startswith("/") or bool(_DRIVE.match(path))


def parse_setting_glob(text: str, flags: int) -> _Glob:
    """Compile one `sparkLsp.exclude` glob (VS Code syntax: `*`, `?`, `**`, `[...]`, `{a,b}`)."""
    glob = text.strip()
    if not glob:
        raise GlobError("empty glob")
    if glob.startswith("!"):
        raise GlobError("negation is not supported here (use '!' in a .sparkignore file)")
    glob = glob.removeprefix("./")
    dir_only = glob.endswith("/") and len(glob) > 1
    glob = glob.rstrip("/") if dir_only else glob
    absolute = _is_absolute(glob)
    if absolute:
        glob = _normalise(glob)
    return _Glob(text, re.compile(translate_glob(glob, braces=True) + r"\Z", flags), absolute, dir_only)


# --- Paths and URIs ------------------------------------------------------------------------------


def _normalise(path: str) -> str:
    """A path with `/` separators, a lower-case drive letter and no `.`/`..` parts."""
    if _WINDOWS_LIKE.match(path):
        path = path.replace("\\", "/")
    drive = _DRIVE.match(path)
    if drive:
        path = drive.group(1).lower() + ":" + (path[drive.end() :] or "/")
    return posixpath.normpath(path) if path else path


def parse_location(uri_or_path: str) -> tuple[str, bool]:
    """The normalised path of a URI or a plain path, and whether it names a file on disk."""
    scheme = _SCHEME.match(uri_or_path)
    if scheme is None:
        return _normalise(uri_or_path), True
    name = scheme.group(1).lower()
    parts = urlsplit(uri_or_path)
    path = unquote(parts.path)
    if name == "file" and parts.netloc and parts.netloc.lower() != "localhost":
        path = f"//{parts.netloc}{path}"
    return _normalise(path), name in _DISK_SCHEMES


def _path_of(parts: Sequence[str]) -> Path:
    """The filesystem path for split path parts."""
    text = "/".join(parts)
    return Path(text + "/" if text.endswith(":") or not text else text)


# --- Reading from disk (the only functions that touch the filesystem) ---------------------------


def read_ignore_file(path: Path) -> str | None:
    """The text of an ignore file, or None when it is missing or unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    except OSError:
        return None


def has_git_marker(directory: Path) -> bool:
    """Whether a directory is the top of a git working tree (holds `.git`, a folder or a file)."""
    try:
        return (directory / ".git").exists()
    except OSError:
        return False


def git_info_exclude(directory: Path) -> Path | None:
    """The `info/exclude` file of the repository whose working tree starts at `directory`, if any."""
    marker = directory / ".git"
    try:
        if marker.is_dir():
            return marker / "info" / "exclude"
        if not marker.is_file():
            return None
        # Worktrees and submodules: `.git` is a file naming the real git directory.
        text = marker.read_text(encoding="utf-8", errors="replace").strip()
        if not text.startswith("gitdir:"):
            return None
        git_dir = directory / text.removeprefix("gitdir:").strip()
        common = git_dir / "commondir"
        if common.is_file():
            git_dir = git_dir / common.read_text(encoding="utf-8", errors="replace").strip()
        return git_dir / "info" / "exclude"
    except OSError:
        return None


# --- The policy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Root:
    """A workspace folder, split into path parts (and folded for comparison)."""

    parts: tuple[str, ...]
    folded: tuple[str, ...]


@dataclass(frozen=True)
class _DirState:
    """What is known about one directory: whether it is excluded, and the ignore files that apply inside."""

    excluded: Exclusion | None
    stack: tuple[_RuleFile, ...]


class ExclusionPolicy:
    """Decides, per document, whether its content may be sent to a model.

    Rules, first match giving the reason:
    1. built-in secrets-file patterns (`BUILTIN_PATTERNS`), everywhere;
    2. `sparkLsp.exclude` globs, matched against the workspace-relative path and the basename (a glob
       matching a folder excludes everything in it; an absolute glob matches the absolute path);
    3. for files inside a workspace folder: `.gitignore`, `.sparkignore` and `.git/info/exclude` with
       git's semantics (negation, `dir/`, anchoring, `**`, nested files for their own directory, no
       re-including a file whose folder is excluded). A `.sparkignore` is read after the `.gitignore`
       beside it, so its `!pattern` can re-include what git ignores. Reading starts at the enclosing
       repository's top (a workspace folder may be a sub-folder of a repository), but a workspace folder
       and the folders above it are never excluded as a whole: the user opened them on purpose.

    Files outside every workspace folder are allowed unless rule 1 or 2 matches (their ignore files are
    not read). Documents not on disk (`untitled:`) are matched by rules 1 and 2 against their path.
    Nothing is read at construction; ignore files are read on the first `decide` in their directory and
    cached until `invalidate`. Safe to call from several threads.
    """

    def __init__(
        self, roots: Sequence[PurePath | str], globs: Sequence[str], ignore_case: bool | None = None
    ) -> None:
        normalised = [parse_location(str(root))[0] for root in roots]
        if ignore_case is None:
            ignore_case = _CASE_INSENSITIVE_PLATFORM or any(_DRIVE.match(root) for root in normalised)
        self._ignore_case = ignore_case
        # DOTALL: a file name may contain a line break, and `**` must still match it.
        self._flags = (re.IGNORECASE if ignore_case else 0) | re.DOTALL
        roots_parts = [tuple(root.split("/")) for root in normalised if _is_absolute(root)]
        self._first_root = roots_parts[0] if roots_parts else None
        # Deepest first, so a file in nested workspace folders belongs to the innermost one.
        self._roots = sorted(
            (_Root(parts, self._fold(parts)) for parts in roots_parts), key=lambda r: -len(r.parts)
        )
        self._problems: list[str] = []
        self._globs = self._compile_globs(globs)
        self._files: dict[str, Exclusion | None] = {}
        self._dirs: dict[tuple[int, tuple[str, ...]], _DirState] = {}
        self._rule_files: dict[tuple[str, ...], tuple[_RuleFile, ...]] = {}
        self._bases: dict[int, int] = {}
        self._lock = threading.RLock()

    @classmethod
    def load(
        cls, roots: Sequence[PurePath | str], globs: Sequence[str], ignore_case: bool | None = None
    ) -> ExclusionPolicy:
        """A policy for these workspace folders and `sparkLsp.exclude` globs; reads nothing yet."""
        return cls(roots, globs, ignore_case)

    @property
    def problems(self) -> tuple[str, ...]:
        """Bad globs in the setting and in ignore files read so far, as text for the user."""
        return tuple(self._problems)

    def decide(self, uri_or_path: str) -> Exclusion | None:
        """None if the document may be sent, else why not. May read ignore files on first use of a folder."""
        try:
            return self._files[uri_or_path]
        except KeyError:
            pass
        with self._lock:
            result = self._decide(uri_or_path)
            if len(self._files) >= _MAX_CACHED_FILES:
                self._files.clear()
            self._files[uri_or_path] = result
        return result

    def needs_io(self, uri_or_path: str) -> bool:
        """Whether `decide` would read from disk (call it off the event loop then)."""
        if uri_or_path in self._files:
            return False
        path, on_disk = parse_location(uri_or_path)
        parts = tuple(self._absolute(path).split("/"))
        index = self._root_of(parts) if on_disk else None
        if index is None:
            return False
        return index not in self._bases or (index, self._fold(parts[:-1])) not in self._dirs

    def invalidate(self, uri_or_path: str | PurePath) -> bool:
        """Forget what was read from an ignore file (or `.git`) that changed; True if it was one."""
        path = parse_location(str(uri_or_path))[0]
        parts = tuple(path.split("/"))
        if parts[-1] in IGNORE_FILE_NAMES:
            directory = parts[:-1]
        elif parts[-3:] == (".git", "info", "exclude"):
            directory = parts[:-3]
        elif parts[-1] == ".git":
            directory = parts[:-1]
        else:
            return False
        with self._lock:
            self._rule_files.pop(self._fold(directory), None)
            if parts[-1] == ".git":
                self._bases.clear()
            # Folder states and file answers are cheap to rebuild from the cached ignore files.
            self._dirs.clear()
            self._files.clear()
        return True

    # --- internals ---

    def _fold(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        """Path parts as compared: lower-case on case-insensitive file systems."""
        return tuple(part.lower() for part in parts) if self._ignore_case else parts

    def _compile_globs(self, globs: Sequence[str]) -> tuple[_Glob, ...]:
        """Compile the setting's globs; bad ones become problems and are skipped."""
        compiled: list[_Glob] = []
        for glob in globs:
            try:
                compiled.append(parse_setting_glob(glob, self._flags))
            except (GlobError, re.error) as error:
                self._problems.append(f"{SETTING}: {error} in '{glob}'; the glob is ignored")
        return tuple(compiled)

    def _absolute(self, path: str) -> str:
        """A relative path taken against the first workspace folder."""
        if _is_absolute(path) or self._first_root is None:
            return path
        return _normalise("/".join(self._first_root) + "/" + path)

    def _root_of(self, parts: tuple[str, ...]) -> int | None:
        """The index of the innermost workspace folder strictly containing `parts`."""
        folded = self._fold(parts)
        for index, root in enumerate(self._roots):
            if len(folded) > len(root.folded) and folded[: len(root.folded)] == root.folded:
                return index
        return None

    def _decide(self, uri_or_path: str) -> Exclusion | None:
        """The uncached decision."""
        path, on_disk = parse_location(uri_or_path)
        path = self._absolute(path) if on_disk else path
        parts = tuple(path.split("/"))
        builtin = builtin_exclusion(path)
        if builtin is not None:
            return builtin
        index = self._root_of(parts) if on_disk else None
        if index is None:
            return self._setting_match(path.lstrip("/"), parts[-1], path, is_dir=False)
        state = self._dir_state(index, parts[:-1])
        if state.excluded is not None:
            return state.excluded
        relative = "/".join(parts[len(self._roots[index].parts) :])
        return self._setting_match(relative, parts[-1], path, is_dir=False) or self._ignore_match(
            state.stack, parts, is_dir=False
        )

    def _setting_match(self, relative: str, name: str, absolute: str, is_dir: bool) -> Exclusion | None:
        """The first `sparkLsp.exclude` glob matching the path or its basename."""
        for glob in self._globs:
            if glob.dir_only and not is_dir:
                continue
            hit = (
                glob.regex.match(absolute)
                if glob.absolute
                else glob.regex.match(relative) or glob.regex.match(name)
            )
            if hit:
                return Exclusion(f"excluded by {SETTING} ('{glob.text}')", SETTING)
        return None

    @staticmethod
    def _ignore_match(stack: Sequence[_RuleFile], parts: Sequence[str], is_dir: bool) -> Exclusion | None:
        """The exclusion from ignore files, unless no line matches or the deciding line is a negation."""
        found = _first_match(stack, parts, is_dir)
        if found is None or found[0].negated:
            return None
        rule, rule_file = found
        return Exclusion(f"matches {rule_file.label} ({rule.pattern})", rule_file.source)

    def _base_depth(self, index: int) -> int:
        """How many parts the top of the repository holding workspace folder `index` has (or the folder's)."""
        depth = self._bases.get(index)
        if depth is None:
            parts = self._roots[index].parts
            depth = next(
                (size for size in range(len(parts), 0, -1) if has_git_marker(_path_of(parts[:size]))),
                len(parts),
            )
            self._bases[index] = depth
        return depth

    def _dir_state(self, index: int, directory: tuple[str, ...]) -> _DirState:
        """The state of a directory at or below the base of workspace folder `index` (cached)."""
        key = (index, self._fold(directory))
        state = self._dirs.get(key)
        if state is not None:
            return state
        base = self._base_depth(index)
        if len(directory) <= base:
            state = _DirState(None, self._rule_files_in(directory, base))
        else:
            parent = self._dir_state(index, directory[:-1])
            state = self._child_state(index, parent, directory, base)
        self._dirs[key] = state
        return state

    def _child_state(self, index: int, parent: _DirState, directory: tuple[str, ...], base: int) -> _DirState:
        """A directory's state from its parent's: an excluded folder is never entered (as in git)."""
        if parent.excluded is not None:
            return parent
        root = self._roots[index].parts
        if len(directory) > len(root):
            relative = "/".join(directory[len(root) :])
            path = "/".join(directory)
            excluded = self._setting_match(relative, directory[-1], path, is_dir=True) or self._ignore_match(
                parent.stack, directory, is_dir=True
            )
            if excluded is not None:
                return _DirState(excluded, parent.stack)
        return _DirState(None, parent.stack + self._rule_files_in(directory, base))

    def _rule_files_in(self, directory: tuple[str, ...], base: int) -> tuple[_RuleFile, ...]:
        """The ignore files in one directory, lowest precedence first (read once, then cached)."""
        key = self._fold(directory)
        cached = self._rule_files.get(key)
        if cached is not None:
            return cached
        folder = _path_of(directory)
        prefix = "".join(f"{part}/" for part in directory[base:])
        sources: list[tuple[str, Path]] = []
        exclude = git_info_exclude(folder)
        if exclude is not None:
            sources.append((f"{prefix}.git/info/exclude", exclude))
        sources.extend((prefix + name, folder / name) for name in IGNORE_FILE_NAMES)
        files: list[_RuleFile] = []
        for label, path in sources:
            text = read_ignore_file(path)
            if text is None:
                continue
            rule_file, problems = _rule_file(
                len(directory), label, path.as_posix(), text.split("\n"), self._flags
            )
            self._problems.extend(problems)
            if rule_file.rules:
                files.append(rule_file)
        self._rule_files[key] = tuple(files)
        return self._rule_files[key]
