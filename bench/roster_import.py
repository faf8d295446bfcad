"""OneRoster CSV import of a generated district: first import, the same files again, a 1 % delta.

    .venv/bin/python bench/roster_import.py [--users 50000] [--classes 2000] [--enrollments 200000]
        [--schools 12] [--fraction 0.01] [--zip] [--keep DIR]

Writes a OneRoster 1.1 district with ``bench/oneroster_district.py`` (bulk), a delta set of it
(about --fraction of the rows changed) and the same district at half size, into a temporary
folder (or --keep DIR). In a scratch database on SCHOOLBASE_DATABASE_URL or an embedded
PostgreSQL, creates an organization per district (as service_role, the district's email domain
registered). Then runs the real CLI, ``schoolbase roster import PATH --org SLUG --yes``, as a
child process each time: the half-size district once; the full district, the same full district
again (nothing to change) and the delta. Each run's wall time and the peak resident memory of
that child alone (``os.wait4``'s rusage of the one process), against a baseline child that only
starts the CLI and opens the database (``schoolbase db current``). Prints the table, the ratios
re-import/first and delta/first, and peak memory full/half size: an importer that streams keeps
that ratio near 1.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from district import scratch_database
from oneroster_district import District, delta, generate
from sqlalchemy import text

from schoolbase.config import Settings
from schoolbase.db.engine import Database
from schoolbase.db.urls import DatabaseUrls, database_urls
from schoolbase.models import Organization, OrganizationDomain

SCHOOLBASE = Path(sys.executable).with_name("schoolbase")
FIRST_TARGET_S, REIMPORT_TARGET_S = 180, 60
# What the organization holds after a run, to see that each did what it should.
STATE = text("""
select (select count(*) from public.memberships where organization_id = :org and ended_at is null),
       (select count(*) from public.memberships where organization_id = :org and ended_at is not null),
       (select count(*) from public.classes where organization_id = :org),
       (select count(*) from public.enrollments where organization_id = :org and ended_at is null),
       (select count(*) from public.enrollments where organization_id = :org and ended_at is not null),
       (select count(*) from public.guardianships where organization_id = :org),
       (select count(*) from public.invitations where organization_id = :org and sent_at is null),
       (select count(*) from public.roster_links where organization_id = :org)
