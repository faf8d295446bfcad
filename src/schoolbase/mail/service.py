"""The outbox: queueing, rendering and the state of each message. Never commits.

A message is ``pending`` until it is ``sent`` or ``dead`` (no longer valid, refused, or
out of attempts). It is rendered once, at its first attempt, because rendering mints
its link's token; retries send the same text.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.auth.mail_links import message_context
from schoolbase.config import Settings
from schoolbase.models import MailMessage, Organization

KINDS = ("invitation", "password_reset")
STATES = ("pending", "sent", "dead")
ROLE_NAMES = {"org_admin": "an administrator", "teacher": "a teacher", "student": "a student", "parent": "a parent"}

# First retry after 30 seconds, then twice as long each time, never more than an hour
# apart: with the default 8 attempts a message is given up about an hour after queueing.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# How long a claimed message is left alone while it is being sent. A worker that dies
# mid-send leaves it to be sent again after this (at least once, never lost).
LEASE = timedelta(minutes=10)
ERROR_LENGTH = 2000

NO_LONGER_VALID = "no longer valid: the invitation or reset was used, revoked or has expired"
SUPERSEDED = "superseded by a newer message about the same invitation or reset"

_templates = Environment(
    loader=PackageLoader("schoolbase.mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------- rendering


def render(kind: str, context: Mapping[str, Any], *, time_zone: str = "UTC", now: datetime | None = None) -> Rendered:
    """Subject, text and HTML of a ``kind`` message from ``message_context``'s variables."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    variables = {**context, **_derived(context, time_zone, now or datetime.now(UTC))}
    # A header is one line: a name with a line break in it must not add headers.
    subject = " ".join(_templates.get_template(f"{kind}.subject.txt").render(variables).split())
    variables["subject"] = subject
    return Rendered(
        subject=subject,
        text=_templates.get_template(f"{kind}.txt").render(variables),
        html=_templates.get_template(f"{kind}.html").render(variables),
    )


def _derived(context: Mapping[str, Any], time_zone: str, now: datetime) -> dict[str, str]:
    expires_at: datetime = context["expires_at"]
    return {
        "expires_text": format_moment(expires_at, time_zone),
        "expires_in": format_duration(expires_at - now),
        "roles_text": roles_text(context.get("roles") or ()),
    }


def format_moment(moment: datetime, time_zone: str) -> str:
    """``Friday, December 11, 2026 at 5:00 PM CST`` in the organization's time zone."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    return (
        f"{local:%A, %B} {local.day}, {local.year} at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local:%Z}"
    )


def format_duration(left: timedelta) -> str:
    minutes = max(1, round(left.total_seconds() / 60))
    if minutes >= 2 * 24 * 60:
        return f"{round(minutes / (24 * 60))} days"
    if minutes >= 2 * 60:
        return f"{round(minutes / 60)} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def roles_text(roles) -> str:
    names = [ROLE_NAMES.get(str(role), str(role)) for role in roles]
    if len(names) <= 1:
        return names[0] if names else "a member"
    return f"{', '.join(names[:-1])} and {names[-1]}"


def link_in(text_body: str | None, settings: Settings) -> str | None:
    """The link a rendered message carries (the first address under ``public_url``)."""
    if not text_body:
        return None
    found = re.search(re.escape(settings.public_url.rstrip("/")) + r"/\S+", text_body)
    return found.group(0) if found else None


# ---------------------------------------------------------------- the outbox


async def queue(
    session: AsyncSession,
    *,
    kind: str,
    reference_id: uuid.UUID,
    to_address: str,
    organization_id: uuid.UUID | None = None,
) -> MailMessage:
    """Put a message in the outbox, in the caller's transaction: it is sent only if that
    transaction commits. Kick delivery (``mail.jobs.kick``) after the commit."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    return await session.scalar(
        insert(MailMessage)
        .values(kind=kind, reference_id=reference_id, to_address=to_address, organization_id=organization_id)
        .returning(MailMessage)
    )


