"""The `schoolbase` command line, run in-process against a scratch database of its own."""

import uuid

import pytest
from pwdlib import PasswordHash
from sqlalchemy import text
from typer.testing import CliRunner

from schoolbase.cli import app, shared_pool_sizes
from schoolbase.config import Settings, get_settings
from schoolbase.db import migrate
from tests.conftest import migrated_database

HEAD = migrate.script_directory().get_current_head()
runner = CliRunner()
hasher = PasswordHash.recommended()


def flat(output: str) -> str:
    """Rich wraps long lines at the console width; compare with whitespace collapsed."""
    return " ".join(output.split())


def cli(*args: str, input: str | None = None):
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def create_user(email: str, name: str, *options: str, password: str = "long enough pw"):
    """``schoolbase users create`` with the password given on the command line."""
    return cli("users", "create", "--email", email, "--name", name, "--password", password, *options)


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SCHOOLBASE_DATABASE_URL", url)
    monkeypatch.delenv("SCHOOLBASE_APP_DATABASE_URL", raising=False)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fresh_db(server_url, monkeypatch):
    """A brand-new, never migrated database that the CLI is pointed at."""
    with migrate.scratch_database(server_url) as url:
        use_database(monkeypatch, url)
        yield url


@pytest.fixture(scope="module")
def people_db(server_url):
    """One migrated database for the `users` and `demo` tests."""
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture
def cli_db(people_db, monkeypatch):
    use_database(monkeypatch, people_db)
    return people_db


def query(url: str, sql: str, **params):
    with migrate.owner_connection(url) as conn:
        return conn.execute(text(sql), params).all()


def unique_email(prefix: str = "person") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


# ---------------------------------------------------------------- db


def test_db_upgrade_current_and_upgrade_again(fresh_db):
    result = cli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "base"

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"at {HEAD}"
    assert migrate.current_revisions(fresh_db) == (HEAD,)

    result = cli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == HEAD

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"at {HEAD}"


def test_db_history_lists_every_revision_newest_first(fresh_db):
    result = cli("db", "history")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    revisions = migrate.known_revisions()
    assert [line.split()[0] for line in lines] == [r.id for r in revisions]
    assert lines[0].startswith(HEAD)
    assert lines[-1].split()[1:3] == ["<-", "base"]
    for line, revision in zip(lines, revisions, strict=True):
        assert line.split()[2] == (revision.down or "base")
        assert line.split()[3].endswith(".py")


def test_db_check_passes_at_head_and_fails_on_drift(fresh_db):
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "not at head" in flat(result.stderr)

    assert cli("db", "upgrade").exit_code == 0
    result = cli("db", "check")
    assert result.exit_code == 0, result.output
    assert "no drift" in result.stdout

    with migrate.owner_connection(fresh_db) as conn:
        conn.execute(text("drop policy classes_delete on public.classes"))
        conn.execute(text("alter table public.memberships disable row level security"))
        conn.commit()
    result = cli("db", "check")
    assert result.exit_code == 1
    report = flat(result.stderr)
    assert "classes.classes_delete" in report
    assert "memberships rls=false" in report
    assert "no drift" not in result.stdout


def test_db_check_fails_on_a_broken_history(fresh_db, monkeypatch):
    two_heads = [
        migrate.Revision("20250101_000000", None, "a.py"),
        migrate.Revision("20250102_000000", "20250101_000000", "b.py"),
        migrate.Revision("20250103_000000", "20250101_000000", "c.py"),
    ]
    monkeypatch.setattr(migrate, "known_revisions", lambda: two_heads)
    result = cli("db", "check")
    assert result.exit_code == 1
    assert "more than one head: 20250102_000000, 20250103_000000" in flat(result.stderr)


