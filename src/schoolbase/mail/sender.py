"""Delivery of rendered messages: over SMTP (``smtp_url``), or, without it, as one log
line per message so a demo works offline (the outbox keeps the text for the CLI).

``smtp_url``: ``smtp://user:password@host:port``. ``smtp://`` upgrades with STARTTLS when
the server offers it (``?starttls=true`` requires it, ``?starttls=false`` never tries);
``smtps://`` is TLS from the first byte. Default ports: 465 for ``smtps``, 587 with
``starttls=true``, else 25. Certificates are verified against the system's CAs (or
``SSL_CERT_FILE``).
"""

import ssl
import uuid
from dataclasses import dataclass, field
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import structlog

from schoolbase.config import Settings
from schoolbase.mail.service import link_in
from schoolbase.models import MailMessage

log = structlog.get_logger("schoolbase.mail")

TIMEOUT_SECONDS = 30.0
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Outgoing:
    """A rendered message, copied out of its transaction."""

    id: uuid.UUID
    to_address: str
    subject: str
    text_body: str
    html_body: str

    @classmethod
    def of(cls, message: MailMessage) -> "Outgoing":
        return cls(message.id, message.to_address, message.subject, message.text_body, message.html_body)


class PermanentFailure(Exception):
    """Sending this message again cannot work (e.g. the server refused the address)."""


class Unreachable(Exception):
    """No connection to the mail server (refused, timed out, TLS or login failed)."""


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info) -> None: ...


# ---------------------------------------------------------------- smtp_url


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # kept out of logs and tracebacks
    use_tls: bool = False
    # None: STARTTLS when the server offers it; True: required; False: never.
    start_tls: bool | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=true|false]``; ValueError if malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("smtp_url must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("smtp_url has no host")
    use_tls = parts.scheme == "smtps"
    start_tls = _start_tls(parse_qs(parts.query))
    if use_tls and start_tls:
        raise ValueError("smtps:// is already TLS; starttls=true is for smtp://")
    port = parts.port or (465 if use_tls else 587 if start_tls else 25)  # ValueError on a bad port
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=False if use_tls else start_tls,
    )


def _start_tls(query: dict[str, list[str]]) -> bool | None:
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"smtp_url: unknown option {min(unknown)!r} (only starttls)")
    if "starttls" not in query:
        return None
    value = query["starttls"][-1].lower()
    if value not in TRUE + FALSE:
        raise ValueError("smtp_url: starttls must be true or false")
    return value in TRUE


# ---------------------------------------------------------------- the message


def build_email(settings: Settings, outgoing: Outgoing) -> EmailMessage:
    """multipart/alternative, text first (the part to fall back on), then HTML."""
    email = EmailMessage()
    try:
        email["From"] = settings.mail_from
        email["To"] = Address(addr_spec=outgoing.to_address)
    except (ValueError, IndexError, MessageError) as exc:  # what email's parser raises for a malformed address
        raise PermanentFailure(f"not a deliverable address: {exc}") from exc
    email["Subject"] = outgoing.subject
    email["Date"] = formatdate(usegmt=True)
    # The same id on every attempt: a mail client shows a message sent twice once.
    email["Message-ID"] = f"<{outgoing.id}@{_domain(settings.mail_from)}>"
    # RFC 3834: no vacation auto-replies to these.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(outgoing.text_body)
    email.add_alternative(outgoing.html_body, subtype="html")
    return email


def _domain(mail_from: str) -> str:
    _, address = parseaddr(mail_from)
    return address.rpartition("@")[2] or "schoolbase.invalid"


# ---------------------------------------------------------------- senders


class SmtpSender:
    """One SMTP connection for a whole drain, opened at the first message. When the
    server cannot be reached, the other messages of the drain fail with the same error
    at once instead of waiting for a timeout each."""

    def __init__(self, settings: Settings, target: SmtpTarget, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.target = target
        self.tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None
        self._unreachable: str | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._close()

    async def send(self, outgoing: Outgoing) -> None:
        email = build_email(self.settings, outgoing)
        client = await self._connected()
        try:
            await client.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._close()
            if all(r.code >= 500 for r in exc.recipients):
                raise PermanentFailure(f"the mail server refused the address: {_reasons(exc.recipients)}") from exc
            raise
        except aiosmtplib.SMTPDataError as exc:
            await self._close()
            if exc.code >= 500:
                raise PermanentFailure(f"the mail server refused the message: {exc.code} {exc.message}") from exc
            raise
        except Exception:
            # A half-finished SMTP transaction: start the next message on a fresh connection.
            await self._close()
            raise

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._unreachable is not None:
            raise Unreachable(self._unreachable)
        if self._client is not None and self._client.is_connected:
            return self._client
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=TIMEOUT_SECONDS,
            tls_context=self.tls_context,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            client.close()
            self._unreachable = f"could not connect to the mail server {target.host}:{target.port}: {exc}"
            raise Unreachable(self._unreachable) from exc
        self._client = client
        return client

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def _reasons(refused) -> str:
    return "; ".join(f"{r.code} {r.message}" for r in refused)


class OfflineSender:
    """No SMTP server configured: "deliver" by logging the recipient, subject and link."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def send(self, outgoing: Outgoing) -> None:
        log.info(
            "mail.offline_delivery",
            note="no SMTP server configured (SCHOOLBASE_SMTP_URL): logged, not sent",
            message_id=str(outgoing.id),
            to=outgoing.to_address,
            subject=outgoing.subject,
            link=link_in(outgoing.text_body, self.settings),
        )


def sender_for(settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> Sender:
    if settings.smtp_url is None or not settings.smtp_url.get_secret_value():
        return OfflineSender(settings)
    return SmtpSender(settings, parse_smtp_url(settings.smtp_url.get_secret_value()), tls_context=tls_context)
