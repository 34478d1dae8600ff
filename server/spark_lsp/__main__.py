"""Allows `python -m spark_lsp`."""

from spark_lsp.cli import main

raise SystemExit(main())
