"""A week of sessions, Monday to Sunday in the organization's time zone: which week a page
shows, its window in absolute time (for the services' ``since``/``until``), and its days."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schoolbase.meetings.schemas import SessionOut


@dataclass
class Day:
    date: date
    today: bool
    sessions: list[Any] = field(default_factory=list)


@dataclass
class Week:
    monday: date
    time_zone: str
    days: list[Day]

    @property
    def since(self) -> datetime:
        return _midnight(self.monday, self.time_zone)

    @property
    def until(self) -> datetime:
        return _midnight(self.monday + timedelta(days=7), self.time_zone)

    @property
    def previous(self) -> str:
        return (self.monday - timedelta(days=7)).isoformat()

    @property
    def next(self) -> str:
        return (self.monday + timedelta(days=7)).isoformat()

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def place(self, sessions: Iterable[SessionOut], shape=lambda s: s) -> "Week":
        """Each session on the day it starts (in the organization's time zone), in schedule order."""
        zone = ZoneInfo(self.time_zone)
        by_date = {day.date: day for day in self.days}
        for session in sorted(sessions, key=lambda s: (s.starts_at, s.id)):
            day = by_date.get(session.starts_at.astimezone(zone).date())
            if day is not None:
                day.sessions.append(shape(session))
        return self

    @property
    def empty(self) -> bool:
        return not any(day.sessions for day in self.days)


def _midnight(day: date, time_zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone))


def week_of(asked: str | None, time_zone: str, now: datetime | None = None) -> Week:
    """The week holding ``asked`` (an ISO date, else today in ``time_zone``)."""
    today = (now or datetime.now(ZoneInfo(time_zone))).astimezone(ZoneInfo(time_zone)).date()
    try:
        wanted = date.fromisoformat(asked) if asked else today
    except ValueError:
        wanted = today
    if not 1 < wanted.year < 9999:  # the week and its neighbours must be dates too
        wanted = today
    monday = wanted - timedelta(days=wanted.weekday())
    days = [Day(monday + timedelta(days=n), monday + timedelta(days=n) == today) for n in range(7)]
    return Week(monday, time_zone, days)
