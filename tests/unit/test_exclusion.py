"""Content exclusion: built-in secrets files, ignore files with git's semantics, settings globs, URIs."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path, PureWindowsPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lsp.engine import exclusion
from spark_lsp.engine.exclusion import ExclusionPolicy, GlobError, builtin_exclusion, translate_glob


def _tree(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) under `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _excluded(policy: ExclusionPolicy, root: Path, relative: str) -> bool:
    return policy.decide(str(root / relative)) is not None


# --- Built-in secrets files ---


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "app/.env.local",
        ".env.production",
        "config/prod.env",
        ".envrc",
        "certs/server.pem",
        "tls/private.key",
        "store.p12",
        "cert.pfx",
        "AuthKey_ABC.p8",
        "home/.ssh/id_rsa",
        "deploy/id_ed25519",
        "id_ecdsa_sk",
        "u/.ssh/config",
        "u/.ssh/known_hosts",
        ".netrc",
        ".npmrc",
        ".pypirc",
        "android/release.keystore",
        "keys.jks",
        "credentials.json",
        "gcp/credentials-prod.json",
        "client_secret_1234.apps.googleusercontent.com.json",
        "config/secrets.yml",
        ".streamlit/secrets.toml",
        "u/.aws/credentials",
        "infra/terraform.tfstate",
        "infra/terraform.tfstate.backup",
        ".git-credentials",
        "www/.htpasswd",
        ".pgpass",
        "u/.docker/config.json",
        "u/.kube/config",
        "u/.config/gh/hosts.yml",
        "u/.config/gcloud/application_default_credentials.json",
        "repo/.git/config",
        "repo/.git/modules/lib/config",
        "SERVER.PEM",
    ],
)
def test_secrets_files_are_excluded_everywhere(path: str) -> None:
    found = builtin_exclusion("/home/me/" + path)
    assert found is not None and found.source == "builtin"
    assert found.reason.startswith(("looks like a secrets file (", "is version-control metadata ("))


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        ".env.sample",
        ".env.template",
        ".env.dist",
        "id_rsa.pub",
        ".ssh_helpers.py",
        "environment.py",
        "keyboard.py",
        "key.py",
        "monkey.ts",
        "secrets_manager.py",
        "src/credentials.py",
        "src/aws/credentials_provider.py",
        "repo/.git/COMMIT_EDITMSG",
        "repo/.git/rebase-merge/git-rebase-todo",
        ".gitignore",
        ".venv/.env/lib/site.py",
    ],
)
def test_near_misses_are_not_secrets_files(path: str) -> None:
    assert builtin_exclusion("/home/me/" + path) is None


def test_reasons_name_the_rule() -> None:
    policy = ExclusionPolicy.load([], [])
    assert policy.decide("/w/.env") == exclusion.Exclusion("looks like a secrets file (.env)", "builtin")
    assert policy.decide("/w/a/.ssh/x") == exclusion.Exclusion("looks like a secrets file (.ssh/)", "builtin")
    assert policy.decide("/w/.git/config") == exclusion.Exclusion(
        "is version-control metadata (.git/)", "builtin"
    )


# --- Ignore files with git's semantics ---


def test_gitignore_negation_directories_anchoring_and_globstar(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            ".gitignore": "\n".join(
                [
                    "# comment",
                    "*.log",
                    "!keep.log",
                    "build/",
                    "/top.txt",
                    "docs/*.html",
                    "**/generated",
                    "a/**/z.py",
                    "cache/**",
                    "trailing.txt   ",
                    r"\#hash.txt",
                    r"\!bang.txt",
                    "data[0-9].csv",
                    "?.tmp",
                    "",
                ]
            ),
            "build/x.py": "",
            "src/build": "",
        },
    )
    policy = ExclusionPolicy.load([root], [])
    excluded = [
        "x.log",
        "deep/er/x.log",
        "build/x.py",
        "pkg/build/deep/x.py",
        "top.txt",
        "docs/index.html",
        "generated/x.py",
        "src/generated/y.py",
        "src/generated",
        "a/z.py",
        "a/b/c/z.py",
        "cache/x",
        "cache/a/b",
        "trailing.txt",
        "#hash.txt",
        "!bang.txt",
        "data7.csv",
        "x.tmp",
    ]
    allowed = [
        "keep.log",
        "deep/keep.log",
        "src/build",  # `build/` matches directories only; this one is a file
        "sub/top.txt",
        "docs/sub/index.html",
        "b/z.py",
        "cache",
        "comment",
        "hash.txt",
        "dataX.csv",
        "xy.tmp",
        "main.py",
    ]
    assert [p for p in excluded if not _excluded(policy, root, p)] == []
    assert [p for p in allowed if _excluded(policy, root, p)] == []
    assert policy.decide(str(root / "pkg/build/deep/x.py")) == exclusion.Exclusion(
        "matches .gitignore (build/)", (root / ".gitignore").as_posix()
    )
    assert policy.problems == ()


def test_nested_ignore_files_apply_to_their_own_directory(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            ".gitignore": "*.gen\n",
            "pkg/.gitignore": "/dist\nlocal.cfg\n!keep.gen\n",
            "pkg/sub/.gitignore": "!local.cfg\n",
        },
    )
    policy = ExclusionPolicy.load([root], [])
    assert _excluded(policy, root, "pkg/dist/x.js")
    assert not _excluded(policy, root, "dist/x.js")
    assert not _excluded(policy, root, "pkg/sub/dist/x.js")
    assert _excluded(policy, root, "pkg/local.cfg")
    assert not _excluded(policy, root, "local.cfg")
    assert not _excluded(policy, root, "pkg/sub/local.cfg")  # the deeper file wins
    assert _excluded(policy, root, "x.gen")
    assert not _excluded(policy, root, "pkg/keep.gen")
    assert policy.decide(str(root / "pkg/dist/x.js")) == exclusion.Exclusion(
        "matches pkg/.gitignore (/dist)", (root / "pkg/.gitignore").as_posix()
    )


def test_a_file_inside_an_excluded_folder_cannot_be_re_included(tmp_path: Path) -> None:
    root = _tree(tmp_path, {".gitignore": "out/\n!out/keep.txt\nlogs/*\n!logs/keep.txt\n"})
    policy = ExclusionPolicy.load([root], [])
    assert _excluded(policy, root, "out/keep.txt")
    assert _excluded(policy, root, "logs/x.txt")
    assert not _excluded(policy, root, "logs/keep.txt")


def test_sparkignore_and_info_exclude(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            ".gitignore": "build/\n",
            ".sparkignore": "!build/\nprivate/\n*.draft.md\n",
            ".git/info/exclude": "scratch.py\n",
            "lib/.sparkignore": "fixtures/\n",
        },
    )
    policy = ExclusionPolicy.load([root], [])
    assert not _excluded(policy, root, "build/x.py")  # .sparkignore re-includes what git ignores
    assert policy.decide(str(root / "private/notes.txt")) == exclusion.Exclusion(
        "matches .sparkignore (private/)", (root / ".sparkignore").as_posix()
    )
    assert _excluded(policy, root, "doc/plan.draft.md")
    assert _excluded(policy, root, "lib/fixtures/a.json")
    assert not _excluded(policy, root, "fixtures/a.json")
    assert policy.decide(str(root / "src/scratch.py")) == exclusion.Exclusion(
        "matches .git/info/exclude (scratch.py)", (root / ".git/info/exclude").as_posix()
    )


def test_worktree_git_file_points_to_info_exclude(tmp_path: Path) -> None:
    common = _tree(
        tmp_path / "main.git", {"info/exclude": "local.txt\n", "worktrees/wt/commondir": "../..\n"}
    )
    root = _tree(tmp_path / "wt", {".git": f"gitdir: {common / 'worktrees/wt'}\n"})
    policy = ExclusionPolicy.load([root], [])
    assert _excluded(policy, root, "local.txt")


def test_a_workspace_folder_inside_a_repository_uses_the_repositorys_ignore_files(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo", {".git/HEAD": "", ".gitignore": "*.log\npackages/app/\n"})
    root = _tree(repo / "packages/app", {".gitignore": "tmp/\n"})
    policy = ExclusionPolicy.load([root], [])
    assert _excluded(policy, root, "x.log")
    assert _excluded(policy, root, "tmp/a.py")
    # The folder the user opened is never excluded as a whole, even if the repository ignores it.
    assert not _excluded(policy, root, "src/main.py")
    assert policy.decide(str(root / "x.log")) == exclusion.Exclusion(
        "matches .gitignore (*.log)", (repo / ".gitignore").as_posix()
    )
    assert policy.decide(str(root / "tmp/a.py")) == exclusion.Exclusion(
        "matches packages/app/.gitignore (tmp/)", (root / ".gitignore").as_posix()
    )


def test_bad_lines_are_problems_not_exceptions(tmp_path: Path) -> None:
    root = _tree(tmp_path, {".gitignore": "ok.txt\nbad[\ntrailing\\\n[z-a]\n[[:nope:]]\n"})
    policy = ExclusionPolicy.load([root], [])
    assert _excluded(policy, root, "ok.txt")
    assert not _excluded(policy, root, "bad[")
    assert len(policy.problems) == 4
    assert all(problem.startswith(".gitignore, line ") for problem in policy.problems)
    assert "unclosed '['" in policy.problems[0]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_agrees_with_git_check_ignore(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    patterns = {
        ".gitignore": "*.o\n!important.o\nbuild/\n/root-only.txt\ndoc/**/*.pdf\n**/tmp\nlib/*.a\n"
        "v[0-9].txt\ncache/**\n!cache/keep/\nname\\ with\\ space \n",
        "src/.gitignore": "local/\n!*.keep\n*.keep.txt\ngen-?.c\n",
        "src/deep/.gitignore": "!x.o\n/only-here.c\n",
        "misc/.gitignore": "*/inner.txt\n/anchored-dir/\nfile-not-dir/\n[!a]bc.txt\nw/**\n!w/keep\n",
    }
    _tree(root, patterns)
    paths = [
        "a.o",
        "important.o",
        "src/x.o",
        "src/deep/x.o",
        "build/a.c",
        "src/build/a.c",
        "root-only.txt",
        "src/root-only.txt",
        "doc/a.pdf",
        "doc/x/y/a.pdf",
        "tmp/a",
        "src/tmp/b",
        "lib/x.a",
        "lib/sub/x.a",
        "v1.txt",
        "v10.txt",
        "cache/a",
        "cache/keep/a",
        "name with space",
        "src/local/a.c",
        "src/a.keep",
        "src/a.keep.txt",
        "src/gen-1.c",
        "src/gen-12.c",
        "src/deep/only-here.c",
        "src/deep/more/only-here.c",
        "src/main.c",
        "misc/x/inner.txt",
        "misc/x/y/inner.txt",
        "misc/inner.txt",
        "misc/anchored-dir/a",
        "misc/sub/anchored-dir/a",
        "misc/file-not-dir",
        "misc/abc.txt",
        "misc/xbc.txt",
        "misc/w/a",
        "misc/w/keep",
        "misc/w/d/e",
    ]
    _tree(root, dict.fromkeys(paths, ""))
    result = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--stdin"],
        input="\n".join(paths),
        capture_output=True,
        text=True,
    )
    ignored_by_git = set(result.stdout.split("\n")) - {""}
    policy = ExclusionPolicy.load([root], [], ignore_case=False)
    ours = {path for path in paths if _excluded(policy, root, path)}
    assert ours == ignored_by_git


# --- Glob translation ---


def _backtracking(source: str) -> str:
    """The same regex without the committed (atomic) groups: the plain, possibly slow, meaning."""
    return source.replace("(?>[^/]*?", "(?:[^/]*").replace("(?>(?:.*?/)??", "(?:(?:.*/)?")


@settings(max_examples=400, deadline=None)
@given(st.text("ab/*?", max_size=10), st.text("ab/", max_size=12))
def test_committed_wildcards_match_like_plain_backtracking(glob: str, path: str) -> None:
    try:
        source = translate_glob(glob, braces=True)
    except GlobError:
        return
    fast = re.compile(source + r"\Z", re.DOTALL).match(path) is not None
    slow = re.compile(_backtracking(source) + r"\Z", re.DOTALL).match(path) is not None
    assert fast == slow


def test_hostile_patterns_stay_fast(tmp_path: Path) -> None:
    # Without committed wildcards each of these takes minutes to hours (polynomial backtracking).
    lines = ["*a*a*a*a*a*a*a*a*a*b", "**/a/**/a/**/a/**/a/**/b", "**/" * 12 + "zz"]
    root = _tree(tmp_path, {".gitignore": "\n".join(lines)})
    policy = ExclusionPolicy.load([root], lines)
    for relative in ("a" * 200, "a/" * 60 + "c", "b/" * 40 + "c"):
        assert policy.decide(str(root / relative)) is None


# --- Settings globs ---


def test_setting_globs_match_relative_paths_basenames_and_folders(tmp_path: Path) -> None:
    root = tmp_path
    globs = ["**/vendor/**", "*.secret.ts", "data/*.csv", "fixtures", "{gen,out}/**", "/opt/shared/**"]
    policy = ExclusionPolicy.load([root], globs)
    assert policy.decide(str(root / "a/vendor/lib.js")) == exclusion.Exclusion(
        "excluded by sparkLsp.exclude ('**/vendor/**')", "sparkLsp.exclude"
    )
    assert _excluded(policy, root, "vendor/lib.js")
    assert _excluded(policy, root, "src/app.secret.ts")
    assert _excluded(policy, root, "data/a.csv")
    assert not _excluded(policy, root, "data/sub/a.csv")
    assert _excluded(policy, root, "tests/fixtures/a/b.json")  # a glob matching a folder covers its files
    assert _excluded(policy, root, "gen/x.py")
    assert _excluded(policy, root, "out/y.py")
    assert not _excluded(policy, root, "src/main.py")
    assert policy.decide("/opt/shared/x.py") is not None
    assert policy.problems == ()


def test_bad_setting_globs_are_reported_and_skipped() -> None:
    policy = ExclusionPolicy.load([Path("/w")], ["ok/**", "bad[", "{unclosed", "!negated", "", "x\\"])
    assert len(policy.problems) == 5
    assert all(problem.startswith("sparkLsp.exclude: ") for problem in policy.problems)
    assert policy.decide("/w/ok/a.py") is not None


# --- Locations ---


def test_uris_and_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path / "my proj", {".gitignore": "build/\n"})
    policy = ExclusionPolicy.load([root.as_uri()], [])
    assert policy.decide((root / "build/a b.py").as_uri()) is not None
    assert policy.decide(str(root / "build/a b.py")) is not None
    assert policy.decide(str(root / "src/../build/x.py")) is not None
    assert policy.decide((root / "src/a.py").as_uri()) is None
    # A notebook cell lives in its notebook file on disk.
    cell = (
        "vscode-notebook-cell:"
        + (root / "build/nb.ipynb").as_posix().replace(" ", "%20")
        + "#W0sZmlsZQ%3D%3D"
    )
    assert policy.decide(cell) is not None
    # Relative paths are taken against the first workspace folder.
    assert policy.decide("build/x.py") is not None


def test_documents_not_on_disk_are_allowed_unless_a_glob_matches() -> None:
    policy = ExclusionPolicy.load([Path("/w")], ["Untitled-9"])
    assert policy.decide("untitled:Untitled-1") is None
    assert policy.decide("untitled:Untitled-9") is not None
    assert policy.decide("untitled:/tmp/.env") is not None


def test_files_outside_the_workspace_get_builtins_and_globs_only(tmp_path: Path) -> None:
    root = tmp_path / "w"
    other = _tree(tmp_path / "other", {".gitignore": "*\n"})
    policy = ExclusionPolicy.load([root], ["**/vendor/**"])
    assert policy.decide(str(other / "a.py")) is None
    assert policy.decide(str(other / ".env")) is not None
    assert policy.decide(str(other / "vendor/a.py")) is not None


def test_windows_drive_letter_uris() -> None:
    policy = ExclusionPolicy.load([PureWindowsPath(r"C:\Users\Me\Proj")], ["**/vendor/**"])
    assert policy.decide("file:///c%3A/Users/me/proj/vendor/x.py") is not None
    assert policy.decide("file:///C:/Users/Me/Proj/src/.env.local") is not None
    assert policy.decide(r"C:\Users\Me\Proj\src\main.py") is None
    assert policy.decide("file:///c%3A/Users/me/proj/src/main.py") is None


def test_nested_workspace_folders_use_the_innermost(tmp_path: Path) -> None:
    outer = _tree(tmp_path, {"inner/.gitignore": "x.py\n"})
    policy = ExclusionPolicy.load([outer, outer / "inner"], ["inner/y.py"])
    assert _excluded(policy, outer, "inner/x.py")
    # Relative to the innermost folder, `inner/y.py` is `y.py` (the basename does not match either).
    assert not _excluded(policy, outer, "inner/y.py")


# --- Laziness, caching and invalidation ---


def test_reads_only_the_path_to_the_file_once_and_again_after_invalidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path, {".gitignore": "*.log\n", "a/.gitignore": "", "b/.gitignore": ""})
    reads: list[Path] = []
    real_read = exclusion.read_ignore_file

    def counting_read(path: Path) -> str | None:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(exclusion, "read_ignore_file", counting_read)
    policy = ExclusionPolicy.load([root], [])
    assert reads == []
    assert policy.needs_io(str(root / "a/x.py"))
    policy.decide(str(root / "a/x.py"))
    assert {path.parent for path in reads} == {root, root / "a"}
    assert not policy.needs_io(str(root / "a/y.py"))
    reads.clear()
    policy.decide(str(root / "a/y.py"))
    policy.decide(str(root / "a/x.py"))
    assert reads == []

    (root / "a/.gitignore").write_text("y.py\n")
    assert policy.decide(str(root / "a/y.py")) is None  # cached until told
    assert policy.invalidate((root / "a/.gitignore").as_uri())
    assert policy.decide(str(root / "a/y.py")) is not None
    assert {path.parent for path in reads} == {root / "a"}
    assert not policy.invalidate(str(root / "a/main.py"))


def test_a_new_ignore_file_is_seen_after_invalidate(tmp_path: Path) -> None:
    root = tmp_path
    policy = ExclusionPolicy.load([root], [])
    assert policy.decide(str(root / "x/secret.txt")) is None
    _tree(root, {"x/.sparkignore": "secret.txt\n"})
    policy.invalidate(str(root / "x/.sparkignore"))
    assert policy.decide(str(root / "x/secret.txt")) is not None


def test_decide_speed(tmp_path: Path) -> None:
    gitignore = "\n".join(f"pattern_{i}/*.tmp\n!keep_{i}.tmp\n*.ext{i}" for i in range(60))
    root = _tree(tmp_path, {".gitignore": gitignore, "a/b/c/.gitignore": "*.gen\n"})
    policy = ExclusionPolicy.load([root], ["**/vendor/**", "*.secret"])
    deep = root / "a/b/c"
    started = time.perf_counter()
    policy.decide(str(deep / "first.py"))
    cold = time.perf_counter() - started
    rounds = 2000
    started = time.perf_counter()
    for i in range(rounds):
        policy.decide(str(deep / f"new_{i}.py"))
    new_file = (time.perf_counter() - started) / rounds
    uri = (deep / "main.py").as_uri()
    policy.decide(uri)
    started = time.perf_counter()
    for _ in range(rounds):
        policy.decide(uri)
    seen = (time.perf_counter() - started) / rounds
    print(
        f"\nexclusion.decide: first file (ignore files of 4 folders, one of 180 lines) {cold * 1e6:.0f} us; "
        f"new file in a seen folder {new_file * 1e6:.1f} us; seen file {seen * 1e6:.2f} us"
    )
