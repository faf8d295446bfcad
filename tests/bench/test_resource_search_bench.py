"""The resource search benchmark at a tiny size, so it cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_benchmark_runs_at_a_tiny_size(server_url):
    done = subprocess.run(
        [sys.executable, "bench/resource_search.py", "--resources", "2000", "--repeat", "12"],
        cwd=ROOT, env={**os.environ, "SCHOOLBASE_DATABASE_URL": server_url}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "generated 2000 resources" in done.stdout
    assert "ratio RLS/service p50" in done.stdout and "'algebra fractions'" in done.stdout
