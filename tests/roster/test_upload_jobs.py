"""The roster upload's jobs: progress stored in statements of its own (seen while the import's
transaction is open), a job run twice or for a finished import doing nothing, the sweep
resuming what a crash left, and an apply whose file went away failing with nothing applied."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from schoolbase.models import RosterImport, RosterImportState
from schoolbase.roster import jobs
from tests.roster.upload_support import district_zip, imports_url, upload, wait_for

State = RosterImportState


async def stored_import(
    db, school, state: State, content: bytes | None, runtime, rows_done: int = 0, *, stalled: bool = True
) -> uuid.UUID:
    """An import of ``school`` in ``state`` as a crash would leave it (``stalled``: minutes ago), with
    its file if ``content``."""
    import_id = uuid.uuid4()
    if content is not None:
        path = runtime.files.path(import_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    async with db.as_service() as session:
        session.add(
            RosterImport(
                id=import_id,
                organization_id=school.org_id,
                file_name="left.zip",
                state=state,
                requested_by=school.people["oa"],
                accepted_by=school.people["oa"] if state == State.applying else None,
                rows_done=rows_done,
                updated_at=datetime.now(UTC) - (timedelta(minutes=10) if stalled else timedelta(0)),
            )
        )
    return import_id


async def progress_of(db, import_id) -> tuple[int, int]:
    async with db.as_service() as session:
        row = (
            await session.execute(
                select(RosterImport.rows_done, RosterImport.rows_total).where(RosterImport.id == import_id)
            )
        ).one()
    return row.rows_done, row.rows_total


async def test_progress_is_stored_beside_the_imports_open_transaction(app, db, make_school, monkeypatch):
    school = await make_school()
    import_id = await stored_import(db, school, State.validating, None, app.state.roster)
    writer = jobs.ProgressWriter(db, import_id)
    async with db.as_service() as session:
        # As the importer's transaction holds the import's row (its links refer to it).
        await session.execute(text("select from roster_imports where id = :id for key share"), {"id": import_id})
        await writer("reading orgs.csv", 5000, 0)
        assert await progress_of(db, import_id) == (5000, 0)
        await writer("reading orgs.csv", 10000, 0)  # within half a second: not stored
        assert await progress_of(db, import_id) == (5000, 0)
        monkeypatch.setattr(jobs, "PROGRESS_EVERY_SECONDS", 0)
        await writer("reading users.csv", 5000, 0)  # rows of the files before count on
        assert await progress_of(db, import_id) == (15000, 0)
        await writer("applying orgs.csv", 1, 12)
        assert await progress_of(db, import_id) == (1, 12)


async def test_a_job_for_an_import_not_in_its_state_does_nothing(app, client, db, make_school):
    school = await make_school()
    oa = school.headers["oa"]
    created = (await upload(client, oa, school.org_id, district_zip())).json()
    checked = await wait_for(client, oa, school.org_id, created["id"], ("validated",))
    await jobs.validate(app.state.roster, uuid.UUID(created["id"]))  # queued twice
    await jobs.apply(app.state.roster, uuid.UUID(created["id"]))  # not accepted
    again = (await client.get(imports_url(school.org_id, created["id"]), headers=oa)).json()
    assert again == checked


async def test_the_sweep_resumes_what_a_crash_left(app, client, db, make_school):
    school = await make_school()
    runtime = app.state.roster
    checking = await stored_import(db, school, State.validating, district_zip(), runtime)
    applying = await stored_import(db, school, State.applying, district_zip(), runtime)
    assert await jobs.sweep(runtime) >= 2
    oa = school.headers["oa"]
    assert (await wait_for(client, oa, school.org_id, checking, ("validated",)))["report"]["files"]
    done = await wait_for(client, oa, school.org_id, applying, ("completed",))
    assert done["summary"]["user"]["created"] == 4


async def test_an_apply_whose_file_went_away_fails_with_nothing_imported(app, client, db, make_school):
    school = await make_school()
    oa = school.headers["oa"]
    created = (await upload(client, oa, school.org_id, district_zip())).json()
    await wait_for(client, oa, school.org_id, created["id"], ("validated",))
    app.state.roster.files.path(uuid.UUID(created["id"])).unlink()
    await client.post(imports_url(school.org_id, created["id"], "accept"), headers=oa)
    failed = await wait_for(client, oa, school.org_id, created["id"], ("failed",))
    assert failed["error"].startswith("Nothing was imported.")
    members = (await client.get(f"/organizations/{school.org_id}/members", headers=oa)).json()["items"]
    assert len(members) == 5  # the school's own people only
