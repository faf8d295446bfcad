"""A synthetic OneRoster 1.1 CSV district, written row by row (memory stays flat with its size).

    .venv/bin/python bench/oneroster_district.py OUT [--users 50000] [--classes 2000] [--enrollments 200000]
        [--schools 12] [--seed 14] [--zip] [--delta DELTA_OUT]

``generate(out, ...)`` writes a bulk set into the folder ``out`` (and, with ``zip_to``, the same
files as a zip): one district and its schools (orgs.csv), a school year with two semesters and four
grading periods (academicSessions.csv), courses per school, classes, users (90 % students, 5 %
teachers, one administrator per 5,000 users, the rest parents and guardians linked to their children
by agentSourcedIds on both sides) and enrollments (every class a primary teacher, students spread over
the classes so that each is in a few), plus manifest.csv. Most people have an address in the
district's domain; most parents and a few teachers have an outside one; about one student in ten, the
youngest (KG to 02 in the elementary schools), has no address, only a username.

``delta(folder, out)`` reads such a bulk set and writes a delta set (status and dateLastModified on
every row, as OneRoster asks of delta files): about ``fraction`` of the rows changed: new family
names, students withdrawn (tobedeleted, with their enrollments), dropped enrollments, new students
with their classes, a new class with its teacher and students, renamed classes.

Everything is derived from the row's number and ``seed``: the same arguments give the same bytes.
Column order and enumerations are those of the IMS OneRoster v1.1 CSV tables.
"""

import argparse
import csv
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

# The IMS OneRoster v1.1 CSV tables: every file carries every column, in this order.
COLUMNS = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": (
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId",
        "schoolYear",
    ),
    "courses": (
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
        "orgSourcedId", "subjects", "subjectCodes",
    ),
    "classes": (
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
        "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
    ),
    "users": (
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
        "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
        "password",
    ),
    "enrollments": (
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
        "primary", "beginDate", "endDate",
    ),
}  # fmt: skip
# Every data file a 1.1 manifest names (file.<name>: bulk, delta or absent).
MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources", "demographics",
    "enrollments", "lineItems", "orgs", "resources", "results", "users",
)  # fmt: skip
SYSTEM_NAME, SYSTEM_CODE = "Bench SIS", "bench-sis"
DELTA_MODIFIED = "2026-11-29T06:00:00.000Z"  # ISO 8601, after the bulk set (whose dates are blank)

GIVEN = (
    "Ava Liam Olivia Noah Emma Oliver Sophia Elijah Amelia Mateo Mia Lucas Harper Levi Evelyn Ethan Luna Mason "
    "Camila Logan Aria Aiden Sofía Jackson Chloé Sebastián Zoë Amir Priya Mei Kenji Aaliyah Dmitri Fatima Seo-yeon "
    "Nia Tomás Ingrid Kwame Leilani José Anaïs Björn Chiara Rahul Yuki Omar Hannah Jonah Renée"
).split()
FAMILY = (
    "Smith Johnson Williams Brown Jones García Miller Davis Rodríguez Martínez Hernández López Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Pérez Thompson White Harris Sánchez Clark Ramírez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyễn Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Müller O'Connor Kowalski Okafor Chen Haddad Novák Ivanova Yamamoto Kim Patel Singh "
    "Johansson Rossi Dubois"
).split() + ["Van der Berg"]
SUBJECTS = (
    "Mathematics", "English Language Arts", "Science", "Social Studies", "World Languages", "Art", "Music",
    "Physical Education", "Computer Science", "Health",
)  # fmt: skip
BANDS = (("KG", "01", "02", "03", "04", "05"), ("06", "07", "08"), ("09", "10", "11", "12"))  # CEDS grade codes
YOUNGEST = {"KG", "01", "02"}
# (key, title, type, start, end, parent key); schoolYear is the year the school year ends in.
SCHOOL_YEAR = "2027"
SESSIONS = (
    ("sy", "2026-2027", "schoolYear", "2026-08-17", "2027-06-11", ""),
    ("fall", "Fall 2026", "semester", "2026-08-17", "2026-12-18", "sy"),
    ("spring", "Spring 2027", "semester", "2027-01-05", "2027-06-11", "sy"),
    ("q1", "Quarter 1", "gradingPeriod", "2026-08-17", "2026-10-16", "fall"),
    ("q2", "Quarter 2", "gradingPeriod", "2026-10-19", "2026-12-18", "fall"),
    ("q3", "Quarter 3", "gradingPeriod", "2027-01-05", "2027-03-19", "spring"),
    ("q4", "Quarter 4", "gradingPeriod", "2027-03-22", "2027-06-11", "spring"),
)
# Classes by c % 4: year-long (both semesters) twice as often as one semester.
TERMS = (("fall", "spring"), ("fall", "spring"), ("fall",), ("spring",))


