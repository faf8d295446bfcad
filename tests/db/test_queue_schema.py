"""Revision 20250925_120000 applies the job queue's schema from the installed Procrastinate,
and only from the release it was written for (the one pyproject.toml pins)."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from schoolbase.db import migrate

QUEUE_REVISION = migrate.script_directory().get_revision("20250925_120000").module
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_revision_pyproject_and_the_installed_package_name_one_release():
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"procrastinate\b", d)]
    assert pins == [f"procrastinate=={QUEUE_REVISION.PROCRASTINATE_VERSION}"]
    assert metadata.version("procrastinate") == QUEUE_REVISION.PROCRASTINATE_VERSION


def test_the_schema_is_the_packages_own():
    schema = QUEUE_REVISION.procrastinate_schema()
    assert "CREATE TABLE procrastinate_jobs" in schema


def test_another_installed_release_is_refused(monkeypatch):
    monkeypatch.setattr(QUEUE_REVISION.metadata, "version", lambda name: "9.9.9")
    with pytest.raises(RuntimeError, match=r"Procrastinate 3\.10\.0's schema, but 9\.9\.9 is installed"):
        QUEUE_REVISION.procrastinate_schema()
