"""Schemathesis over the whole OpenAPI document, as a teacher and as an org admin, against the
real app and database. Fails on any 5xx and on any answer its operation does not document
(status code, content type, body schema).

Each run gets organizations and people of its own (``build_world`` with its own tag), so what
the fuzz creates, changes or deletes cannot disturb other tests; it only leaves alone what would
end its own identity's sessions. Requests go through the session's app in-process (httpx over
ASGI, on the event loop the app and its database pool live on), while Hypothesis draws the cases
in a worker thread: derandomized, a few examples per operation and generation mode, no
shrinking, so the run is the same every time and bounded. Ids that earlier cases create (a
class, a room, an assignment…) are used as path parameters by later ones, so the fuzz reaches
past 404s; deletions run last.

``SCHOOLBASE_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 4)."""

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import build_world, signed_in

EXAMPLES = int(os.environ.get("SCHOOLBASE_FUZZ_EXAMPLES", "1"))
COVERAGE = int(os.environ.get("SCHOOLBASE_FUZZ_COVERAGE", "5"))
REQUEST_TIMEOUT = 30.0
BASE_URL = "http://fuzz.test"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Operations that would end the fuzz identity's own sessions: every later case would be a 401.
SKIP = {
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("POST", "/auth/password"),
    ("DELETE", "/me/sessions/{session_id}"),
    ("PUT", "/users/{user_id}/password"),
}
# What a successful call creates: its id feeds later operations' path parameter of this name.
CREATES = {
    ("POST", "/organizations/{organization_id}/memberships"): "membership_id",
    ("POST", "/organizations/{organization_id}/domains"): "domain_id",
    ("POST", "/organizations/{organization_id}/classes"): "class_id",
    ("POST", "/classes/{class_id}/enrollments"): "enrollment_id",
    ("POST", "/organizations/{organization_id}/guardianships"): "guardianship_id",
    ("POST", "/organizations/{organization_id}/resource-categories"): "category_id",
    ("POST", "/resources"): "resource_id",
    ("POST", "/resources/upload"): "resource_id",
    ("POST", "/resources/{resource_id}/reviews"): "review_id",
    ("POST", "/organizations/{organization_id}/meeting-rooms"): "room_id",
    ("POST", "/meeting-rooms/{room_id}/sessions"): "session_id",
    ("POST", "/meeting-sessions/{session_id}/action-items"): "item_id",
    ("POST", "/classes/{class_id}/assignment-categories"): "category_id",
    ("POST", "/classes/{class_id}/assignments"): "assignment_id",
    ("POST", "/assignments/{assignment_id}/submissions"): "submission_id",
    ("PUT", "/submissions/{submission_id}/grade"): "grade_id",
}
REQUEST_ARGS = {"method", "url", "headers", "files", "data", "params", "auth", "cookies", "json"}
ORDER = {"POST": 0, "PUT": 1, "PATCH": 1, "GET": 2, "DELETE": 3}


