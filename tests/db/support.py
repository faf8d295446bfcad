"""What the tests of ``tests/db`` share."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def processes(argv: list[str], count: int, **popen) -> Iterator[list[subprocess.Popen]]:
    """``count`` copies of ``argv`` started at once, stdout and stderr piped as text (``popen``
    adds to what Popen gets); any still running on leaving are killed."""
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen) for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
