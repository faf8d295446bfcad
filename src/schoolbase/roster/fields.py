"""Reading one OneRoster field: each parser turns the text of a cell into a value or says,
for people, why it cannot."""

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from schoolbase.roster.formats import BOOLEANS

Parser = Callable[[str], Any]
MAX_TEXT = 1000
MAX_PROSE = 20000
# Not a full address grammar: enough to tell an address from a name or a typo.
EMAIL = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class FieldError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text(value: str) -> str | None:
    value = value.strip()
    if "\x00" in value:
        raise FieldError("invalid-value", "contains a NUL character")
    if len(value) > MAX_TEXT:
        raise FieldError("invalid-value", f"is longer than {MAX_TEXT} characters")
    return value or None


def prose(value: str) -> str | None:
    """Longer text: a line item's description, a result's comment."""
    if "\x00" in value:
        raise FieldError("invalid-value", "contains a NUL character")
    if len(value) > MAX_PROSE:
        raise FieldError("invalid-value", f"is longer than {MAX_PROSE} characters")
    return value.strip() or None


def one_of(*allowed: str, mapping: dict[str, Any] | None = None) -> Parser:
    """One of ``allowed``, matched without regard to case (some systems write "Teacher")."""
    canonical = {value.lower(): value for value in allowed}

    def parse(value: str) -> Any:
        value = value.strip()
        if not value:
            return None
        if value.lower() not in canonical:
            listed = ", ".join(allowed)
            raise FieldError("unknown-enum", f"{value!r} is not one of {listed}")
        value = canonical[value.lower()]
        return mapping[value] if mapping else value

    return parse


def day(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        # OneRoster dates are YYYY-MM-DD; some systems send a full timestamp for them.
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date.fromisoformat(value)
    except ValueError:
        raise FieldError("bad-date", f"{value!r} is not a date (YYYY-MM-DD)") from None


def moment(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError("bad-date", f"{value!r} is not a date and time (ISO 8601)") from None
    return parsed


def boolean(value: str) -> bool | None:
    value = value.strip().lower()
    if not value:
        return None
    if value not in BOOLEANS:
        raise FieldError("unknown-enum", f"{value!r} is not true or false")
    return BOOLEANS[value]


def number(value: str) -> Decimal | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise FieldError("invalid-value", f"{value!r} is not a number") from None
    if not parsed.is_finite() or abs(parsed) >= Decimal("1e6"):
        raise FieldError("invalid-value", f"{value!r} is not a number Schoolbase can keep")
    return parsed


def year(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not 1900 <= int(value) <= 2999:
        raise FieldError("invalid-value", f"{value!r} is not a year")
    return int(value)


def listing(value: str) -> list[str]:
    """A comma-separated list (sourcedIds, grades, subjects), without blanks or repeats."""
    items = [text(item) for item in value.split(",")]
    return list(dict.fromkeys(item for item in items if item))


def email(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL.match(value):
        raise FieldError("bad-email", f"{value!r} is not an email address")
    return value.lower()


def username_base(given: str | None, family: str | None) -> str | None:
    """given.family in lowercase ASCII (accents folded: Chloé → chloe), for people without a username."""
    folded = unicodedata.normalize("NFKD", f"{given or ''}.{family or ''}").encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9.]+", "", folded.lower()).strip(".")
    return name or None


def nothing(_: str) -> None:
    """A column computed from others (see ``load._row_rules``), not read from the file."""
    return None
