"""Where each file's rows wait while they are checked: a temporary table per file (dropped
with the transaction), with one typed column per field Schoolbase keeps."""

from dataclasses import dataclass

from schoolbase.roster import fields as f
from schoolbase.roster import formats as fmt


@dataclass(frozen=True)
class Column:
    name: str
    source: str
    parse: f.Parser
    sql_type: str
    required: bool = False
    # A reference other rows are looked up by, so the stage gets an index on it.
    indexed: bool = False


@dataclass(frozen=True)
class Stage:
    spec: fmt.FileFormat
    columns: tuple[Column, ...]

    @property
    def table(self) -> str:
        return f"roster_stage_{self.spec.stem.lower()}"

    def create(self) -> str:
        typed = ", ".join(f"{column.name} {column.sql_type}" for column in self.columns)
        # target_id: what the row becomes (found by its link, or new); is_new: made by this import.
        # Room on each page lets the apply's updates of unindexed columns stay on the page (HOT).
        return (
            f"create temp table {self.table} (line integer, sourced_id text not null, status text not null, "
            f"modified timestamptz, bad boolean not null default false, target_id uuid, "
            f"is_new boolean not null default false, {typed}) with (fillfactor = 50) on commit drop"
        )

    def indexes(self) -> list[str]:
        columns = ["sourced_id", *(c.name for c in self.columns if c.indexed)]
        return [f"create index on {self.table} ({column})" for column in columns]

    def copy_columns(self) -> str:
        return ", ".join(["line", "sourced_id", "status", "modified", "bad", *(c.name for c in self.columns)])


def _ref(name: str, source: str, required: bool = False) -> Column:
    return Column(name, source, f.text, "text", required, indexed=True)


def _refs(name: str, source: str, required: bool = False) -> Column:
    return Column(name, source, f.listing, "text[]", required)


STAGES = {
    stage.spec.stem: stage
    for stage in (
        Stage(
            fmt.ORGS,
            (
                Column("name", "name", f.text, "text", True),
                Column("type", "type", f.one_of(*fmt.ORG_TYPES), "text", True),
                Column("identifier", "identifier", f.text, "text"),
                _ref("parent", "parentSourcedId"),
            ),
        ),
        Stage(
            fmt.ACADEMIC_SESSIONS,
            (
                Column("title", "title", f.text, "text", True),
                Column("type", "type", f.one_of(*fmt.SESSION_TYPES, mapping=fmt.SESSION_TYPES), "text", True),
                Column("start_date", "startDate", f.day, "date", True),
                Column("end_date", "endDate", f.day, "date", True),
                _ref("parent", "parentSourcedId"),
                Column("school_year", "schoolYear", f.year, "integer"),
            ),
        ),
        Stage(
            fmt.COURSES,
            (
                Column("title", "title", f.text, "text", True),
                Column("code", "courseCode", f.text, "text"),
                Column("grades", "grades", f.listing, "text[]"),
                Column("subjects", "subjects", f.listing, "text[]"),
                _ref("org", "orgSourcedId"),
                _ref("school_year", "schoolYearSourcedId"),
            ),
        ),
        Stage(
            fmt.CLASSES,
            (
                Column("title", "title", f.text, "text", True),
                Column("code", "classCode", f.text, "text"),
                Column("grades", "grades", f.listing, "text[]"),
                Column("subjects", "subjects", f.listing, "text[]"),
                Column("class_type", "classType", f.one_of(*fmt.CLASS_TYPES), "text"),
                _ref("course", "courseSourcedId", True),
                _ref("school", "schoolSourcedId", True),
                _refs("terms", "termSourcedIds", True),
            ),
        ),
        Stage(
            fmt.USERS,
            (
                Column("enabled", "enabledUser", f.boolean, "boolean", True),
                Column("given_name", "givenName", f.text, "text", True),
                Column("family_name", "familyName", f.text, "text", True),
                Column("preferred_given_name", "preferredGivenName", f.text, "text"),
                Column("email", "email", f.email, "text", indexed=True),
                Column("username", "username", f.text, "text", indexed=True),
                Column("identifier", "identifier", f.text, "text"),
                Column("source_role", "role", f.one_of(*fmt.USER_ROLES), "text"),
                _refs("orgs", "orgSourcedIds"),
                _refs("agents", "agentSourcedIds"),
                Column("username_base", "", f.nothing, "text"),
            ),
        ),
        Stage(
            fmt.ROLES,
            (
                _ref("user_ref", "userSourcedId", True),
                Column("role_type", "roleType", f.one_of(*fmt.ROLE_TYPES), "text", True),
                Column("source_role", "role", f.one_of(*fmt.USER_ROLES), "text", True),
                _ref("org", "orgSourcedId", True),
            ),
        ),
        Stage(
            fmt.ENROLLMENTS,
            (
                _ref("class_ref", "classSourcedId", True),
                _ref("school", "schoolSourcedId", True),
                _ref("user_ref", "userSourcedId", True),
                Column("source_role", "role", f.one_of(*fmt.ENROLLMENT_ROLES), "text", True),
                Column("begin_date", "beginDate", f.day, "date"),
                Column("end_date", "endDate", f.day, "date"),
            ),
        ),
        # The gradebook (gradebook.py): categories are a class's by the line items using them.
        Stage(
            fmt.CATEGORIES,
            (
                Column("title", "title", f.text, "text", True),
                Column("weight", "weight", f.number, "numeric"),
            ),
        ),
        Stage(
            fmt.LINE_ITEMS,
            (
                Column("title", "title", f.text, "text", True),
                Column("description", "description", f.prose, "text"),
                Column("assign_date", "assignDate", f.day, "date", True),
                Column("due_date", "dueDate", f.day, "date", True),
                _ref("class_ref", "classSourcedId", True),
                _ref("category_ref", "categorySourcedId", True),
                _ref("period_ref", "gradingPeriodSourcedId"),
                Column("result_max", "resultValueMax", f.number, "numeric"),
            ),
        ),
        Stage(
            fmt.RESULTS,
            (
                _ref("line_item_ref", "lineItemSourcedId", True),
                _ref("student_ref", "studentSourcedId", True),
                Column("score_status", "scoreStatus", f.one_of(*fmt.SCORE_STATUSES), "text", True),
                Column("score", "score", f.number, "numeric"),
                Column("score_date", "scoreDate", f.day, "date", True),
                Column("comment", "comment", f.prose, "text"),
            ),
        ),
    )
}
