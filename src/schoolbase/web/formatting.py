"""How pages write points, percentages and times: one way everywhere, times in the
organization's time zone."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

NOTHING = "—"


def points(value: Decimal | int | None) -> str:
    """Up to two decimals, no trailing zeros: 8, 8.5, 8.25."""
    if value is None:
        return NOTHING
    text = f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal | float | None) -> str:
    """One decimal and a percent sign: 87.5%."""
    if value is None:
        return NOTHING
    return f"{Decimal(str(value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def local(value: datetime, time_zone: str) -> datetime:
    return value.astimezone(ZoneInfo(time_zone))


def when(value: datetime | None, time_zone: str) -> str:
    """Mon 30 Nov 2026, 15:05 in the organization's time zone."""
    if value is None:
        return NOTHING
    moment = local(value, time_zone)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"


def day(value: datetime | None, time_zone: str) -> str:
    if value is None:
        return NOTHING
    moment = local(value, time_zone)
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def field_value(value: datetime | None, time_zone: str) -> str:
    """The value of an ``<input type="datetime-local">``, in the organization's time zone."""
    return "" if value is None else f"{local(value, time_zone):%Y-%m-%dT%H:%M}"


def parse_local(text: str | None, time_zone: str) -> datetime | None:
    """A ``datetime-local`` field's value, read in the organization's time zone."""
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(time_zone))
