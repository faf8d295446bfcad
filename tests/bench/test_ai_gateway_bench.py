"""The AI gateway benchmark at a tiny duration, so that it cannot rot. Without --vs-litellm: that
part installs LiteLLM from PyPI into a cache of its own, which is no business of the suite."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(not Path("/usr/bin/wrk").exists(), reason="wrk is missing: the benchmark's load is /usr/bin/wrk")
def test_the_benchmark_runs_at_a_tiny_duration(server_url):
    done = subprocess.run(
        [sys.executable, "bench/ai_gateway.py", "--duration", "1", "--warmup", "1", "--connections", "4"],
        cwd=ROOT, env={**os.environ, "SCHOOLBASE_DATABASE_URL": server_url}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio Schoolbase/direct" in done.stdout
    rows = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert {"direct", "schoolbase"} <= rows and "litellm" not in rows