def test_db_downgrade_to_base(fresh_db):
    assert cli("db", "upgrade").exit_code == 0
    result = cli("db", "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "at base"
    result = cli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "base"
    assert query(fresh_db, "select to_regclass('public.users')") == [(None,)]

    # and back up again
    assert cli("db", "upgrade").stdout.strip() == f"at {HEAD}"
    assert cli("db", "check").exit_code == 0


def test_db_downgrade_needs_a_target(fresh_db):
    result = cli("db", "downgrade")
    assert result.exit_code == 2


# ---------------------------------------------------------------- users


def test_users_create_super_admin(cli_db):
    email = unique_email("admin")
    result = create_user(email, "Ada Admin", "--super-admin")
    assert result.exit_code == 0, result.output
    assert flat(result.stdout).startswith(f"created {email} (")
    assert flat(result.stdout).endswith("as super admin")

    [(user_id, name, is_super_admin, disabled_at, password_hash)] = query(
        cli_db,
        "select u.id, u.display_name, u.is_super_admin, u.disabled_at, c.password_hash "
        "from users u join server.credentials c on c.user_id = u.id where u.email = :email",
        email=email,
    )
    assert str(user_id) in result.stdout
    assert (name, is_super_admin, disabled_at) == ("Ada Admin", True, None)
    assert password_hash != "long enough pw"
    assert hasher.verify("long enough pw", password_hash)
    assert not hasher.verify("wrong password", password_hash)
    assert query(cli_db, "select count(*) from memberships where user_id = :id", id=user_id) == [(0,)]


def test_users_create_plain_person_is_not_super_admin(cli_db):
    email = unique_email()
    result = create_user(email, "Plain Person")
    assert result.exit_code == 0, result.output
    assert "super admin" not in result.stdout
    assert query(cli_db, "select is_super_admin from users where email = :e", e=email) == [(False,)]


def test_users_create_prompts_for_the_password_twice(cli_db):
    email = unique_email()
    result = cli("users", "create", "--email", email, "--name", "Prompted", input="prompted pw 1\nprompted pw 1\n")
    assert result.exit_code == 0, result.output
    [(password_hash,)] = query(
        cli_db,
        "select c.password_hash from server.credentials c join users u on u.id = c.user_id where u.email = :e",
        e=email,
    )
    assert hasher.verify("prompted pw 1", password_hash)


def test_users_create_duplicate_email_exits_1(cli_db):
    email = unique_email("dup")
    assert create_user(email, "First").exit_code == 0
    result = create_user(email.upper(), "Second")
    assert result.exit_code == 1
    assert f"error: {email.upper()} already has an account" in flat(result.stderr)
    assert "Traceback" not in result.output
    assert query(cli_db, "select display_name from users where lower(email) = :e", e=email) == [("First",)]


@pytest.mark.parametrize("bad_email", ["not-an-email", "two@@example.org", "spaces in@example.org", ""])
def test_users_create_bad_email_exits_2(cli_db, bad_email):
    result = create_user(bad_email, "Bad")
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr
    assert query(cli_db, "select count(*) from users where email = :e", e=bad_email) == [(0,)]


def test_users_create_short_password_exits_2(cli_db):
    email = unique_email()
    result = create_user(email, "Short", password="1234567")
    assert result.exit_code == 2, result.output
    assert "at least 8 characters" in flat(result.stderr)
    assert query(cli_db, "select count(*) from users where email = :e", e=email) == [(0,)]


@pytest.mark.parametrize("bad_name", ["   ", "x" * 201])
def test_users_create_name_the_database_rejects_exits_1_cleanly(cli_db, bad_name):
    email = unique_email()
    result = create_user(email, bad_name)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert "A value breaks a rule of users_display_name_check" in flat(result.stderr)
    assert "violates" not in flat(result.stderr)  # PostgreSQL's own text is not shown
    assert query(cli_db, "select count(*) from users where email = :e", e=email) == [(0,)]


def test_users_create_org_and_role_go_together(cli_db):
    email = unique_email()
    result = create_user(email, "X", "--org", "maple-grove")
    assert result.exit_code == 2
    assert "--org and --role go together" in flat(result.stderr)
    result = create_user(email, "X", "--role", "teacher")
    assert result.exit_code == 2
    result = create_user(email, "X", "--org", "maple-grove", "--role", "janitor")
    assert result.exit_code == 2
    assert "janitor" in result.stderr
    assert query(cli_db, "select count(*) from users where email = :e", e=email) == [(0,)]


def test_demo_twice_is_idempotent_then_join_a_demo_org(cli_db):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    second = cli("demo")
    assert second.exit_code == 0, second.output
    # Only this test loads the demo into this module's database.
    assert "already loaded" not in flat(first.stdout)
    assert "already loaded" in flat(second.stdout)
    assert "ada@maple-grove.example.org" in first.stdout
    assert "ada@maple-grove.example.org" in second.stdout
    assert query(cli_db, "select slug from organizations order by slug") == [("maple-grove",), ("riverside",)]
    assert query(cli_db, "select count(*) from users where email like '%@maple-grove.example.org'") == [(12,)]

    email = unique_email("teacher")
    result = create_user(email, "New Teacher", "--org", "maple-grove", "--role", "teacher", "--role", "parent")
    assert result.exit_code == 0, result.output
    rows = query(
        cli_db,
        "select o.slug, m.role::text from memberships m join organizations o on o.id = m.organization_id "
        "join users u on u.id = m.user_id where u.email = :e order by 2",
        e=email,
    )
    assert rows == [("maple-grove", "parent"), ("maple-grove", "teacher")]


def test_demo_first_run_says_nothing_about_already_loaded(fresh_db):
    result = cli("demo")  # also migrates the brand-new database
    assert result.exit_code == 0, result.output
    assert "already loaded" not in flat(result.stdout)
    assert "Demo logins" in result.stdout
    assert migrate.current_revisions(fresh_db) == (HEAD,)
    again = cli("demo")
    assert "already loaded" in flat(again.stdout)
    assert query(fresh_db, "select count(*) from organizations") == [(2,)]
    assert query(fresh_db, "select count(*) from users") == [(17,)]  # 16 people of the schools and a super admin


def test_users_create_unknown_org_exits_1_and_creates_nobody(cli_db):
    email = unique_email()
    result = create_user(email, "Lost", "--org", "no-such-school", "--role", "teacher")
    assert result.exit_code == 1
    assert "no organization with slug 'no-such-school'" in flat(result.stderr)
    # The person was created in the same transaction, which was rolled back.
    assert query(cli_db, "select count(*) from users where email = :e", e=email) == [(0,)]


def test_users_disable(cli_db):
    email = unique_email("leaver")
    assert create_user(email, "Leaver").exit_code == 0
    other = unique_email("stayer")
    assert create_user(other, "Stayer").exit_code == 0

    result = cli("users", "disable", email.upper())
    assert result.exit_code == 0, result.output
    assert f"disabled {email.upper()}" in flat(result.stdout)
    [(disabled_at,)] = query(cli_db, "select disabled_at from users where email = :e", e=email)
    assert disabled_at is not None
    assert query(cli_db, "select disabled_at from users where email = :e", e=other) == [(None,)]


def test_users_disable_unknown_email_exits_1(cli_db):
    email = unique_email("ghost")
    result = cli("users", "disable", email)
    assert result.exit_code == 1
    assert f"error: no person with email {email}" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_workers_share_one_process_s_pools_unless_the_sizes_are_set():
    assert shared_pool_sizes(Settings(), 2) == {"SCHOOLBASE_POOL_SIZE": "5", "SCHOOLBASE_POOL_MAX_OVERFLOW": "5"}
    assert shared_pool_sizes(Settings(pool_size=32), 4) == {"SCHOOLBASE_POOL_MAX_OVERFLOW": "2"}
    assert shared_pool_sizes(Settings(pool_size=3, pool_max_overflow=0), 8) == {}
