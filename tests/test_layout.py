"""The architecture's rules about the code itself (docs/architecture.md), checked on the source:
one way into the database, HTTP only in routes, transactions owned by whoever starts the work,
lists paginated in the services, problem kinds declared once, files a newcomer can read."""

import ast
from functools import cache
from pathlib import Path

import pytest

from schoolbase import problems

SOURCE = Path(problems.__file__).parent
MODULES = sorted(p for p in SOURCE.rglob("*.py") if "migrations" not in p.relative_to(SOURCE).parts)
MAX_LINES = 450
OPENS_TRANSACTIONS = {"as_user", "as_service", "service_statement", "begin", "commit"}
PAGINATES = {"paginate", "paginate_by", "page_of"}
# Who may start work and so own its transactions: a request (its routes and the Session
# dependency), a flow, a job, a CLI command,
# the AI gateway (admission and settlement around the provider call) and db/ itself.
OWNERS = {"routes.py", "deps.py", "flows.py", "jobs.py", "cli.py", "app.py", "gateway.py"}


def relative(path: Path) -> str:
    return path.relative_to(SOURCE).as_posix()


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def called(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_every_module_is_checked():
    names = {relative(p) for p in MODULES}
    assert {"db/engine.py", "grading/grades.py", "resources/flows.py", "meetings/sessions.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_only_db_sets_the_role_and_claims(path: Path):
    if not relative(path).startswith("db/"):
        assert "set_config" not in path.read_text(), "open database contexts through schoolbase.db"


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_only_routes_use_the_http_dependencies(path: Path):
    if path.name != "routes.py" and relative(path) != "auth/deps.py":
        assert not {m for m in imported(path) if m.startswith("schoolbase.auth.deps")}


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_services_never_open_or_end_transactions(path: Path):
    if path.name not in OWNERS and not relative(path).startswith("db/"):
        assert not called(path) & OPENS_TRANSACTIONS, "the request, flow, job or command owns the transaction"


@pytest.mark.parametrize("path", [p for p in MODULES if p.name == "routes.py"], ids=relative)
def test_routes_leave_paging_to_the_services(path: Path):
    assert not called(path) & PAGINATES, "services take PageParams and return the Page"


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_files_stay_small(path: Path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, "split it by concept"


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_problems_are_raised_by_kind(path: Path):
    """``Problem(status, "slug", "Title")`` written inline would let one type drift into two
    titles or statuses: every kind is declared once in problems.py."""
    if relative(path) not in ("problems.py", "errors.py"):
        assert "Problem" not in called(path), "raise a kind declared in schoolbase.problems"


def test_each_problem_type_has_one_status():
    kinds = [value for value in vars(problems).values() if isinstance(value, problems.ProblemKind)]
    statuses: dict[str, set[int]] = {}
    for kind in kinds:
        statuses.setdefault(kind.slug, set()).add(kind.status)
    assert len(kinds) > 40
    assert {slug: s for slug, s in statuses.items() if len(s) > 1} == {}


def test_a_kind_makes_a_problem_with_its_declared_parts():
    problem = problems.SESSION_OVERLAP("in the way", conflicting_session={"id": "x"})
    assert (problem.status, problem.kind, problem.title) == (409, "session-overlap", "Room already booked")
    assert (problem.detail, problem.extra) == ("in the way", {"conflicting_session": {"id": "x"}})


def test_responses_document_kinds_by_status():
    documented = problems.responses(problems.AI_PROVIDER_BUSY, problems.NO_PRICE, problems.AI_RATE_LIMITED)
    assert sorted(documented) == [429, 503]
    assert documented[503]["description"] == "AI provider busy (`ai-provider-busy`); No price (`no-price`)"
    assert documented[429]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
