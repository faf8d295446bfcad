"""GET /resources: full-text search (websearch syntax, ranked), filters, the category subtree,
minimum rating, keyset pagination over (rank, id) and (created_at, id), and RLS visibility."""

import base64
import json

from sqlalchemy import text

from schoolbase.resources import search
from tests.conftest import assert_problem


def titles(page: dict) -> list[str]:
    return [item["title"] for item in page["items"]]


async def all_pages(portal, who: str, limit: int, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = await portal.search(who, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_ranked_by_relevance_title_and_tags_above_description(portal):
    await portal.approved("t", title="Photosynthesis explained", description="How plants make sugar")
    await portal.approved("t", title="Plant cells", description="Chloroplasts and photosynthesis in leaves")
    await portal.approved("t", title="Leaf lab", tags=["photosynthesis", "lab"])
    await portal.approved("t", title="Volcanoes", description="Magma and lava")
    page = await portal.search("s", q="photosynthesis")
    assert set(titles(page)) == {"Photosynthesis explained", "Plant cells", "Leaf lab"}
    assert titles(page)[-1] == "Plant cells"  # a description match (weight B) ranks below title/tags (A)
    ranks = [item["rank"] for item in page["items"]]
    assert ranks == sorted(ranks, reverse=True) and all(r > 0 for r in ranks)
    # Stemming and web-search syntax.
    assert set(titles(await portal.search("s", q="plants"))) == {"Photosynthesis explained", "Plant cells"}
    assert titles(await portal.search("s", q="photosynthesis -lab -cells")) == ["Photosynthesis explained"]
    assert titles(await portal.search("s", q='"magma and lava"')) == ["Volcanoes"]
    assert set(titles(await portal.search("s", q="volcano or leaf"))) == {"Volcanoes", "Leaf lab"}
    assert titles(await portal.search("s", q="the")) == []  # stop words only: nothing, not an error
    # Without q: newest first, no rank.
    newest = await portal.search("s")
    assert titles(newest) == ["Volcanoes", "Leaf lab", "Plant cells", "Photosynthesis explained"]
    assert {item["rank"] for item in newest["items"]} == {None}
    assert "body" not in newest["items"][0]


async def test_filters(portal):
    await portal.approved(
        "t",
        title="Fractions video",
        type="video",
        url="https://e.org/v",
        body=None,
        subject="Maths",
        grade_levels=["4", "5"],
    )
    await portal.approved("t", title="Fractions quiz", type="quiz", subject="maths", grade_levels=["5"])
    await portal.approved("t", title="Fractions reading", type="document", subject="English", grade_levels=["6"])
    assert set(titles(await portal.search("s", q="fractions", type="quiz"))) == {"Fractions quiz"}
    assert set(titles(await portal.search("s", subject="MATHS"))) == {"Fractions video", "Fractions quiz"}
    assert set(titles(await portal.search("s", grade_level="5"))) == {"Fractions video", "Fractions quiz"}
    assert set(titles(await portal.search("s", grade_level="4", type="video"))) == {"Fractions video"}
    assert titles(await portal.search("s", grade_level="6", subject="Maths")) == []
    assert len((await portal.search("s", organization_id=str(portal.school.org_id)))["items"]) == 3
    assert_problem(await portal.call("GET", "/resources", "s", params={"type": "podcast"}), 422, "validation")
    assert_problem(await portal.call("GET", "/resources", "s", params={"min_rating": 6}), 422, "validation")


async def test_category_filter_includes_the_subtree(portal):
    science = await portal.category("Science")
    biology = await portal.category("Biology", science["id"])
    botany = await portal.category("Botany", biology["id"])
    history = await portal.category("History")
    await portal.approved("t", title="In science", category_id=science["id"])
    await portal.approved("t", title="In botany", category_id=botany["id"])
    await portal.approved("t", title="In history", category_id=history["id"])
    await portal.approved("t", title="Uncategorised")
    assert set(titles(await portal.search("s", category_id=science["id"]))) == {"In science", "In botany"}
    assert titles(await portal.search("s", category_id=biology["id"])) == ["In botany"]
    assert titles(await portal.search("s", category_id=history["id"], q="history")) == ["In history"]


async def test_min_rating(portal):
    great = await portal.approved("t", title="Great")
    fine = await portal.approved("t", title="Fine")
    await portal.approved("t", title="Unrated")
    for who, stars in (("s", 5), ("s2", 4)):
        await portal.ok("POST", f"/resources/{great['id']}/reviews", who, 201, json={"rating": stars})
    await portal.ok("POST", f"/resources/{fine['id']}/reviews", "s", 201, json={"rating": 3})
    assert titles(await portal.search("s", min_rating=4.5)) == ["Great"]
    assert set(titles(await portal.search("s", min_rating=3))) == {"Great", "Fine"}
    assert titles(await portal.search("s", min_rating=5)) == []


async def test_visibility_is_decided_by_rls(portal, other):
    await portal.resource("t", title="Algebra draft by t")
    await portal.resource("t2", title="Algebra pending by t2", state="pending_review")
    await portal.approved("t", title="Algebra for class c", class_id=str(portal.school.class_id))
    await portal.approved("t", title="Algebra for everyone")
    await other.approved("t", title="Algebra elsewhere")
    q = {"q": "algebra"}
    assert set(titles(await portal.search("s", **q))) == {"Algebra for class c", "Algebra for everyone"}
    assert set(titles(await portal.search("s2", **q))) == {"Algebra for everyone"}
    assert set(titles(await portal.search("p", **q))) == {"Algebra for class c", "Algebra for everyone"}
    assert set(titles(await portal.search("t", **q))) == {
        "Algebra draft by t",
        "Algebra for class c",
        "Algebra for everyone",
    }
    assert set(titles(await portal.search("t2", **q))) == {"Algebra pending by t2", "Algebra for everyone"}
    assert len((await portal.search("oa", **q))["items"]) == 4
    assert titles(await portal.search("oa", state="pending_review", **q)) == ["Algebra pending by t2"]
    assert titles(await portal.search("s", state="draft")) == []
    assert titles(await other.search("s", **q)) == ["Algebra elsewhere"]


async def test_ranked_pages_walk_every_hit_once_even_with_equal_ranks(portal):
    for i in range(7):
        await portal.approved("t", title="Equations", description=f"set {i}")
    await portal.approved("t", title="Equations equations equations", description="equations")
    single = (await portal.search("s", q="equations", limit=50))["items"]
    assert len(single) == 8 and single[0]["title"] == "Equations equations equations"
    walked = await all_pages(portal, "s", 3, q="equations")
    assert [item["id"] for item in walked] == [item["id"] for item in single]
    # Equal ranks are ordered by id, descending.
    tied = [item for item in single[1:]]
    assert [item["id"] for item in tied] == sorted((item["id"] for item in tied), reverse=True)


async def test_newest_first_pages(portal):
    for i in range(5):
        await portal.approved("t", title=f"Item {i}")
    walked = await all_pages(portal, "s", 2)
    assert [item["title"] for item in walked] == [f"Item {i}" for i in reversed(range(5))]


async def test_a_cursor_from_another_list_is_a_400(portal):
    for i in range(3):
        await portal.approved("t", title=f"Map {i}")
    newest = await portal.search("s", limit=1)
    ranked = await portal.search("s", q="map", limit=1)
    for cursor, params in ((newest["next_cursor"], {"q": "map"}), (ranked["next_cursor"], {})):
        response = await portal.call("GET", "/resources", "s", params={"cursor": cursor, **params})
        assert_problem(response, 400, "invalid-cursor")
    forged = base64.urlsafe_b64encode(json.dumps(["x", "y", "z"]).encode()).decode()
    assert_problem(await portal.call("GET", "/resources", "s", params={"cursor": forged}), 400, "invalid-cursor")


async def test_the_search_can_use_the_gin_index(db):
    """When every match is ranked, the match inside private.resource_matches uses the GIN index
    (same text-search configuration), and the statement goes through that function, not a bare
    @@ under RLS (which scans every row)."""
    compiled = str(search.ranked_matches(search.query("fractions"), ["fraction"]).stmt.compile())
    assert "private.resource_matches(websearch_to_tsquery(" in compiled
    async with db.as_service() as session:
        await session.execute(text("set local enable_seqscan = off"))
        rows = (
            await session.execute(
                text(
                    "explain select r.id from public.resources r "
                    "where r.search @@ websearch_to_tsquery('english', 'fractions')"
                )
            )
        ).all()
    plan = "\n".join(row[0] for row in rows)
    assert "resources_search_idx" in plan, plan