""")
STATE_NAMES = ("members", "ended members", "classes", "enrollments", "ended enrollments", "guardianships",
               "held invitations", "links")  # fmt: skip


@dataclass
class Run:
    name: str
    rows: int
    seconds: float
    peak_mib: float


def run_child(argv: list[str], owner_url: str, log: Path) -> tuple[float, float]:
    """Run ``schoolbase argv`` on the scratch database; its wall time (s) and its own peak RSS (MiB)."""
    env = {**os.environ, "SCHOOLBASE_DATABASE_URL": owner_url}
    with log.open("w") as out:
        started = time.perf_counter()
        child = subprocess.Popen([str(SCHOOLBASE), *argv], stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.exit(f"schoolbase {' '.join(argv)} failed (exit {child.returncode}):\n{log.read_text()}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


async def create_organization(urls: DatabaseUrls, name: str, domain: str) -> tuple[uuid.UUID, str]:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    db = Database(urls, pool_size=1, max_overflow=0)
    try:
        async with db.as_service() as session:
            org = Organization(name=name, slug=slug, time_zone="America/Chicago")
            session.add(org)
            await session.flush()
            session.add(OrganizationDomain(organization_id=org.id, domain=domain))
            return org.id, slug
    finally:
        await db.dispose()


async def state(urls: DatabaseUrls, org: uuid.UUID) -> dict[str, int]:
    db = Database(urls, pool_size=1, max_overflow=0)
    try:
        async with db.as_service() as session:
            return dict(zip(STATE_NAMES, (await session.execute(STATE, {"org": org})).one(), strict=True))
    finally:
        await db.dispose()


def measure(args: argparse.Namespace, full: District, half: District, work: Path) -> None:
    started = time.perf_counter()
    sets: dict[str, tuple[Path, int]] = {}
    for key, write in (
        ("full", lambda out, zip_to: generate(out, full, zip_to=zip_to)),
        ("delta", lambda out, zip_to: delta(work / "full", out, args.fraction, seed=full.seed, zip_to=zip_to)),
        ("half", lambda out, zip_to: generate(out, half, zip_to=zip_to)),
    ):
        folder = work / key
        counts = write(folder, folder.with_suffix(".zip") if args.zip else None)
        sets[key] = (folder.with_suffix(".zip") if args.zip else folder, sum(counts.values()))
        print(f"{key}: {', '.join(f'{n:,} {stem}' for stem, n in counts.items())}")
    print(f"generated in {time.perf_counter() - started:.1f} s into {work}")

    with scratch_database() as owner_url:
        urls = database_urls(owner_url, Settings())
        full_org, full_slug = asyncio.run(create_organization(urls, "Bench Unified School District", full.domain))
        half_org, half_slug = asyncio.run(create_organization(urls, "Bench Half District", half.domain))
        seconds, peak = run_child(["db", "current"], owner_url, work / "baseline.log")
        runs = [Run("baseline: CLI start (db current)", 0, seconds, peak)]
        plan = (
            ("half size, first import", "half", half_org, half_slug),
            ("first import", "full", full_org, full_slug),
            ("re-import, no change", "full", full_org, full_slug),
            (f"delta ({args.fraction:.0%})", "delta", full_org, full_slug),
        )
        for i, (title, key, org, slug) in enumerate(plan):
            path, rows = sets[key]
            log = work / f"import-{i}-{key}.log"
            seconds, peak = run_child(["roster", "import", str(path), "--org", slug, "--yes"], owner_url, log)
            runs.append(Run(title, rows, seconds, peak))
            after = asyncio.run(state(urls, org))
            kept = f" (output in {log})" if args.keep else ""
            print(f"\n{title}: {seconds:.1f} s, peak RSS {peak:.0f} MiB{kept}")
            print("  " + ", ".join(f"{value:,} {name}" for name, value in after.items()))

    baseline, halfsize, first, again, changed = runs
    print(f"\n{'':34} {'rows':>9} {'wall s':>8} {'peak RSS MiB':>13}")
    for run in runs:
        print(f"{run.name:34} {run.rows:9,} {run.seconds:8.1f} {run.peak_mib:13.0f}")
    print(f"\nratio re-import/first: {again.seconds / first.seconds:.2f}x, delta/first: "
          f"{changed.seconds / first.seconds:.2f}x")  # fmt: skip
    print(f"peak RSS full/half size: {first.peak_mib / halfsize.peak_mib:.2f}x (flat = 1.00; "
          f"above the CLI's own {baseline.peak_mib:.0f} MiB: full {first.peak_mib - baseline.peak_mib:.0f}, "
          f"half {halfsize.peak_mib - baseline.peak_mib:.0f} MiB)")  # fmt: skip
    met = first.seconds < FIRST_TARGET_S and again.seconds < REIMPORT_TARGET_S
    print(f"target (first < {FIRST_TARGET_S} s, re-import < {REIMPORT_TARGET_S} s): {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=District.users)
    parser.add_argument("--classes", type=int, default=District.classes)
    parser.add_argument("--enrollments", type=int, default=District.enrollments)
    parser.add_argument("--schools", type=int, default=District.schools)
    parser.add_argument("--fraction", type=float, default=0.01, help="of the rows the delta changes")
    parser.add_argument("--zip", action="store_true", help="import zips instead of folders")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them (default: a temporary folder)")
    args = parser.parse_args()
    full = District(args.users, args.classes, args.enrollments, args.schools)
    half = District(
        args.users // 2, args.classes // 2, args.enrollments // 2, args.schools,
        domain=f"half.{full.domain}", outside_domain=f"half.{full.outside_domain}",
    )  # fmt: skip

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        measure(args, full, half, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="schoolbase-roster-bench-") as work:
            measure(args, full, half, Path(work))


if __name__ == "__main__":
    main()
