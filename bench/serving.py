"""What the load benchmarks share: the local AI upstream and a Schoolbase server as child
processes, each logging to a file that is shown if it dies."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from schoolbase.ai.providers.local_upstream import free_port

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


class Processes:
    """The servers under test, each logging to a file shown if it dies; all stopped on leaving."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.running.append((proc, log))
        return proc

    def wait_until_up(self, url: str, proc: subprocess.Popen, limit: float = 120) -> None:
        log = next(log for p, log in self.running if p is proc)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{url} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit(f"{url} did not come up in {limit:.0f} s:\n{log.read_text()[-3000:]}")

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, kind, *exc) -> None:
        for proc, log in reversed(self.running):
            proc.terminate()
            if kind is not None:
                print(f"--- end of {log.name}:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        for proc, _ in reversed(self.running):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_upstream_and_server(
    processes: Processes, owner_url: str, *, workers: int, pool_size: int, **settings: str
) -> tuple[str, str]:
    """The local Messages API server and ``schoolbase serve --workers N`` on ``owner_url``, each
    database pool of each process at most ``pool_size`` connections; returns both base URLs
    once they answer. ``settings`` are more ``SCHOOLBASE_`` variables."""
    up_port, app_port = free_port(), free_port()
    upstream, server = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{app_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLBASE_")}
    env.update(
        SCHOOLBASE_DATABASE_URL=owner_url,
        SCHOOLBASE_JWT_SECRET=SECRET,
        SCHOOLBASE_AI_PROVIDER="anthropic",
        SCHOOLBASE_ANTHROPIC_API_KEY="bench",
        SCHOOLBASE_ANTHROPIC_BASE_URL=upstream,
        SCHOOLBASE_AI_MAX_RETRIES="0",
        SCHOOLBASE_LOG_LEVEL="WARNING",
        SCHOOLBASE_POOL_SIZE=str(pool_size),
        SCHOOLBASE_POOL_MAX_OVERFLOW="0",
        **{f"SCHOOLBASE_{name.upper()}": value for name, value in settings.items()},
    )
    up = processes.start(
        "upstream", [sys.executable, "-m", "schoolbase.ai.providers.local_upstream", "--port", str(up_port)], env
    )
    serve = [sys.executable, "-c", "from schoolbase.cli import app; app()", "serve", "--port", str(app_port)]
    app = processes.start("schoolbase", [*serve, "--workers", str(workers)], env)
    processes.wait_until_up(f"{upstream}/", up)
    processes.wait_until_up(f"{server}/healthz", app)
    return upstream, server
