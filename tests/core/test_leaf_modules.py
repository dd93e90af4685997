"""The modules that own a concept every app uses stay leaves: durations, the session filter and
the expiry rules import no app, so any app may import them without a circle."""

import ast
from pathlib import Path

import pytest

import tokenadmin

PACKAGE = Path(tokenadmin.__file__).parent
# leaf module: what of tokenadmin it may import
LEAVES = {
    "core/durations.py": set(),
    "sessionindex/filters.py": {"tokenadmin.core.durations"},
    "sessionindex/expiry.py": {"tokenadmin.core.durations"},
}


def _tokenadmin_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                found.add("." * node.level + (node.module or ""))
            elif (node.module or "").startswith("tokenadmin"):
                found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tokenadmin")}
    return found


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_a_concepts_owner_imports_no_app(leaf):
    assert _tokenadmin_imports(PACKAGE / leaf) <= LEAVES[leaf]
