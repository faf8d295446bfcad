"""Input types shared by every schema: values the database and Python can both hold.

The database is the last line, not the first: a timestamp PostgreSQL would store but Python
could not read back, an integer past its column's type, a NUL character (PostgreSQL text and
jsonb cannot hold one) or JSON nested deeper than anyone needs is refused here, as a 422
naming the field, before it reaches a query."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field

# PostgreSQL's integer and bigint. (Decimals carry max_digits/decimal_places of their numeric
# column in each schema; text with a NUL is refused by the driver and mapped to a 422.)
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# Timestamps lie between these instants (UTC). PostgreSQL holds far more, but Python's datetime
# stops at years 1 and 9999, and a value read back is shifted into the session's time zone (up
# to ±14 hours), so a day is kept free at both ends.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)

# JSON stored as jsonb (settings documents): bounded in depth and size.
JSON_MAX_DEPTH = 32
JSON_MAX_BYTES = 64 * 1024


def check_timestamp(value: datetime) -> datetime:
    """``value`` if it lies within [EARLIEST, LATEST] (a naive value is taken as UTC)."""
    try:
        instant = value.replace(tzinfo=UTC) - (value.utcoffset() or timedelta(0))
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST <= instant <= LATEST:
        raise ValueError("the time must lie between the years 1 and 9999 (in UTC)")
    return value


def check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL (0x00) characters")
    return value


def _check_json_value(value: Any, depth: int) -> None:
    if depth > JSON_MAX_DEPTH and isinstance(value, dict | list):
        raise ValueError(f"JSON may be nested at most {JSON_MAX_DEPTH} levels deep")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("JSON numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key))
            _check_json_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item, depth + 1)


def check_json(value: Any) -> Any:
    """A JSON document without NUL characters, at most JSON_MAX_DEPTH deep and JSON_MAX_BYTES long."""
    _check_json_value(value, 1)
    if len(json.dumps(value, ensure_ascii=False).encode()) > JSON_MAX_BYTES:
        raise ValueError(f"JSON may be at most {JSON_MAX_BYTES // 1024} KiB")
    return value


# A timestamp PostgreSQL stores and Python reads back; AwareTimestamp also requires a time zone.
Timestamp = Annotated[datetime, AfterValidator(check_timestamp)]
AwareTimestamp = Annotated[AwareDatetime, AfterValidator(check_timestamp)]

# Integers by column type.
PositiveInt32 = Annotated[int, Field(gt=0, le=INT32_MAX)]
PositiveInt64 = Annotated[int, Field(gt=0, le=INT64_MAX)]

# A JSON object stored as jsonb (settings documents).
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
