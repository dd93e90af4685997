"""The index's tables have one owner: only tokenadmin/sessionindex/ writes them. Other apps read
them, and a revoke drops rows through sessionindex/forget.py."""

import ast
from pathlib import Path

import tokenadmin

PACKAGE = Path(tokenadmin.__file__).parent
MODELS = {"IndexedSession", "RealmIndex", "SessionTombstone"}
WRITES = {"create", "bulk_create", "update", "delete", "get_or_create", "update_or_create", "save"}


def _writes_in(tree: ast.AST) -> list[int]:
    """Lines where a chain that starts at one of the index's models ends in a write."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES:
            continue
        inner: ast.AST = node.func.value
        while isinstance(inner, (ast.Attribute, ast.Call)):
            inner = inner.value if isinstance(inner, ast.Attribute) else inner.func
        if isinstance(inner, ast.Name) and inner.id in MODELS:
            found.append(node.lineno)
    return found


def test_only_sessionindex_writes_the_index_tables():
    writers = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "sessionindex":
            continue
        for line in _writes_in(ast.parse(path.read_text())):
            writers.append(f"{relative}:{line}")
    assert writers == []


def test_the_check_sees_a_write_through_a_queryset():
    tree = ast.parse("IndexedSession.objects.filter(realm='x').delete()")
    assert _writes_in(tree) == [1]