@dataclass
class Run:
    """One fuzz run's state and tally."""

    client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    auth: dict[str, str]
    known: dict[str, list[str]]
    operations: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    not_generated: list[str] = field(default_factory=list)

    def send(self, case: schemathesis.Case) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.auth)
        prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in REQUEST_ARGS}).prepare()
        headers = {
            k: v for k, v in prepared.headers.items() if k.lower() not in ("content-length", "transfer-encoding")
        }
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        future = asyncio.run_coroutine_threadsafe(
            self.client.request(prepared.method, prepared.url, headers=headers, content=body), self.loop
        )
        return future.result(REQUEST_TIMEOUT)

    def check(self, operation, case: schemathesis.Case) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        try:
            response = self.send(case)
        except Exception as exc:  # the app raised past its handlers, or hung
            self.failures.setdefault(f"{label} -> {type(exc).__name__}", f"{exc!r}\n{case.as_curl_command()}")
            return
        self.cases += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        self.harvest(operation, response)
        try:
            case.validate_response(response, checks=CHECKS, headers=self.auth)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            titles = sorted({getattr(f, "title", type(f).__name__) for f in getattr(exc, "exceptions", [exc])})
            key = f"{label} -> {response.status_code}: {'; '.join(titles)}"
            self.failures.setdefault(key, f"{case.as_curl_command(headers={})}\n{response.text[:500]}")

    def harvest(self, operation, response: httpx.Response) -> None:
        name = CREATES.get((operation.method.upper(), operation.path))
        if name and response.is_success and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                self.known.setdefault(name, []).append(body["id"])

    def fuzz(self, operation) -> None:
        strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
        names = [p.name for p in operation.path_parameters]
        if names and all(n in self.known for n in names):
            for fixed in {tuple(self.known[n][pick] for n in names) for pick in (0, -1)}:  # the world's, the newest
                strategies.append(
                    operation.as_strategy(GenerationMode.POSITIVE, path_parameters=dict(zip(names, fixed, strict=True)))
                )

        @hypothesis.settings(
            max_examples=EXAMPLES * len(strategies),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @hypothesis.given(case=st.one_of(strategies))
        def run(case: schemathesis.Case) -> None:
            self.check(operation, case)

        self.operations += 1
        self.cover(operation, names)
        try:
            run()
        except Exception as exc:  # no case could be generated for a mode (e.g. nothing to negate)
            self.not_generated.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}")

    def cover(self, operation, names: list[str]) -> None:
        """Schemathesis' coverage cases (boundary values, wrong types, missing members), an even
        sample of at most COVERAGE; every other one at ids the fuzz knows rather than made up."""
        schema = operation.schema
        cases = list(
            schema.iter_coverage_cases(
                operation,
                generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                generation_config=schema.config.generation,
            )
        )
        cases = [case for case in cases if case.method.upper() == operation.method.upper()]  # not 405 probes
        step = max(1, len(cases) // COVERAGE)
        for index, case in enumerate(cases[::step][:COVERAGE]):
            if index % 2 == 0 and names and all(n in self.known for n in names):
                case.path_parameters = {n: self.known[n][-1] for n in names}
            self.check(operation, case)

    def report(self, who: str, seconds: float) -> str:
        lines = [
            f"fuzz as {who}: {self.operations} operations, {self.cases} cases, {len(self.failures)} failures"
            f" in {seconds:.1f} s; statuses {dict(sorted(self.statuses.items()))}",
            *(f"  not generated: {n}" for n in self.not_generated),
        ]
        for key, detail in sorted(self.failures.items()):
            lines.append(f"- {key}\n    " + detail.replace("\n", "\n    "))
        return "\n".join(lines)


@pytest.mark.parametrize("who", ["t1", "oa"])
async def test_fuzz_whole_api(app, db, settings, who: str):
    async with db.as_service() as session:
        world = await build_world(session, f"fz-{who}-{uuid.uuid4().hex[:6]}")
    auth = await signed_in(db, settings, world.users[who])

    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.config.generation.update(with_security_parameters=False, no_shrink=True, deterministic=True)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (ORDER.get(op.method.upper(), 2), op.path))
    known = {
        "organization_id": [str(world.orgs["A"])],
        "class_id": [str(world.classes["c1"])],
        "user_id": [str(world.users["s1"]), str(world.users["t2"])],
        "student_id": [str(world.users["s1"])],
        "membership_id": [str(world.memberships["t2:teacher"])],
        "enrollment_id": [str(world.enrollments["c1:s1"])],
        "guardianship_id": [str(world.guardianships["p1"])],
    }

    transport = httpx.ASGITransport(app=app, client=(f"10.251.{len(who)}.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=REQUEST_TIMEOUT) as client:
        run = Run(client, asyncio.get_running_loop(), auth, known)

        def fuzz_all() -> None:
            for operation in operations:
                if (operation.method.upper(), operation.path) not in SKIP:
                    run.fuzz(operation)

        started = time.monotonic()
        await asyncio.to_thread(fuzz_all)
        elapsed = time.monotonic() - started
        still_signed_in = (await client.get("/me", headers=auth)).status_code == 200

    report = run.report(who, elapsed)
    print(report)
    assert run.cases > run.operations, report
    assert still_signed_in, "the fuzz ended its own session, so later cases only saw 401s\n" + report
    assert not run.failures, report
