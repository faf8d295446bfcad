"""The OneRoster 1.1 and 1.2 CSV files this importer reads: columns, required fields, value
sets, and how OneRoster roles become Schoolbase roles.

Files are read by header name, so column order does not matter; ``metadata.*`` columns are
extensions the specification allows and are ignored. Files Schoolbase has no use for
(demographics, resources, user profiles, ...) are skipped, and the report says so.
"""

from dataclasses import dataclass

from schoolbase.models import MembershipRole

VERSIONS = ("1.1", "1.2")
STATUSES = ("active", "tobedeleted")


@dataclass(frozen=True)
class FileFormat:
    """One CSV file: the entity its rows become and the columns it must and may have."""

    stem: str
    entity: str
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return ("sourcedId", "status", "dateLastModified", *self.required, *self.optional)


ORGS = FileFormat("orgs", "org", ("name", "type"), ("identifier", "parentSourcedId", "metadata.classification"))
ACADEMIC_SESSIONS = FileFormat(
    "academicSessions", "academicSession", ("title", "type", "startDate", "endDate"), ("parentSourcedId", "schoolYear")
)
COURSES = FileFormat(
    "courses",
    "course",
    ("title",),
    ("schoolYearSourcedId", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"),
)
CLASSES = FileFormat(
    "classes",
    "class",
    ("title", "courseSourcedId", "schoolSourcedId", "termSourcedIds"),
    ("grades", "classCode", "classType", "location", "subjects", "subjectCodes", "periods"),
)
USERS = FileFormat(
    "users",
    "user",
    ("enabledUser", "givenName", "familyName"),
    (
        "orgSourcedIds",
        "role",
        "username",
        "userIds",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "userMasterIdentifier",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
        "resourceSourcedIds",
    ),
)
# 1.2 moves a user's roles out of users.csv into roles.csv, one row per role and org.
ROLES = FileFormat(
    "roles",
    "role",
    ("userSourcedId", "roleType", "role", "orgSourcedId"),
    ("beginDate", "endDate", "userProfileSourcedId"),
)
ENROLLMENTS = FileFormat(
    "enrollments",
    "enrollment",
    ("classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    ("primary", "beginDate", "endDate"),
)
CATEGORIES = FileFormat("categories", "category", ("title",), ("weight",))
LINE_ITEMS = FileFormat(
    "lineItems",
    "lineItem",
    ("title", "assignDate", "dueDate", "classSourcedId", "categorySourcedId", "gradingPeriodSourcedId"),
    (
        "description",
        "resultValueMin",
        "resultValueMax",
        "academicSessionSourcedId",
        "schoolSourcedId",
        "scoreScaleSourcedId",
    ),
)
RESULTS = FileFormat(
    "results",
    "result",
    ("lineItemSourcedId", "studentSourcedId", "scoreStatus", "scoreDate"),
    ("score", "textScore", "comment", "scoreScaleSourcedId", "inProgress", "incomplete", "late", "missing"),
)

# In the order they are validated and applied: each refers only to files before it.
ROSTER_FILES = (ORGS, ACADEMIC_SESSIONS, COURSES, CLASSES, USERS, ROLES, ENROLLMENTS)
GRADEBOOK_FILES = (CATEGORIES, LINE_ITEMS, RESULTS)
FILES = {spec.stem: spec for spec in (*ROSTER_FILES, *GRADEBOOK_FILES)}

# Files the manifest may list that Schoolbase does not keep.
SKIPPED = {
    "demographics": "demographics are not kept by Schoolbase; the file was skipped",
    "resources": "resources are managed in the resource portal; the file was skipped",
    "classResources": "resources are managed in the resource portal; the file was skipped",
    "courseResources": "resources are managed in the resource portal; the file was skipped",
    "userProfiles": "user profiles (credentials for other systems) are not kept; the file was skipped",
    "scoreScales": "score scales are not kept (results keep their scores); the file was skipped",
    "lineItemLearningObjectiveIds": "learning objectives are not kept; the file was skipped",
    "resultLearningObjectiveIds": "learning objectives are not kept; the file was skipped",
    "lineItemScoreScales": "score scales are not kept; the file was skipped",
    "resultScoreScales": "score scales are not kept; the file was skipped",
}

ORG_TYPES = ("department", "school", "district", "local", "state", "national")
SESSION_TYPES = {
    "schoolYear": "school_year",
    "semester": "semester",
    "term": "term",
    "gradingPeriod": "grading_period",
}
CLASS_TYPES = ("homeroom", "scheduled")
SCORE_STATUSES = ("exempt", "fully graded", "not submitted", "partially graded", "submitted")

# A user's OneRoster role → the membership it gives. Roles with no counterpart (proctor,
# counselor) import the person without that role, with a warning.
USER_ROLES: dict[str, MembershipRole | None] = {
    "student": MembershipRole.student,
    "teacher": MembershipRole.teacher,
    "aide": MembershipRole.teacher,
    "parent": MembershipRole.parent,
    "guardian": MembershipRole.parent,
    "relative": MembershipRole.parent,
    "administrator": MembershipRole.org_admin,
    "districtAdministrator": MembershipRole.org_admin,
    "siteAdministrator": MembershipRole.org_admin,
    "systemAdministrator": MembershipRole.org_admin,
    "principal": MembershipRole.org_admin,
    "proctor": None,
    "counselor": None,
}
# An enrollment's role → the class role. Administrators and proctors are not class members here.
ENROLLMENT_ROLES: dict[str, MembershipRole | None] = {
    "student": MembershipRole.student,
    "teacher": MembershipRole.teacher,
    "aide": MembershipRole.teacher,
    "administrator": None,
    "proctor": None,
}
ROLE_TYPES = ("primary", "secondary")
BOOLEANS = {"true": True, "false": False}

# The export writes OneRoster 1.1 with each file's columns in the order of the 1.1 CSV tables
# (IMS OneRoster v1.1 CSV Tables, section 3): other systems read them by position as often
# as by header.
# OneRoster 1.1, each file's columns in the specification's order.
EXPORT_1_1: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ),
    "courses": (
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ),
    "classes": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ),
    "users": (
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "orgSourcedIds",
        "role",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
    ),
    "enrollments": (
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
    "categories": ("sourcedId", "status", "dateLastModified", "title"),
    "lineItems": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "description",
        "assignDate",
        "dueDate",
        "classSourcedId",
        "categorySourcedId",
        "gradingPeriodSourcedId",
        "resultValueMin",
        "resultValueMax",
    ),
    "results": (
        "sourcedId",
        "status",
        "dateLastModified",
        "lineItemSourcedId",
        "studentSourcedId",
        "scoreStatus",
        "score",
        "scoreDate",
        "comment",
    ),
}
# Every data file a 1.1 manifest names, in the specification's order.
MANIFEST_FILES_1_1 = (
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
)
