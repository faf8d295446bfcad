"""Avatar URLs are http(s) only, in the database as well as in the API.

An avatar is shown in other people's pages, where a ``javascript:`` or ``data:`` URL
would run in the reader's browser; the API refuses such values, and this check refuses
them from every other writer (the CLI, jobs, imports, a hand-written statement).

Avatars that are not http(s) are removed before the check is added, because the check
cannot be added over them and an avatar is optional: the person sets a new one. The
downgrade drops the check but cannot bring those values back.

Resources' ``url`` needs nothing here: the resource portal's revision created it with
``check (url ~ '^https?://' and length(url) <= 2000)`` (``resources_url_check``), so no
stored row can break the rule, and a resource's content rule (url, body or file) is
untouched.

Revision ID: 20261129_190000
Revises: 20261129_170000
Create Date: 2026-11-29 19:00:00
"""

from schoolbase.migrations.helpers import sql_step

revision = "20261129_190000"
down_revision = "20261129_170000"
branch_labels = None
depends_on = None

UPGRADE = """
update public.users set avatar_url = null where avatar_url !~* '^https?://';
alter table public.users add constraint users_avatar_url_http check (avatar_url ~* '^https?://');
"""

DOWNGRADE = """
alter table public.users drop constraint users_avatar_url_http;
"""


upgrade = sql_step(UPGRADE)
downgrade = sql_step(DOWNGRADE)
