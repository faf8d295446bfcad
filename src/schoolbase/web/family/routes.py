"""The parent's pages: ``/children`` (one child: their work; several: a card each) and
``/children/{student_id}`` for one child. Read as the parent, under row-level security."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response

from schoolbase.problems import not_found
from schoolbase.web.deps import Page, PageSession
from schoolbase.web.family import views
from schoolbase.web.learning.views import excerpt, only_for
from schoolbase.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/children")
async def children(page: Page, session: PageSession) -> Response:
    only_for(page, "parent")
    found = await views.my_children(session, page.user_id, page.organization.id)
    now = datetime.now(UTC)
    reports = [await views.child_report(session, page.user_id, child, page.organization.id, now) for child in found]
    if len(reports) == 1:
        return render(page, "family/child.html", report=reports[0], only_child=True, excerpt=excerpt)
    return render(page, "family/children.html", reports=reports)


@router.get("/children/{student_id}")
async def child(student_id: uuid.UUID, page: Page, session: PageSession) -> Response:
    only_for(page, "parent")
    found = await views.my_children(session, page.user_id, page.organization.id)
    chosen = next((c for c in found if c.id == student_id), None)
    if chosen is None:
        raise not_found("child")
    report = await views.child_report(session, page.user_id, chosen, page.organization.id, datetime.now(UTC))
    return render(page, "family/child.html", report=report, only_child=len(found) == 1, excerpt=excerpt)
