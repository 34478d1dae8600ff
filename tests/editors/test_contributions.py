"""Every server setting the extension contributes (package.json) exists in the server's schema,
so the Settings UI never offers a key the server reports as unknown."""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import attrs
import pytest

from spark_lsp.config import Settings, camel
from tests.editors.conftest import EXTENSION

pytestmark = pytest.mark.editors

EXTENSION_ONLY = {"pythonPath", "server", "env", "trace"}


def server_keys(cls: type[Any], prefix: str = "") -> set[str]:
    """Dotted camelCase names of every setting, nested settings classes included."""
    keys: set[str] = set()
    hints = get_type_hints(cls)
    for field in attrs.fields(cls):
        name = prefix + camel(field.name)
        keys.add(name)
        if attrs.has(hints[field.name]):
            keys |= server_keys(hints[field.name], name + ".")
    return keys


def test_contributed_settings_are_server_settings() -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text())
    contributed = {
        key.removeprefix("sparkLsp.") for key in manifest["contributes"]["configuration"]["properties"]
    }
    server = server_keys(Settings)
    unknown = sorted(
        key for key in contributed if key.split(".")[0] not in EXTENSION_ONLY and key not in server
    )
    assert unknown == [], f"package.json contributes settings the server does not have: {unknown}"


def test_no_extension_only_key_clashes_with_a_server_setting() -> None:
    # The mapping drops these keys before the server sees them: a server setting of that name
    # could never be set from VS Code.
    assert EXTENSION_ONLY.isdisjoint(server_keys(Settings))
