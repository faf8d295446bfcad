"""OneRoster sets for the importer's tests: hand-written fixtures under ``fixtures/``, copied
into a scratch folder with addresses made unique to the test (domains are global), and a
district organization that owns those domains."""

import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from schoolbase.db.engine import Database
from schoolbase.roster.flows import import_roster
from schoolbase.roster.report import Report

FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "valid-1.1"
DOMAINS = ("riverside.example.org", "students.riverside.example.org")


@dataclass
class District:
    org_id: uuid.UUID
    slug: str
    tag: str

    def email(self, local: str, domain: str = "riverside.example.org") -> str:
        return f"{local}@{_unique(domain, self.tag)}"


def _unique(domain: str, tag: str) -> str:
    """riverside.example.org → <tag>.riverside.example.org (students.… keeps its prefix)."""
    return domain.replace("riverside.example.org", f"{tag}.riverside.example.org").replace(
        "mail.example.com", f"{tag}.mail.example.com"
    )


async def make_district(db: Database, time_zone: str = "America/Chicago") -> District:
    tag = uuid.uuid4().hex[:8]
    slug = f"riverside-{tag}"
    async with db.as_service() as session:
        org_id = await session.scalar(
            text("insert into organizations (name, slug, time_zone) values (:name, :slug, :tz) returning id"),
            {"name": f"Riverside {tag}", "slug": slug, "tz": time_zone},
        )
        for domain in DOMAINS:
            await session.execute(
                text("insert into organization_domains (organization_id, domain) values (:org, :domain)"),
                {"org": org_id, "domain": _unique(domain, tag)},
            )
    return District(org_id, slug, tag)


def roster_set(case: str, dest: Path, district: District, *, base: Path | None = BASE) -> Path:
    """The fixture ``case`` (laid over ``base`` when given) in ``dest``, with the district's addresses."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder in (base, FIXTURES / case):
        if folder is None:
            continue
        for file in folder.iterdir():
            if file.suffix == ".csv" or file.suffix == ".txt":
                data = file.read_bytes()
                for domain in (*DOMAINS, "mail.example.com"):
                    data = data.replace(domain.encode(), _unique(domain, district.tag).encode())
                (dest / file.name).write_bytes(data)
    return dest


def zipped(folder: Path, into: Path) -> Path:
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"export/{file.name}")
    return into


async def run_import(db: Database, district: District, path: Path, **options) -> Report:
    options.setdefault("apply", True)
    return await import_roster(db, district.org_id, path, **options)


def issue_lines(report: Report) -> list[list]:
    return sorted([issue.file, issue.line or 0, issue.severity, issue.code] for issue in report.issues)


def fresh(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    shutil.rmtree(path, ignore_errors=True)
    return path