async def pending_due(session: AsyncSession, limit: int) -> list[MailMessage]:
    """Due pending messages, oldest first, locked; rows another transaction holds are skipped."""
    rows = await session.scalars(
        select(MailMessage)
        .where(MailMessage.state == "pending", MailMessage.next_attempt_at <= func.now())
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def prepare(session: AsyncSession, settings: Settings, message: MailMessage) -> bool:
    """Make a claimed message ready to send: render it if it is not yet, and lease it.
    False when it went dead instead (what it is about closed, or a newer one replaces it)."""
    if message.subject is None:
        if await _newer_exists(session, message):
            _kill(message, SUPERSEDED)
            return False
        context = await message_context(session, settings, message)
        if context is None:
            _kill(message, NO_LONGER_VALID)
            return False
        rendered = render(message.kind, context, time_zone=await _time_zone(session, message))
        message.subject, message.text_body, message.html_body = rendered.subject, rendered.text, rendered.html
        # The new link replaces the token of older messages: they must not go out any more.
        await _supersede_older(session, message)
    message.next_attempt_at = datetime.now(UTC) + LEASE
    await session.flush()
    return True


def _kill(message: MailMessage, reason: str) -> None:
    message.state = "dead"
    message.last_error = reason


def _same_subject(message: MailMessage):
    return (
        MailMessage.kind == message.kind,
        MailMessage.reference_id == message.reference_id,
        MailMessage.id != message.id,
    )


async def _newer_exists(session: AsyncSession, message: MailMessage) -> bool:
    newer = (
        select(MailMessage.id)
        .where(*_same_subject(message), MailMessage.state != "dead")
        .where(tuple_(MailMessage.created_at, MailMessage.id) > tuple_(message.created_at, message.id))
    )
    return bool(await session.scalar(select(newer.exists())))


async def _supersede_older(session: AsyncSession, message: MailMessage) -> None:
    await session.execute(
        update(MailMessage)
        .where(*_same_subject(message), MailMessage.state == "pending")
        .where(tuple_(MailMessage.created_at, MailMessage.id) < tuple_(message.created_at, message.id))
        .values(state="dead", last_error=SUPERSEDED)
    )


async def _time_zone(session: AsyncSession, message: MailMessage) -> str:
    if message.organization_id is None:
        return "UTC"
    return (
        await session.scalar(select(Organization.time_zone).where(Organization.id == message.organization_id)) or "UTC"
    )


async def mark_sent(session: AsyncSession, message_id: uuid.UUID) -> None:
    await session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id, MailMessage.state == "pending")
        .values(state="sent", sent_at=func.now(), attempts=MailMessage.attempts + 1)
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts - 1, 30))


async def mark_failed(
    session: AsyncSession, message_id: uuid.UUID, error: str, *, max_attempts: int, permanent: bool = False
) -> MailMessage | None:
    """Count a failed attempt: try again later, or give up (``dead``) after ``max_attempts``
    or at once when retrying cannot help (``permanent``)."""
    message = await session.get(MailMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.state != "pending":
        return message
    message.attempts += 1
    message.last_error = error[:ERROR_LENGTH]
    if permanent or message.attempts >= max_attempts:
        message.state = "dead"
    else:
        message.next_attempt_at = datetime.now(UTC) + backoff(message.attempts)
    await session.flush()
    return message


async def next_attempt_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message is due (perhaps already)."""
    return await session.scalar(select(func.min(MailMessage.next_attempt_at)).where(MailMessage.state == "pending"))


async def list_messages(session: AsyncSession, *, state: str | None = None, limit: int = 20) -> list[MailMessage]:
    """The newest messages first, optionally in one state."""
    query = select(MailMessage).order_by(MailMessage.created_at.desc(), MailMessage.id.desc()).limit(limit)
    if state is not None:
        query = query.where(MailMessage.state == state)
    return list(await session.scalars(query))
