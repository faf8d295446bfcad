"""The issue's proof: export a district, import it into an empty organization, export again:
the same files. The district moves whole (its organization and accounts are gone, the new
organization owns its people's domain), so its people become the new organization's
managed accounts, but for a parent with an address elsewhere, who is invited and held: the
export still lists them, their guardianship as agents. Only the organization's own row differs: its name and slug are the new
organization's; its sourcedId is the old one, which the import linked to it."""

import uuid
import zipfile

import pytest
from sqlalchemy import delete, func, select, update

from schoolbase.db.urls import database_urls
from schoolbase.models import Invitation, Organization, OrganizationDomain, User
from schoolbase.roster.export import export_roster
from schoolbase.roster.flows import import_roster
from schoolbase.roster.formats import EXPORT_1_1
from schoolbase.tenancy.demo import FULL_DEMO_SLUG, demo_domain
from schoolbase.tenancy.flows import load_demo
from tests.conftest import Builder, migrated_database, open_database
from tests.roster.district import PEOPLE, build_district


async def test_export_import_export_gives_the_same_files(db, tmp_path):
    domain = f"rt-{uuid.uuid4().hex[:8]}.example.org"
    source = await build_district(db, domain=domain)
    async with db.as_service() as session:
        await export_roster(session, source.org_id, tmp_path / "first")
        people = [source.ids[who] for who in PEOPLE]
        await session.execute(delete(User).where(User.id.in_(people)))
        await session.execute(delete(Organization).where(Organization.id == source.org_id))
    async with db.as_service() as session:
        tag = uuid.uuid4().hex[:8]
        target = await Builder(session, tag).org(f"Moved {tag}", f"moved-{tag}", "America/New_York")
        session.add(OrganizationDomain(organization_id=target, domain=domain))

    report = await import_roster(db, target, tmp_path / "first", apply=True)
    assert report.applied and not report.has_errors, report.issues
    assert [issue for issue in report.issues if issue.severity == "warning"] == []
    assert report.counts["result"]["created"] == 3 and report.counts["lineItem"]["created"] == 3
    async with db.as_service() as session:
        held = await session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.organization_id == target, Invitation.sent_at.is_(None))
        )
    assert held == 1
    async with db.as_service() as session:
        await export_roster(session, target, tmp_path / "second")

    for stem in ("manifest", *EXPORT_1_1):
        first = (tmp_path / "first" / f"{stem}.csv").read_bytes()
        second = (tmp_path / "second" / f"{stem}.csv").read_bytes()
        if stem == "orgs":
            # The school a class without one was in is now a real school, named as it was.
            first = first.replace(f",{source.name},district,{source.slug},".encode(), b",(district),")
            second = second.replace(f",Moved {tag},district,moved-{tag},".encode(), b",(district),")
        assert second == first, stem

    again = await import_roster(db, target, tmp_path / "second", apply=True)
    assert again.applied and not again.has_errors, again.issues
    assert {entity: counts.get("created", 0) + counts.get("updated", 0) for entity, counts in again.counts.items()} == {
        entity: 0 for entity in again.counts
    }


@pytest.fixture(scope="module")
async def demo_db(server_url, settings):
    """A database of its own with the demo loaded (the district moves out of it)."""
    with migrated_database(server_url) as owner:
        async with open_database(database_urls(owner, settings)) as database:
            await load_demo(database, settings)
            yield database


async def test_the_demo_district_round_trips(demo_db, tmp_path):
    """Maple Grove as the demo loads it: no schools, courses or terms of its own, a teacher who
    is also a parent, drafts, AI suggestions and unposted grades, late penalties."""
    db, slug = demo_db, FULL_DEMO_SLUG
    domain = demo_domain(slug)
    async with db.as_service() as session:
        source = await session.scalar(select(Organization.id).where(Organization.slug == slug))
        counts = await export_roster(session, source, tmp_path / "first.zip")
        # The district moves: its domain to a new organization, its people's old accounts aside.
        await session.execute(delete(OrganizationDomain).where(OrganizationDomain.domain == domain))
        await session.execute(
            update(User).where(User.email.like(f"%@{domain}")).values(email=func.concat("moved-", User.email))
        )
        target = await Builder(session, "demo").org("Maple Grove (moved)", "maple-grove-moved", "America/New_York")
        session.add(OrganizationDomain(organization_id=target, domain=domain))
    assert counts["users"] == 12 and counts["results"] > 0 and counts["lineItems"] > 0

    report = await import_roster(db, target, tmp_path / "first.zip", apply=True)
    assert report.applied and not report.has_errors, report.issues
    async with db.as_service() as session:
        await export_roster(session, target, tmp_path / "second.zip")
    with zipfile.ZipFile(tmp_path / "first.zip") as first, zipfile.ZipFile(tmp_path / "second.zip") as second:
        assert first.namelist() == second.namelist()
        for name in first.namelist():
            before, after = first.read(name), second.read(name)
            if name == "orgs.csv":
                before = before.replace(f",Maple Grove Academy,district,{slug},".encode(), b",(district),")
                after = after.replace(b",Maple Grove (moved),district,maple-grove-moved,", b",(district),")
            assert after == before, name
