"""What the resource portal's pages read: the category tree with counts, a search with its
filters and highlighted matches, a resource with its category path and reviews, my own
resources, and the approval queue. Everything runs on the page's session as the person
looking, under row-level security, through the resources services; nothing here commits."""

import re
import uuid
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from markupsafe import Markup, escape
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Resource, ResourceState, ResourceType
from schoolbase.pagination import PageParams
from schoolbase.resources import categories, reviews, search, service
from schoolbase.resources.schemas import CategoryOut, ResourceOut, ReviewOut, SearchHit
from schoolbase.web.learning.views import every

RESULTS_PER_PAGE = 20
TYPE_LABELS = {
    ResourceType.video: "Video",
    ResourceType.document: "Document",
    ResourceType.interactive_activity: "Interactive activity",
    ResourceType.link: "Link",
    ResourceType.worksheet: "Worksheet",
    ResourceType.quiz: "Quiz",
}
STATE_LABELS = {
    ResourceState.draft: "Draft",
    ResourceState.pending_review: "Waiting for approval",
    ResourceState.approved: "Approved",
    ResourceState.rejected: "Rejected",
    ResourceState.archived: "Archived",
}


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_is_none)


class SearchForm(BaseModel):
    """The search form's fields, with the API's limits (``GET /resources``)."""

    q: Annotated[Annotated[str, Field(max_length=500)] | None, Blank] = None
    type: Annotated[ResourceType | None, Blank] = None
    subject: Annotated[Annotated[str, Field(max_length=200)] | None, Blank] = None
    grade_level: Annotated[Annotated[str, Field(max_length=50)] | None, Blank] = None
    category_id: Annotated[uuid.UUID | None, Blank] = None
    min_rating: Annotated[Annotated[float, Field(ge=1, le=5)] | None, Blank] = None
    cursor: Annotated[str | None, Blank] = None

    def filters(self) -> dict[str, object]:
        return self.model_dump(exclude={"q", "cursor"})

    def searched(self) -> bool:
        return any(value is not None for name, value in self.model_dump().items() if name != "cursor")

    def query_string(self, cursor: str) -> str:
        given = {k: v for k, v in self.model_dump(mode="json").items() if v is not None and k != "cursor"}
        return urlencode({**given, "cursor": cursor})


# Categories


@dataclass
class CategoryNode:
    category: CategoryOut
    count: int = 0  # resources I can read here and below
    children: list["CategoryNode"] = field(default_factory=list)


async def category_list(session: AsyncSession, organization_id: uuid.UUID) -> list[CategoryOut]:
    return await every(lambda params: categories.list_categories(session, organization_id, None, False, params))


async def category_tree(session: AsyncSession, organization_id: uuid.UUID) -> list[CategoryNode]:
    """The organization's categories as a tree, by name, each with the number of resources the
    reader can see in it and below it."""
    found = await category_list(session, organization_id)
    counts = dict(
        (
            await session.execute(
                select(Resource.category_id, func.count())
                .where(Resource.organization_id == organization_id, Resource.category_id.is_not(None))
                .group_by(Resource.category_id)
            )
        ).all()
    )
    nodes = {c.id: CategoryNode(c) for c in found}
    roots: list[CategoryNode] = []
    for node in nodes.values():
        parent = nodes.get(node.category.parent_id) if node.category.parent_id else None
        (parent.children if parent else roots).append(node)

    def total(node: CategoryNode) -> int:
        node.count = counts.get(node.category.id, 0) + sum(total(child) for child in node.children)
        return node.count

    for root in roots:
        total(root)
    return roots


def category_options(tree: list[CategoryNode], depth: int = 0) -> list[tuple[str, str]]:
    """(id, name indented by depth) in tree order, for a select."""
    options: list[tuple[str, str]] = []
    for node in tree:
        options.append((str(node.category.id), "\u2014 " * depth + node.category.name))
        options += category_options(node.children, depth + 1)
    return options


