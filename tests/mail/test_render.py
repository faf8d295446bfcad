"""Templates: what a parent reads, in text and HTML, and what must never leak into headers."""

from datetime import UTC, datetime, timedelta

import pytest

from schoolbase.mail import service

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def invitation(**overrides):
    return {
        "link": "https://school.example.test/accept-invitation?token=abc",
        "organization": "Maple Grove",
        "roles": ["parent"],
        "display_name": "Pat Parent",
        "expires_at": NOW + timedelta(days=14),
        **overrides,
    }


def test_invitation_says_who_invites_what_to_do_and_until_when():
    rendered = service.render("invitation", invitation(), time_zone="America/Chicago", now=NOW)
    assert rendered.subject == "Maple Grove invites you to Schoolbase"
    text = rendered.text
    assert text.startswith("Hello Pat Parent,\n")
    assert "Maple Grove has invited you to join Schoolbase as a parent." in text
    assert "\nhttps://school.example.test/accept-invitation?token=abc\n" in text
    assert "open until Tuesday, December 15, 2026 at 9:00 AM CST" in text
    html = rendered.html
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<title>Maple Grove invites you to Schoolbase</title>" in html
    assert '<a href="https://school.example.test/accept-invitation?token=abc">' in html
    assert "December 15, 2026 at 9:00 AM CST" in html
    assert (
        "<img" not in html
        and "<link" not in html
        and "http" not in html.replace("https://school.example.test/accept-invitation?token=abc", "")
    )


def test_password_reset_says_how_long_the_link_works():
    context = {
        "link": "https://school.example.test/reset-password?token=xyz",
        "display_name": None,
        "expires_at": NOW + timedelta(minutes=60),
    }
    rendered = service.render("password_reset", context, now=NOW)
    assert rendered.subject == "Reset your Schoolbase password"
    assert rendered.text.startswith("Hello,\n")
    assert "The link works once, for 60 minutes (until Tuesday, December 1, 2026 at 4:00 PM UTC)." in rendered.text
    assert "your password stays the same" in rendered.text
    assert '<a href="https://school.example.test/reset-password?token=xyz">' in rendered.html


def test_html_is_escaped_text_is_not_and_the_subject_stays_one_line():
    rendered = service.render(
        "invitation",
        invitation(organization="<b>Tom & Jerry's</b>\nBcc: x@evil.test", display_name="<script>alert(1)</script>"),
        now=NOW,
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert rendered.subject == "<b>Tom & Jerry's</b> Bcc: x@evil.test invites you to Schoolbase"
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;" in rendered.html
    assert "Hello <script>alert(1)</script>," in rendered.text  # plain text: shown as typed


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["parent"], "a parent"),
        (["org_admin"], "an administrator"),
        (["teacher", "parent"], "a teacher and a parent"),
        (["teacher", "student", "parent"], "a teacher, a student and a parent"),
    ],
)
def test_roles_in_words(roles, expected):
    assert service.roles_text(roles) == expected


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(minutes=60), "60 minutes"),
        (timedelta(minutes=59, seconds=50), "60 minutes"),
        (timedelta(seconds=20), "1 minute"),
        (timedelta(hours=5), "5 hours"),
        (timedelta(days=14), "14 days"),
    ],
)
def test_durations_in_words(left, expected):
    assert service.format_duration(left) == expected


def test_an_unknown_time_zone_falls_back_to_utc():
    assert service.format_moment(NOW, "Mars/Olympus_Mons") == "Tuesday, December 1, 2026 at 3:00 PM UTC"


def test_the_link_is_found_in_a_rendered_body(settings):
    rendered = service.render(
        "invitation", invitation(link=f"{settings.public_url}/accept-invitation?token=t0k"), now=NOW
    )
    assert service.link_in(rendered.text, settings) == f"{settings.public_url}/accept-invitation?token=t0k"
    assert service.link_in(None, settings) is None


def test_backoff_doubles_up_to_an_hour():
    assert [service.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    assert service.backoff(8) == timedelta(hours=1)
    assert service.backoff(50) == timedelta(hours=1)


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown message kind"):
        service.render("newsletter", invitation(), now=NOW)
