"""The grading package keeps DESIGN.md's layout: HTTP only in routes, transactions only in
flows, services on the session they are given, lists paginated in the services, problems
raised by their declared kinds, and files a newcomer can read."""

import ast
from pathlib import Path

import pytest

import schoolbase.grading

PACKAGE = Path(schoolbase.grading.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
OPENS_TRANSACTIONS = {"as_user", "as_service", "service_statement", "begin", "commit"}
PAGINATES = {"paginate", "paginate_by", "page_of"}


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _called(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_layout(path: Path) -> None:
    source = path.read_text()
    tree = ast.parse(source)
    assert len(source.splitlines()) <= 450, "split it by concept"
    assert "Problem" not in _called(tree), "raise a kind declared in schoolbase.problems"
    if path.name != "routes.py":
        assert not {m for m in _imports(tree) if m.startswith("schoolbase.auth.deps")}, "only routes use HTTP deps"
    if path.name != "flows.py":
        assert not _called(tree) & OPENS_TRANSACTIONS, "only flows open (or end) transactions"
    if path.name == "routes.py":
        assert not _called(tree) & PAGINATES, "services return the Page"


def test_every_module_is_checked() -> None:
    names = {_name(path) for path in MODULES}
    assert {"grading/routes.py", "grading/grades.py", "grading/assist/flows.py", "grading/assist/service.py"} <= names
