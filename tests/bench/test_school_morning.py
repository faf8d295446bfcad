"""The district's-morning benchmark at a tiny size for a few seconds, so it cannot rot: every
operation answers as expected, the AI limit binds, and the ratios between sizes print."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
ROLES = ("student:", "teacher:", "parent:", "AI:")


def test_the_morning_runs_at_a_tiny_size(server_url):
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (Debian: apt-get install wrk)")
    done = subprocess.run(
        [sys.executable, "bench/school_morning.py", "--sizes", "300", "--duration", "2", "--warmup", "0",
         "--sample", "40", "--ai-users", "5", "--ai-per-minute", "2", "--pool-size", "3"],
        cwd=ROOT, env={**os.environ, "SCHOOLBASE_DATABASE_URL": server_url}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(ROLES)]
    assert len(rows) == 8, done.stdout  # a row per operation
    for row in rows:
        requests, _, _, _, unexpected, *_statuses = row[30:].split()
        assert int(requests.replace(",", "")) > 0 and unexpected == "0", row
    assert "429:" in done.stdout, "the AI limit of 2 a minute binds"


def test_the_ratios_compare_each_operation_between_sizes(capsys):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from school_morning import OPS, ratios  # noqa: PLC0415
    finally:
        sys.path.remove(str(ROOT / "bench"))
    small = {"requests": 100, "duration_us": 10**7, "p50_us": 1000, "p99_us": 4000}
    large = {"requests": 50, "duration_us": 10**7, "p50_us": 3000, "p99_us": 4000}
    ratios(10, 100, {10: {op.name: small for op in OPS}, 100: {op.name: large for op in OPS}})
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "ratio 100/10 students:"
    assert [line.split()[-3:] for line in lines[3:]] == [["0.50x", "3.00x", "1.00x"]] * len(OPS)
