"""Finds and reads the files the benchmark retypes (the shared corpus by default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spark_lsp.engine.languages import language_for


@dataclass(frozen=True)
class SourceFile:
    """One file to retype; `name` is unique within a run and names the file in reports."""

    name: str
    path: Path
    text: str
    language_id: str


def default_corpus_dir() -> Path:
    """`../shared/corpus` next to the repository (found from this file, else from the working directory)."""
    repo = Path(__file__).resolve().parents[3]
    for candidate in (repo.parent / "shared" / "corpus", Path.cwd().parent / "shared" / "corpus"):
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "corpus"


def corpus_paths(directory: Path) -> list[Path]:
    """Source files directly in `directory` (subdirectories such as LICENSES and dotfiles are skipped)."""
    return sorted(path for path in directory.iterdir() if path.is_file() and not path.name.startswith("."))


def language_of(path: Path) -> str:
    """The LSP language id for a file name."""
    return language_for(path.name)


def load_sources(paths: list[Path]) -> list[SourceFile]:
    """Read files as UTF-8 (newlines kept as they are), giving each a unique display name."""
    sources: list[SourceFile] = []
    seen: set[str] = set()
    for path in paths:
        name = path.name
        suffix = 2
        while name in seen:
            name = f"{path.stem}-{suffix}{path.suffix}"
            suffix += 1
        seen.add(name)
        text = path.read_text(encoding="utf-8")
        sources.append(SourceFile(name, path, text, language_of(path)))
    return sources
