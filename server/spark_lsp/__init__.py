"""spark-lsp: an AI language server (inline completions, quick-fixes, hover) on a fast model."""

__version__ = "0.1.0"
