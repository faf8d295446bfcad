"""`schoolbase roster import`, run in-process against a scratch database of its own."""

import pytest
from sqlalchemy import text

from schoolbase.config import get_settings
from schoolbase.db import migrate
from tests.conftest import migrated_database
from tests.roster.support import District, roster_set
from tests.test_cli import cli, flat, query, use_database


@pytest.fixture(scope="module")
def cli_database(server_url):
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture
def roster_db(cli_database, monkeypatch):
    use_database(monkeypatch, cli_database)
    monkeypatch.setenv("COLUMNS", "200")  # Rich fits tables to the terminal; no folding here
    yield cli_database
    get_settings.cache_clear()


def district_in(url: str, tag: str) -> District:
    slug = f"cli-{tag}"
    with migrate.owner_connection(url) as conn, conn.begin():
        org_id = conn.scalar(text("insert into organizations (name, slug) values (:s, :s) returning id"), {"s": slug})
        for domain in (f"{tag}.riverside.example.org", f"students.{tag}.riverside.example.org"):
            conn.execute(
                text("insert into organization_domains (organization_id, domain) values (:o, :d)"),
                {"o": org_id, "d": domain},
            )
    return District(org_id, slug, tag)


def test_a_dry_run_shows_the_report_and_writes_nothing(roster_db, tmp_path):
    district = district_in(roster_db, "dry1")
    folder = roster_set("bad-date", tmp_path / "set", district)
    result = cli("roster", "import", str(folder), "--org", district.slug, "--dry-run")
    assert result.exit_code == 1
    out = flat(result.output)
    assert "academicSessions.csv" in out and "bad-date" in out and "dry run: nothing was written" in out
    assert query(roster_db, "select count(*) from schools where organization_id = :o", o=district.org_id) == [(0,)]


def test_a_report_with_errors_is_applied_only_when_accepted(roster_db, tmp_path):
    district = district_in(roster_db, "acc1")
    folder = roster_set("bad-date", tmp_path / "set", district)
    declined = cli("roster", "import", str(folder), "--org", district.slug, input="n\n")
    assert declined.exit_code == 1 and "nothing was written" in declined.output
    assert query(roster_db, "select count(*) from schools where organization_id = :o", o=district.org_id) == [(0,)]
    accepted = cli("roster", "import", str(folder), "--org", district.slug, "--yes")
    assert accepted.exit_code == 0, accepted.output
    assert "Applied" in accepted.output
    assert query(roster_db, "select count(*) from academic_sessions where organization_id = :o", o=district.org_id) == [
        (3,)
    ]


def test_an_unknown_organization_is_an_error(roster_db, tmp_path):
    district = District(None, "no-such-org", "none1")
    result = cli(
        "roster", "import", str(roster_set("valid-1.1", tmp_path / "s", district, base=None)), "--org", "no-such-org"
    )
    assert result.exit_code == 1 and "no organization with slug" in flat(result.output)
