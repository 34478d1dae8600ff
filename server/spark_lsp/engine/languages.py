"""LSP language ids from file names, for files read from disk (not opened by the editor)."""

from __future__ import annotations

import os

_EXTENSIONS: dict[str, str] = {
    ".mjs": "javascript",
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".sh": "shellscript",
    ".json": "json",
    ".css": "css",
    ".md": "markdown",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
}


def language_for(path: str) -> str:
    """The LSP language id a file name suggests ("plaintext" when unknown)."""
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower(), "plaintext")