@dataclass(frozen=True)
class District:
    """Sizes and the arithmetic that places every row: no row needs another to be remembered."""

    users: int = 50_000
    classes: int = 2_000
    enrollments: int = 200_000
    schools: int = 12
    seed: int = 14
    domain: str = "district.example.org"
    outside_domain: str = "mail.example.com"

    @cached_property
    def namespace(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"https://schoolbase.example/bench/oneroster/{self.seed}")

    def sid(self, kind: str, n: int | str) -> str:
        return str(uuid.uuid5(self.namespace, f"{kind}-{n}"))

    @cached_property
    def admins(self) -> int:
        return max(1, self.users // 5_000)

    @cached_property
    def teachers(self) -> int:
        return max(1, round(self.users * 0.05))

    @cached_property
    def students(self) -> int:
        return max(1, round(self.users * 0.9))

    @cached_property
    def parents(self) -> int:
        return max(0, self.users - self.admins - self.teachers - self.students)

    @cached_property
    def school_count(self) -> int:
        return max(1, min(self.schools, self.classes))

    @cached_property
    def courses_per_school(self) -> int:
        return max(1, self.classes // (self.school_count * 4))

    # Students: class c holds students start(c), start(c) + 1, ... (mod students), size(c) of them.
    def start(self, c: int) -> int:
        return c * self.students // self.classes

    def size(self, c: int) -> int:
        spread = max(0, self.enrollments - self.classes)
        return min(self.students, spread // self.classes + (c < spread % self.classes))

    @cached_property
    def largest(self) -> int:
        return self.size(0)

    def school_of_class(self, c: int) -> int:
        return c * self.school_count // self.classes

    def home_school(self, s: int) -> int:
        return s * self.school_count // self.students

    def classes_of_student(self, s: int) -> list[int]:
        low = (s - self.largest) * self.classes // self.students - 1
        found = {
            c % self.classes
            for c in range(low, s * self.classes // self.students + 2)
            if (s - self.start(c % self.classes)) % self.students < self.size(c % self.classes)
        }
        return sorted(found)

    # Parent p is the guardian of student child(p), and every third parent of the next student too.
    def children(self, p: int) -> list[int]:
        first = p * self.students // self.parents
        return [first, first + 1] if p % 3 == 0 and first + 1 < self.students else [first]

    def parents_of(self, s: int) -> list[int]:
        if not self.parents:
            return []
        near = s * self.parents // self.students
        return [p for p in range(max(0, near - 2), min(self.parents, near + 3)) if s in self.children(p)]

    def grade_of(self, s: int) -> str:
        band = BANDS[self.home_school(s) % len(BANDS)]
        return band[s % len(band)]


def name(seed: int, kind: str, n: int) -> tuple[str, str]:
    mix = zlib.crc32(f"{seed}:{kind}:{n}".encode())
    return GIVEN[mix % len(GIVEN)], FAMILY[(mix // len(GIVEN)) % len(FAMILY)]


def local_part(given: str, family: str, n: int) -> str:
    """An address's local part from a name: accents folded, only letters and digits, dots between."""
    folded = unicodedata.normalize("NFKD", f"{given}.{family}").encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum() or ch == ".") + str(n)


def bucket(seed: int, sourced_id: str) -> float:
    """A stable number in [0, 1) per row, to choose rows without remembering them."""
    return zlib.crc32(f"{seed}:{sourced_id}".encode()) / 2**32


class Table:
    """One CSV file being written: its header first, then rows, counted."""

    def __init__(self, f) -> None:
        self.writer = csv.writer(f)  # RFC 4180: CRLF, quotes only where a value needs them
        self.rows = 0

    def writerow(self, row: tuple[str, ...]) -> None:
        self.writer.writerow(row)
        self.rows += 1

    def writerows(self, rows: Iterable[tuple[str, ...]]) -> None:
        for row in rows:
            self.writerow(row)


@contextmanager
def table(folder: Path, stem: str, counts: dict[str, int]) -> Iterator[Table]:
    """Write ``stem``.csv in ``folder``; its number of rows goes into ``counts``."""
    with (folder / f"{stem}.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(COLUMNS[stem])
        written = Table(f)
        yield written
        counts[stem] = written.rows


def write_manifest(folder: Path, modes: dict[str, str]) -> None:
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerows([("propertyName", "value"), ("manifest.version", "1.0"), ("oneroster.version", "1.1")])
        writer.writerows((f"file.{stem}", modes.get(stem, "absent")) for stem in MANIFEST_FILES)
        writer.writerows([("source.systemName", SYSTEM_NAME), ("source.systemCode", SYSTEM_CODE)])


def zip_folder(folder: Path, zip_to: Path) -> None:
    with zipfile.ZipFile(zip_to, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.csv")):
            archive.write(path, path.name)


def generate(out: Path, district: District = District(), *, zip_to: Path | None = None) -> dict[str, int]:
    """Write the bulk set of ``district`` into the folder ``out``; the rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    d = district
    counts: dict[str, int] = {}
    school = [d.sid("school", k) for k in range(d.school_count)]
    district_id = d.sid("district", 0)
    session = {key: d.sid("session", key) for key, *_ in SESSIONS}

    with table(out, "orgs", counts) as w:
        w.writerow((district_id, "", "", "Bench Unified School District", "district", "BUSD", ""))
        kinds = ("Elementary School", "Middle School", "High School")
        for k, sid in enumerate(school):
            w.writerow(
                (sid, "", "", f"{FAMILY[k % len(FAMILY)]} {kinds[k % 3]}", "school", f"S{k + 1:03d}", district_id)
            )

    with table(out, "academicSessions", counts) as w:
        for key, title, kind, start, end, parent in SESSIONS:
            w.writerow((session[key], "", "", title, kind, start, end, session.get(parent, ""), SCHOOL_YEAR))

    def course_id(k: int, j: int) -> str:
        return d.sid("course", f"{k}-{j}")

    def course_title(k: int, j: int) -> tuple[str, str, str]:
        subject = SUBJECTS[(k + j) % len(SUBJECTS)]
        band = BANDS[k % len(BANDS)]
        return subject, f"{subject} {band[0]}-{band[-1]}", ",".join(band)

    with table(out, "courses", counts) as w:
        for k in range(d.school_count):
            for j in range(d.courses_per_school):
                subject, title, grades = course_title(k, j)
                code = f"{subject[:4].upper()}-{k + 1:02d}{j + 1:03d}"
                w.writerow((course_id(k, j), "", "", session["sy"], title, code, grades, school[k], subject, ""))

    with table(out, "classes", counts) as w:
        for c in range(d.classes):
            k, j = d.school_of_class(c), c % d.courses_per_school
            subject, title, grades = course_title(k, j)
            kind = "homeroom" if k % len(BANDS) == 0 and j == 0 else "scheduled"
            terms = ",".join(session[t] for t in TERMS[c % len(TERMS)])
            w.writerow((
                d.sid("class", c), "", "", f"{title} - Section {c + 1}", grades, course_id(k, j), f"C{c + 1:05d}",
                kind, f"Room {100 + c % 300}", school[k], terms, subject, "", str(1 + c % 7),
            ))  # fmt: skip

    def person(writer, kind: str, n: int, role: str, orgs: list[str], *, email: str | None, **more) -> None:
        given, family = name(d.seed, kind, n)
        username = local_part(given, family, n)
        address = f"{username}@{email}" if email else ""
        writer.writerow((
            d.sid(kind, n), "", "", "true", ",".join(orgs), role, username, "", given, family, "",
            more.get("identifier", ""), address, "", "", ",".join(more.get("agents", ())), more.get("grades", ""), "",
        ))  # fmt: skip

    with table(out, "users", counts) as w:
        for a in range(d.admins):
            person(w, "admin", a, "administrator", [district_id], email=d.domain, identifier=f"A{a + 1:05d}")
        for t in range(d.teachers):
            taught = sorted({d.school_of_class(c) for c in range(t, d.classes, d.teachers)}) or [t % d.school_count]
            # A few staff (substitutes) sign in with an outside address.
            domain = d.outside_domain if t % 50 == 49 else d.domain
            person(w, "teacher", t, "teacher", [school[k] for k in taught], email=domain, identifier=f"T{t + 1:05d}")
        for s in range(d.students):
            grade = d.grade_of(s)
            orgs = sorted({d.school_of_class(c) for c in d.classes_of_student(s)}) or [d.home_school(s)]
            agents = [d.sid("parent", p) for p in d.parents_of(s)]
            # The youngest get a username and no address: about one student in ten.
            domain = None if grade in YOUNGEST and s % 10 < 6 else d.domain
            person(
                w, "student", s, "student", [school[k] for k in orgs], email=domain,
                identifier=f"S{s + 1:06d}", agents=agents, grades=grade,
            )  # fmt: skip
        for p in range(d.parents):
            kids = d.children(p)
            role = "guardian" if p % 7 == 0 else "parent"
            # Most parents write from their own mail provider; some work for the district.
            domain = d.domain if p % 5 == 0 else d.outside_domain
            orgs = [school[d.home_school(kids[0])]]
            person(w, "parent", p, role, orgs, email=domain, agents=[d.sid("student", s) for s in kids])

    with table(out, "enrollments", counts) as w:
        for c in range(d.classes):
            cid, sch = d.sid("class", c), school[d.school_of_class(c)]
            w.writerow((d.sid("enrollment", f"{c}-t"), "", "", cid, sch, d.sid("teacher", c % d.teachers),
                        "teacher", "true", "", ""))  # fmt: skip
            for r in range(d.size(c)):
                student = d.sid("student", (d.start(c) + r) % d.students)
                w.writerow((d.sid("enrollment", f"{c}-{r}"), "", "", cid, sch, student, "student", "false", "", ""))

    write_manifest(out, dict.fromkeys(counts, "bulk"))
    if zip_to:
        zip_folder(out, zip_to)
    return counts


def rows(folder: Path, stem: str) -> Iterator[dict[str, str]]:
    with (folder / f"{stem}.csv").open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def manifest(folder: Path) -> dict[str, str]:
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as f:
        return {row["propertyName"]: row["value"] for row in csv.DictReader(f)}


def changed(row: dict[str, str], stem: str, **values: str) -> tuple[str, ...]:
    """``row`` as a delta row: active unless said otherwise, stamped, with ``values`` replaced."""
    merged = {**row, "status": "active", "dateLastModified": DELTA_MODIFIED, **values}
    return tuple(merged[column] for column in COLUMNS[stem])


def delta(
    folder: Path, out: Path, fraction: float = 0.01, *, seed: int = 14, zip_to: Path | None = None
) -> dict[str, int]:
    """Write into ``out`` a delta set to apply after the bulk set in ``folder``: about ``fraction`` of
    its rows changed, removed (tobedeleted) or added; the rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://schoolbase.example/bench/oneroster-delta/{seed}")

    def sid(kind: str, n: int | str) -> str:
        return str(uuid.uuid5(namespace, f"{kind}-{n}"))

    counts: dict[str, int] = {}
    # Classes: a few renamed, and a new section of the first class's course, in its school and terms.
    template: dict[str, str] = {}
    pool: list[str] = []  # classes of that school, for the new students
    with table(out, "classes", counts) as w:
        for row in rows(folder, "classes"):
            template = template or row
            if row["schoolSourcedId"] == template["schoolSourcedId"] and len(pool) < 40:
                pool.append(row["sourcedId"])
            if bucket(seed, row["sourcedId"]) < fraction:
                w.writerow(changed(row, "classes", title=row["title"].replace(" - Section ", " - Sec. ")))
        new_class = sid("class", 0)
        course_title = template["title"].rsplit(" - ", 1)[0]
        code = template["classCode"] + "N"
        w.writerow(changed(template, "classes", sourcedId=new_class, title=f"{course_title} - New", classCode=code))
    school = template["schoolSourcedId"]

    # Users: family names changed, students without guardians withdrawn, then new students.
    withdrawn: set[str] = set()
    joining: list[str] = []  # existing students of that school moving into the new class
    teacher, domain, students = "", "", 0
    with table(out, "users", counts) as w:
        for row in rows(folder, "users"):
            chance, role, orgs = bucket(seed, row["sourcedId"]), row["role"], row["orgSourcedIds"].split(",")
            students += role == "student"
            if role == "administrator" and not domain:
                domain = row["email"].partition("@")[2]
            if role == "teacher" and school in orgs and not teacher:
                teacher = row["sourcedId"]
            if role == "student" and not row["agentSourcedIds"] and chance < fraction * 0.1:
                withdrawn.add(row["sourcedId"])
                w.writerow(changed(row, "users", status="tobedeleted"))
            elif chance < fraction * 0.6:
                other = FAMILY[int(chance * 1e9) % len(FAMILY)]
                w.writerow(changed(row, "users", familyName=f"{row['familyName']}-{other}"))
            elif role == "student" and school in orgs and 0.5 <= chance < 0.55 and len(joining) < 30:
                joining.append(row["sourcedId"])
        newcomers = [sid("student", i) for i in range(max(1, round(students * fraction * 0.3)))]
        grade = template["grades"].split(",")[-1]  # the oldest of the school: they have an address
        for i, sourced_id in enumerate(newcomers):
            given, family = name(seed, "delta-student", i)
            username = local_part(given, family, 900_000 + i)
            w.writerow((
                sourced_id, "active", DELTA_MODIFIED, "true", school, "student", username, "", given, family, "",
                f"S{900_000 + i}", f"{username}@{domain}", "", "", "", grade, "",
            ))  # fmt: skip

    # Enrollments: the withdrawn students' and some dropped, then the new class's and the newcomers'.
    def enrollment(key: str, class_id: str, user: str, role: str) -> tuple[str, ...]:
        primary = "true" if role == "teacher" else "false"
        return (sid("enrollment", key), "active", DELTA_MODIFIED, class_id, school, user, role, primary, "", "")

    with table(out, "enrollments", counts) as w:
        for row in rows(folder, "enrollments"):
            dropped = row["role"] == "student" and bucket(seed, row["sourcedId"]) < fraction * 0.5
            if row["userSourcedId"] in withdrawn or dropped:
                w.writerow(changed(row, "enrollments", status="tobedeleted"))
        added = [enrollment("new-t", new_class, teacher, "teacher")]
        added += [enrollment(f"new-{n}", new_class, student, "student") for n, student in enumerate(joining)]
        per_student = min(4, len(pool))
        added += [
            enrollment(f"{i}-{k}", pool[(i * per_student + k) % len(pool)], student, "student")
            for i, student in enumerate(newcomers)
            for k in range(per_student)
        ]
        w.writerows(added)

    write_manifest(out, dict.fromkeys(counts, "delta"))
    if zip_to:
        zip_folder(out, zip_to)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the bulk set into")
    parser.add_argument("--users", type=int, default=District.users)
    parser.add_argument("--classes", type=int, default=District.classes)
    parser.add_argument("--enrollments", type=int, default=District.enrollments)
    parser.add_argument("--schools", type=int, default=District.schools)
    parser.add_argument("--seed", type=int, default=District.seed)
    parser.add_argument("--domain", default=District.domain)
    parser.add_argument("--zip", action="store_true", help="also write OUT.zip")
    parser.add_argument("--delta", type=Path, help="also write a delta set of the bulk set into this folder")
    parser.add_argument("--fraction", type=float, default=0.01, help="of the rows the delta changes")
    args = parser.parse_args()
    district = District(args.users, args.classes, args.enrollments, args.schools, args.seed, args.domain)
    print("bulk:", generate(args.out, district, zip_to=args.out.with_suffix(".zip") if args.zip else None))
    if args.delta:
        zip_to = args.delta.with_suffix(".zip") if args.zip else None
        print("delta:", delta(args.out, args.delta, args.fraction, seed=args.seed, zip_to=zip_to))


if __name__ == "__main__":
    main()
