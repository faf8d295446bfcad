"""The embedded PostgreSQL path, as a user meets it: no database URL, a data directory,
and `schoolbase` commands as separate processes that share (and finally stop) one server.

Only this file starts embedded servers of its own, each in a temporary data directory."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from schoolbase.db import migrate
from schoolbase.db.embedded import _IntoServerLog, server_log
from tests.db.support import processes

HEAD = migrate.script_directory().get_current_head()
CLI = "from schoolbase.cli import app; app()"


def cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLBASE_")}
    env["SCHOOLBASE_DATA_DIR"] = str(data_dir)
    return env


def command(data_dir: Path, *args: str, script: str = CLI) -> list[str]:
    return [sys.executable, "-W", "ignore", "-c", script, *args]


def run(data_dir: Path, *args: str, script: str = CLI) -> subprocess.CompletedProcess:
    """The CLI (or ``script``) with ``args``, in a process of its own on ``data_dir``."""
    # cwd is the data dir's parent so that no project .env file is read.
    return subprocess.run(
        command(data_dir, *args, script=script),
        env=cli_env(data_dir),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def servers_for(pgdata: Path) -> list[psutil.Process]:
    """Running postgres processes whose command line names ``pgdata``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def assert_no_server_left(pgdata: Path) -> None:
    # The last process stops the server with `pg_ctl -w stop` before exiting, so this
    # should hold at once; a short grace only absorbs process-table lag.
    deadline = time.monotonic() + 3
    while servers_for(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert servers_for(pgdata) == [], f"a postgres server is still running on {pgdata}"


@pytest.fixture
def data_dir(tmp_path: Path):
    data = (tmp_path / "schoolbase-data").resolve()
    yield data
    # Never leave a server behind, even when a test failed half-way.
    for proc in servers_for(data / "pgdata"):
        proc.kill()


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout.strip()


def test_first_run_initialises_and_migrates_second_run_reuses(data_dir):
    pgdata = data_dir / "pgdata"
    assert not data_dir.exists()

    assert ok(run(data_dir, "db", "upgrade")) == f"at {HEAD}"
    assert (pgdata / "PG_VERSION").is_file()
    assert_no_server_left(pgdata)

    assert ok(run(data_dir, "db", "current")) == HEAD
    assert_no_server_left(pgdata)

    # The path a new user takes: `demo` logs in as `authenticator` over the embedded
    # server's socket and loads data into the already migrated database.
    out = ok(run(data_dir, "demo"))
    assert "ada@maple-grove.example.org" in out and "already loaded" not in out
    assert_no_server_left(pgdata)


def test_concurrent_runs_on_one_new_data_dir(data_dir):
    """Several processes start at once on a data dir that does not exist yet: one
    initialises it, all share one server and one migration, the last stops it."""
    pgdata = data_dir / "pgdata"
    upgrade = command(data_dir, "db", "upgrade")
    with processes(upgrade, 3, env=cli_env(data_dir), cwd=data_dir.parent) as procs:
        outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, errors) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{errors}"
        assert out.strip() == f"at {HEAD}"
    assert_no_server_left(pgdata)

    # The data dir is still a valid, migrated cluster.
    assert ok(run(data_dir, "db", "current")) == HEAD
    assert_no_server_left(pgdata)


def test_a_second_process_attaches_to_the_running_server_and_the_last_one_stops_it(data_dir):
    pgdata = data_dir / "pgdata"
    assert ok(run(data_dir, "db", "upgrade")) == f"at {HEAD}"

    # A long-lived process (standing in for `serve`) holds the server until told to exit.
    holder_script = (
        "import sys; from pathlib import Path; from schoolbase.db.embedded import start_embedded; "
        "print(start_embedded(Path(sys.argv[1])), flush=True); sys.stdin.readline()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", holder_script, str(pgdata)],
        env=cli_env(data_dir),
        cwd=data_dir.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        uri = holder.stdout.readline().strip()
        assert uri.startswith("postgresql://"), holder.stderr.read()
        server = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
        assert server in servers_for(pgdata)
        assert migrate.current_revisions(uri) == (HEAD,)

        # Another command attaches to the same server and leaves it running for the holder.
        assert ok(run(data_dir, "db", "current")) == HEAD
        assert server.is_running()
        assert migrate.current_revisions(uri) == (HEAD,)

        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdin.close()
        holder.stdout.close()
        holder.stderr.close()
    assert_no_server_left(pgdata)
    assert ok(run(data_dir, "db", "current")) == HEAD
    assert_no_server_left(pgdata)


def test_postgresqls_own_lines_go_to_the_server_log_not_the_terminal(data_dir):
    """With logging on at INFO, as `serve` has it: initdb's and pg_ctl's output (which the package
    logs) and the server's own lines go to ``<pgdata>/log``; the terminal gets none of them."""
    pgdata = data_dir / "pgdata"
    script = (
        "import logging, sys; from pathlib import Path; logging.basicConfig(level='INFO'); "
        "from schoolbase.db.embedded import start_embedded; start_embedded(Path(sys.argv[1])); "
        "logging.getLogger('schoolbase.test').info('the terminal still gets log lines')"
    )
    result = run(data_dir, str(pgdata), script=script)
    terminal = ok(result) + result.stderr
    assert "the terminal still gets log lines" in terminal
    for noise in ("initdb", "pg_ctl", "Running commandline", "PG_VERSION", "postmaster", "database system"):
        assert noise not in terminal
    assert_no_server_left(pgdata)
    log = server_log(pgdata).read_text()
    assert "Success. You can now start the database server" in log  # initdb's output
    assert "server started" in log and "server stopped" in log  # pg_ctl's, at start and at exit
    assert "database system is ready to accept connections" in log  # the server's own


def test_lines_logged_before_the_server_log_exists_wait_for_it(tmp_path):
    """pg_ctl creates the log file (as the user the server runs as), after initdb, which wants an
    empty directory: earlier lines are held, and the file is never created by anyone else."""
    handler = _IntoServerLog()
    handler.path = server_log(tmp_path / "pgdata")
    logger = logging.getLogger("tests.embedded.server_log")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("initdb: success")
        assert not handler.path.parent.exists()
        handler.path.parent.mkdir()
        handler.path.write_text("LOG:  database system is ready to accept connections\n")
        logger.info("pg_ctl: server started")
    finally:
        logger.removeHandler(handler)
    lines = handler.path.read_text().splitlines()
    assert lines[0] == "LOG:  database system is ready to accept connections"
    assert len(lines) == 3
    assert lines[1].endswith("INFO: initdb: success") and lines[2].endswith("INFO: pg_ctl: server started")
