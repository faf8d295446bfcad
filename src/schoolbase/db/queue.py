"""The job queue's way in: Procrastinate's own connection pool, which logs in as
``service_authenticator`` and starts as ``service_role`` with ``search_path=procrastinate``
(libpq options), the same way as the gateway's pool."""

import procrastinate
from sqlalchemy.engine import make_url

from schoolbase.db.rls import SERVICE_ROLE

SCHEMA = "procrastinate"


def conninfo(url: str) -> str:
    """A libpq URI for psycopg from the server's (SQLAlchemy-style) URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def queue_connector(service_url: str, *, max_size: int) -> procrastinate.PsycopgConnector:
    return procrastinate.PsycopgConnector(
        conninfo=conninfo(service_url),
        min_size=1,
        max_size=max_size,
        kwargs={"options": f"-c role={SERVICE_ROLE} -c search_path={SCHEMA}"},
    )
