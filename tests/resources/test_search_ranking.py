"""Search ranking: a resource ranks by the best word of the query in it (for one word exactly
ts_rank), read in rank order from private.resource_terms; the walk over that index and the
ranking of every match give the same pages; the trigger keeps the terms in step."""

import itertools
import uuid

import pytest
from sqlalchemy import func, select, text

from schoolbase.db.rls import user_identity
from schoolbase.pagination import PageParams
from schoolbase.resources import search
from tests.resources.test_search import titles

WORD_RANKS = text(
    "select r.id, greatest(ts_rank(r.search, websearch_to_tsquery('english', :a)),"
    " ts_rank(r.search, websearch_to_tsquery('english', :b)))::float8 from public.resources r where r.id = any (:ids)"
)
TERMS_OF = text(
    "select lexeme, rank, state::text, class_id from private.resource_terms where resource_id = :id order by lexeme"
)
EXPECTED_TERMS = text(
    "select u.lexeme, private.resource_term_rank(r.search, u.lexeme), r.state::text, r.class_id"
    " from public.resources r, unnest(r.search) u where r.id = :id order by u.lexeme"
)


async def test_one_word_ranks_by_ts_rank(portal, db):
    await portal.approved("t", title="Equations", description="equations and equations")
    await portal.approved("t", title="Linear equations", tags=["equations"])
    await portal.approved("t", title="Algebra", description="equations")
    hits = (await portal.search("s", q="equations"))["items"]
    async with db.as_service() as session:
        expected = dict(
            (
                await session.execute(
                    text(
                        "select id, ts_rank(search, websearch_to_tsquery('english', 'equations'))::float8 "
                        "from public.resources where id = any (:ids)"
                    ),
                    {"ids": [uuid.UUID(hit["id"]) for hit in hits]},
                )
            ).all()
        )
    assert [hit["rank"] for hit in hits] == [pytest.approx(expected[uuid.UUID(hit["id"])], abs=0) for hit in hits]
    assert titles({"items": hits})[-1] == "Algebra"  # only in the description


async def test_several_words_rank_by_the_best_word(portal, db):
    await portal.approved("t", title="Glacier desert", description="maps")
    await portal.approved("t", title="Glacier", description="a desert")
    await portal.approved("t", title="Desert desert", description="and a glacier")
    await portal.approved("t", title="Maps", description="glacier desert")
    await portal.approved("t", title="Glacier only")
    hits = (await portal.search("s", q="glacier desert"))["items"]
    assert len(hits) == 4  # every word must match
    async with db.as_service() as session:
        best = dict(
            (
                await session.execute(
                    WORD_RANKS, {"a": "glacier", "b": "desert", "ids": [uuid.UUID(h["id"]) for h in hits]}
                )
            ).all()
        )
    assert [hit["rank"] for hit in hits] == [pytest.approx(best[uuid.UUID(hit["id"])], abs=0) for hit in hits]
    keys = [(hit["rank"], hit["id"]) for hit in hits]
    assert keys == sorted(keys, reverse=True)
    assert titles({"items": hits})[-1] == "Maps"  # neither word in the title


async def all_pages(portal, who: str, limit: int, **params) -> list[dict]:
    """Every page in turn; a cursor that does not move on fails instead of looping."""
    items, cursor = [], None
    for _ in range(200):
        page = await portal.search(who, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"no last page after 200 pages: {items[-3:]}")


QUERIES = ["forest", "forest river", "forest -river", "forest or canyon", '"forest river"', "canyon river forest"]


@pytest.mark.parametrize("walk", [search.WALK, 3, 1])
async def test_the_walk_and_ranking_every_match_give_the_same_pages(portal, db, monkeypatch, walk):
    """Pages walked through the API (at a walk length that runs out early, forcing the ranking of
    every match for the rest) are the order of ranking every match at once, each hit once."""
    words = ["forest", "river", "canyon"]
    for i, (a, b, c) in enumerate(itertools.product(["", *words], repeat=3)):
        if a or b or c:
            await portal.approved("t", title=f"{a} {b} {i}", description=f"{c} {b}", tags=[c] if c else [])
    monkeypatch.setattr(search, "WALK", walk)
    for q in QUERIES:
        async with db.as_user(user_identity(portal.school.people["s"])) as session:
            found = search.query(q)
            lexemes = await session.scalar(select(func.array(search.query_lexemes(q).scalar_subquery())))
            plan = search.ranked_matches(found, lexemes)
            every = (await session.execute(plan.stmt.order_by(*(key.desc() for key in plan.keys)))).all()
        expected = [str(row[0].id) for row in every]
        assert expected, q
        for limit in (1, 4, 50):
            walked = await all_pages(portal, "s", limit, q=q)
            assert [hit["id"] for hit in walked] == expected, (q, limit)


async def test_the_terms_follow_the_resource(portal, db):
    created = await portal.approved("t", title="Tundra lichens", description="cold", tags=["arctic"])
    resource_id = uuid.UUID(created["id"])

    async def terms() -> list:
        async with db.as_service() as session:
            stored = (await session.execute(TERMS_OF, {"id": resource_id})).all()
            expected = (await session.execute(EXPECTED_TERMS, {"id": resource_id})).all()
        assert stored == expected
        return stored

    assert {row[0] for row in await terms()} == {"tundra", "lichen", "cold", "arctic"}
    for change in (
        "update public.resources set title = 'Tundra mosses and mosses' where id = :id",
        "update public.resources set class_id = (select id from public.classes where id = :class) where id = :id",
        "update public.resources set state = 'archived' where id = :id",
    ):
        async with db.as_service() as session:
            await session.execute(text(change), {"id": resource_id, "class": portal.school.class_id})
        await terms()
    assert {row[0] for row in await terms()} == {"tundra", "moss", "cold", "arctic"}
    assert {(row[2], row[3]) for row in await terms()} == {("archived", portal.school.class_id)}
    async with db.as_service() as session:
        await session.execute(text("delete from public.resources where id = :id"), {"id": resource_id})
    assert await terms() == []


async def test_lexemes_of_a_query_and_their_rank(db):
    async with db.as_service() as session:
        for q, expected in (
            ("poetry -novel", ["novel", "poetri"]),
            ('"magma and lava"', ["lava", "magma"]),
            ("volcano or leaf", ["leaf", "volcano"]),
            ("the", []),
        ):
            assert await session.scalar(select(func.array(search.query_lexemes(q).scalar_subquery()))) == expected
        # A lexeme holding a quote or a backslash is ranked as itself, not parsed again.
        ranks = (
            await session.execute(
                text(
                    "select u.lexeme, private.resource_term_rank(x.v, u.lexeme)"
                    " from (select cast(:v as tsvector) v) x, unnest(x.v) u"
                ),
                {"v": "'it''s':1A 'a\\\\b':2 plain:3"},
            )
        ).all()
    assert {lexeme for lexeme, _ in ranks} == {"it's", "a\\b", "plain"}
    assert all(rank > 0 for _, rank in ranks)


async def test_a_search_without_an_organization_walks_each_of_the_callers(portal, other, db):
    await portal.approved("t", title="Savanna grasses")
    await other.approved("t", title="Savanna animals")
    async with db.as_user(user_identity(portal.school.people["s"])) as session:
        page = await search.page(session, search.query("savanna"), PageParams(limit=10))
    assert [hit.title for hit in page.items] == ["Savanna grasses"]