async def category_path(session: AsyncSession, category_id: uuid.UUID | None) -> list[CategoryOut]:
    """From the top-level category down to ``category_id``."""
    path: list[CategoryOut] = []
    while category_id is not None and len(path) < 50:
        category = CategoryOut.model_validate(await categories.get_category(session, category_id))
        path.insert(0, category)
        category_id = category.parent_id
    return path


# Search


@dataclass
class Results:
    hits: list[SearchHit]
    next_cursor: str | None


async def results(session: AsyncSession, organization_id: uuid.UUID, form: SearchForm) -> Results:
    found = search.query(form.q, organization_id=organization_id, **form.filters())
    page = await search.page(session, found, PageParams(cursor=form.cursor, limit=RESULTS_PER_PAGE))
    return Results(page.items, page.next_cursor)


_TERM = re.compile(r'"([^"]+)"|(\S+)')


def search_terms(q: str | None) -> list[str]:
    """The words of a query worth marking: not negated ones, nor ``or``, nor single letters."""
    terms: list[str] = []
    for phrase, word in _TERM.findall(q or ""):
        if word.startswith("-"):
            continue
        for part in re.findall(r"\w+", phrase or word):
            if len(part) > 1 and part.lower() != "or":
                terms.append(part[:-1] if len(part) > 3 and part.lower().endswith("s") else part)
    return terms


def highlight(text: str | None, q: str | None) -> Markup:
    """``text`` escaped, with words that start like a search term in ``<mark>``."""
    text = text or ""
    terms = search_terms(q)
    if not terms:
        return escape(text)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE)
    out, at = Markup(), 0
    for match in pattern.finditer(text):
        out += escape(text[at : match.start()]) + Markup("<mark>") + escape(match.group()) + Markup("</mark>")
        at = match.end()
    return out + escape(text[at:])


def snippet(text: str | None, q: str | None, width: int = 220) -> Markup:
    """A part of ``text`` around the first match (or its start), highlighted."""
    text = (text or "").strip()
    terms = search_terms(q)
    start = 0
    if terms:
        match = re.search("|".join(re.escape(t) for t in terms), text, re.IGNORECASE)
        if match:
            start = max(0, match.start() - width // 3)
    part = text[start : start + width]
    return Markup("…" if start else "") + highlight(part, q) + Markup("…" if start + width < len(text) else "")


# A resource


@dataclass
class ResourcePage:
    resource: ResourceOut
    path: list[CategoryOut]
    reviews: list[ReviewOut]
    mine: ReviewOut | None
    is_admin: bool
    is_author: bool

    @property
    def may_review(self) -> bool:
        return self.resource.state == ResourceState.approved

    @property
    def may_edit(self) -> bool:
        editable = (ResourceState.draft, ResourceState.pending_review, ResourceState.rejected)
        return self.is_admin or (self.is_author and self.resource.state in editable)


async def resource_page(session: AsyncSession, user_id: uuid.UUID, resource_id: uuid.UUID) -> ResourcePage:
    resource = ResourceOut.model_validate(await service.get_resource(session, resource_id))
    found = await every(lambda params: reviews.list_reviews(session, resource_id, params))
    return ResourcePage(
        resource,
        await category_path(session, resource.category_id),
        found,
        next((r for r in found if r.user_id == user_id), None),
        await service.is_org_admin(session, resource.organization_id),
        resource.author_id == user_id,
    )


# Mine and the queue


async def listed(session: AsyncSession, organization_id: uuid.UUID, **filters: object) -> list[SearchHit]:
    """Every resource of the organization matching ``filters`` that I may read, newest first."""
    found = search.query(None, organization_id=organization_id, **filters)
    return await every(lambda params: search.page(session, found, params))


QUEUE_SIZE = 100


async def queue(session: AsyncSession, organization_id: uuid.UUID) -> list[ResourceOut]:
    """The organization's resources waiting for approval, with their content, oldest first."""
    rows = await session.scalars(
        select(Resource)
        .where(Resource.organization_id == organization_id, Resource.state == ResourceState.pending_review)
        .order_by(Resource.updated_at, Resource.id)
        .limit(QUEUE_SIZE)
    )
    return [ResourceOut.model_validate(row) for row in rows]
