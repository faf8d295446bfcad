"""``smtp_url`` and the connection it describes: ports, STARTTLS, implicit TLS, login,
and the message's shape. TLS runs against aiosmtpd with a throwaway certificate made by
the ``openssl`` command (skipped where there is none)."""

import shutil
import ssl
import subprocess
import uuid

import pytest
from pydantic import SecretStr

from schoolbase.mail import jobs, sender
from schoolbase.mail.sender import (
    Outgoing,
    PermanentFailure,
    SmtpTarget,
    parse_smtp_url,
)
from tests.mail.conftest import invite, make_org, outbox_rows, running_smtp, runtime

# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpTarget("mail.example.org", 25)),
        ("smtp://mail.example.org:2525", SmtpTarget("mail.example.org", 2525)),
        ("smtp://u:p@mail.example.org?starttls=true", SmtpTarget("mail.example.org", 587, "u", "p", start_tls=True)),
        ("smtp://mail.example.org:25?starttls=false", SmtpTarget("mail.example.org", 25, start_tls=False)),
        ("smtps://mail.example.org", SmtpTarget("mail.example.org", 465, use_tls=True, start_tls=False)),
        (
            "smtps://apikey:p%40ss%3Aw0rd@smtp.example.com:2465",
            SmtpTarget("smtp.example.com", 2465, "apikey", "p@ss:w0rd", use_tls=True, start_tls=False),
        ),
        ("smtp://user%40example.org:@[::1]:1025", SmtpTarget("::1", 1025, "user@example.org", "")),
        ("smtp://mail.example.org?starttls=1", SmtpTarget("mail.example.org", 587, start_tls=True)),
    ],
)
def test_smtp_url_parsing(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://mail.example.org", "smtp:// or smtps://"),
        ("mail.example.org:25", "smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://mail.example.org:99999", "out of range"),
        ("smtps://mail.example.org?starttls=true", "already TLS"),
        ("smtp://mail.example.org?starttls=maybe", "true or false"),
        ("smtp://mail.example.org?tls=true", "unknown option 'tls'"),
    ],
)
def test_bad_smtp_urls_are_refused(url, error):
    with pytest.raises(ValueError, match=error):
        parse_smtp_url(url)


def test_without_smtp_url_mail_is_delivered_offline(settings):
    assert isinstance(sender.sender_for(settings.model_copy(update={"smtp_url": None})), sender.OfflineSender)
    assert isinstance(sender.sender_for(settings.model_copy(update={"smtp_url": SecretStr("")})), sender.OfflineSender)
    assert isinstance(
        sender.sender_for(settings.model_copy(update={"smtp_url": SecretStr("smtp://h")})), sender.SmtpSender
    )


# ---------------------------------------------------------------- the message


def outgoing(to: str = "pat@example.org") -> Outgoing:
    return Outgoing(uuid.uuid4(), to, "Hello", "plain text\n", "<p>html</p>\n")


def test_the_message_is_multipart_alternative_with_a_stable_id(settings):
    message = outgoing()
    email = sender.build_email(settings, message)
    assert email.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in email.iter_parts()] == ["text/plain", "text/html"]
    assert email["Message-ID"] == f"<{message.id}@schoolbase.invalid>"
    assert sender.build_email(settings, message)["Message-ID"] == email["Message-ID"]  # the same on a retry


@pytest.mark.parametrize("address", ["no-at-sign", "a@b\nBcc: c@d", "<>"])
def test_an_undeliverable_address_is_a_permanent_failure(settings, address):
    with pytest.raises(PermanentFailure):
        sender.build_email(settings, outgoing(address))


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(cert, key) for 127.0.0.1, self-signed."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def trusting(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def deliver_one(mail_db, settings, url: str, *, tls_context=None) -> tuple[dict, str]:
    org_id = await make_org(mail_db)
    invitation_id, address = await invite(mail_db, org_id)
    tls_settings = settings.model_copy(update={"smtp_url": SecretStr(url)})
    await jobs.drain(runtime(mail_db, tls_settings, tls_context=tls_context))
    [row] = await outbox_rows(mail_db, reference_id=invitation_id)
    return row, address


async def test_starttls_with_login(mail_db, mail_settings, certificate):
    with running_smtp(tls_context=server_context(certificate), require_starttls=True, login=True) as (inbox, port):
        url = f"smtp://teacher%40example.org:s3cret%20pw@127.0.0.1:{port}?starttls=true"
        row, address = await deliver_one(mail_db, mail_settings, url, tls_context=trusting(certificate))
    assert row["state"] == "sent", row["last_error"]
    assert inbox.logins == [(b"teacher@example.org", b"s3cret pw")]
    assert len(inbox.to(address)) == 1


async def test_starttls_is_used_when_offered_unless_turned_off(mail_db, mail_settings, certificate):
    with running_smtp(tls_context=server_context(certificate), require_starttls=True) as (inbox, port):
        url = f"smtp://127.0.0.1:{port}"
        offered, address = await deliver_one(mail_db, mail_settings, url, tls_context=trusting(certificate))
        refused, _ = await deliver_one(mail_db, mail_settings, url + "?starttls=false")
    assert offered["state"] == "sent", offered["last_error"]
    assert len(inbox.to(address)) == 1
    # Without STARTTLS this server refuses to go on: a failure to retry, not a crash.
    assert (refused["state"], refused["attempts"]) == ("pending", 1)
    assert "530" in refused["last_error"]


async def test_implicit_tls(mail_db, mail_settings, certificate):
    with running_smtp(ssl_context=server_context(certificate)) as (inbox, port):
        url = f"smtps://127.0.0.1:{port}"
        row, address = await deliver_one(mail_db, mail_settings, url, tls_context=trusting(certificate))
        untrusted, _ = await deliver_one(mail_db, mail_settings, url)  # the system's CAs do not know it
    assert row["state"] == "sent", row["last_error"]
    assert len(inbox.to(address)) == 1
    assert untrusted["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in untrusted["last_error"]


async def test_a_wrong_password_is_retried(mail_db, mail_settings, certificate):
    with running_smtp(tls_context=server_context(certificate), require_starttls=True, login=True) as (_, port):
        url = f"smtp://teacher:wrong@127.0.0.1:{port}?starttls=true"
        row, _ = await deliver_one(mail_db, mail_settings, url, tls_context=trusting(certificate))
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("could not connect to the mail server") and "535" in row["last_error"]
