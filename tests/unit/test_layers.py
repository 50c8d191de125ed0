"""The house rules the import contract cannot see: doors translate, services write.

A door (an API view or serializer, the console's views, a CLI command, an admin module)
changes state only by calling an area's service. So no door calls the ORM's write
methods or writes an audit entry itself. The import contract (``lint-imports``, in
``make lint``) checks the layers; this checks the doors' calls.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "scriptdeck"
DOORS = [
    *sorted((PACKAGE / "api").rglob("*.py")),
    *sorted((PACKAGE / "console").rglob("*.py")),
    *sorted((PACKAGE / "cli").rglob("*.py")),
    *sorted(PACKAGE.glob("*/admin.py")),
]
# The ORM's write methods, and the audit log's.
WRITES = {
    "create",
    "bulk_create",
    "get_or_create",
    "update_or_create",
    "update",
    "bulk_update",
    "delete",
    "save",
    "record",
}
# Receivers whose methods of these names are not model writes.
NOT_MODELS = {"response", "headers", "digest", "hasher", "parser", "subparsers", "kwargs"}


def writes_in(path: Path) -> list[str]:
    """``name.method(...)`` calls of a write method in ``path``, as "line: text"."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES:
            continue
        receiver = node.func.value
        name = receiver.id if isinstance(receiver, ast.Name) else None
        if name in NOT_MODELS or (node.func.attr == "update" and name is None and _dict(receiver)):
            continue
        if node.func.attr == "record" and name != "audit":
            continue
        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)[:90]}")
    return found


def _dict(node: ast.expr) -> bool:
    return isinstance(node, ast.Dict | ast.DictComp | ast.Call) and not isinstance(
        getattr(node, "func", None), ast.Attribute
    )


@pytest.mark.parametrize("door", DOORS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_door_changes_state_only_through_a_service(door):
    assert writes_in(door) == []


def test_the_check_sees_a_write_at_a_door(tmp_path):
    door = PACKAGE / "api" / "views.py"
    broken = tmp_path / "views.py"
    broken.write_text(
        door.read_text(encoding="utf-8")
        + "\n\ndef _careless(script):\n    script.save()\n    audit.record('x')\n",
        encoding="utf-8",
    )
    text = "\n".join(writes_in_file(broken))
    assert "script.save()" in text and "audit.record('x')" in text


def writes_in_file(path: Path) -> list[str]:
    global PACKAGE
    saved, PACKAGE = PACKAGE, path.parent
    try:
        return writes_in(path)
    finally:
        PACKAGE = saved
