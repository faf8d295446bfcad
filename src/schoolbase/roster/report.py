"""What an import found and did: per file, its rows, errors and warnings with their lines,
and per entity what was created, updated, left unchanged or ended."""

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Self

Severity = Literal["error", "warning"]
# Issues kept per file and code; the counts stay exact beyond it.
KEPT_PER_CODE = 200
OUTCOMES = ("created", "updated", "unchanged", "ended")
# The code of the one issue a set that cannot be read at all gets (no manifest, not a zip).
UNREADABLE_SET = "unreadable-set"


@dataclass
class Issue:
    file: str
    line: int | None
    severity: Severity
    code: str
    message: str
    sourced_id: str | None = None


@dataclass
class FileReport:
    file: str
    mode: str
    rows: int = 0
    errors: int = 0
    warnings: int = 0
    note: str | None = None
    rows_with_errors: int = 0

    @property
    def valid(self) -> int:
        return self.rows - self.rows_with_errors


@dataclass
class Report:
    version: str | None = None
    source_system: str | None = None
    files: dict[str, FileReport] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    applied: bool = False
    _kept: Counter = field(default_factory=Counter, repr=False)

    @property
    def has_errors(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)

    @property
    def error_count(self) -> int:
        return sum(f.errors for f in self.files.values()) + sum(
            1 for issue in self.issues if issue.severity == "error" and issue.file not in self.files
        )

    def file(self, stem: str, mode: str) -> FileReport:
        return self.files.setdefault(stem, FileReport(file=f"{stem}.csv", mode=mode))

    def add(
        self, stem: str, line: int | None, severity: Severity, code: str, message: str, sourced_id: str | None = None
    ) -> None:
        report = self.files.get(stem)
        if report is not None:
            if severity == "error":
                report.errors += 1
            else:
                report.warnings += 1
        key = (stem, code)
        self._kept[key] += 1
        if self._kept[key] <= KEPT_PER_CODE:
            name = report.file if report else stem
            self.issues.append(Issue(name, line, severity, code, message, sourced_id))

    def count(self, entity: str, outcome: str, n: int) -> None:
        counts = self.counts.setdefault(entity, dict.fromkeys(OUTCOMES, 0))
        counts[outcome] += n

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source_system": self.source_system,
            "applied": self.applied,
            "has_errors": self.has_errors,
            "files": [{**asdict(f), "valid": f.valid} for f in self.files.values()],
            "issues": [asdict(issue) for issue in self.issues],
            "counts": self.counts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        files = {}
        for item in data.get("files", []):
            item = {key: value for key, value in item.items() if key != "valid"}
            files[item["file"].removesuffix(".csv")] = FileReport(**item)
        return cls(
            version=data.get("version"),
            source_system=data.get("source_system"),
            files=files,
            issues=[Issue(**issue) for issue in data.get("issues", [])],
            counts=data.get("counts", {}),
            applied=data.get("applied", False),
        )
