"""The district's-morning benchmark at a tiny size for a few seconds, so it cannot rot: every
operation answers as expected at both sizes and the ratios are printed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_the_morning_runs_at_a_tiny_size(server_url):
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (Debian: apt-get install wrk)")
    done = subprocess.run(
        [sys.executable, "bench/school_morning.py", "--sizes", "200,400", "--duration", "2", "--warmup", "0",
         "--sample", "40", "--ai-users", "5", "--ai-per-minute", "2"],
        cwd=ROOT, env={**os.environ, "SCHOOLBASE_DATABASE_URL": server_url}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ratio 400/200 students" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(("student:", "teacher:", "parent:", "AI:"))]
    assert len(rows) == 3 * 8, done.stdout  # a row per operation for each size and in the ratios
    for row in rows[:16]:
        requests, unexpected = row[30:].split()[0], row[30:].split()[4]
        assert int(requests.replace(",", "")) > 0 and unexpected == "0", row
    assert "429:" in done.stdout, "the AI limit of 2 a minute binds"
