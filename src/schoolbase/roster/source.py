"""A OneRoster CSV set, from a zip file or a folder holding ``manifest.csv``, read row by row.

Nothing is loaded whole: each file is decoded as it streams out of the zip or off the disk.
"""

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Self

from schoolbase.roster.formats import VERSIONS

MANIFEST = "manifest.csv"
MODES = ("bulk", "delta", "absent")
# What reading a file can run into: not UTF-8, not CSV, a damaged zip member.
UNREADABLE = (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, zlib.error, EOFError, OSError)


class SourceError(ValueError):
    """The set cannot be read at all (no manifest, not a zip, an unknown version): said for people."""


class RosterSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._stack = ExitStack()
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        self.manifest: dict[str, str] = {}

    def __enter__(self) -> Self:
        if self.path.is_dir():
            self._names = {p.name: p.name for p in self.path.iterdir() if p.is_file()}
        elif zipfile.is_zipfile(self.path):
            try:
                self._zip = self._stack.enter_context(zipfile.ZipFile(self.path))
            except (zipfile.BadZipFile, OSError) as exc:
                raise SourceError(f"{self.path.name} is not a readable zip file: {exc}") from exc
            # Files may sit in one folder inside the zip; the manifest's folder is the set.
            members = [info.filename for info in self._zip.infolist() if not info.is_dir()]
            manifests = [name for name in members if name.rsplit("/", 1)[-1] == MANIFEST]
            if len(manifests) != 1:
                raise SourceError(f"the zip must hold exactly one {MANIFEST}; it holds {len(manifests)}")
            folder = manifests[0][: -len(MANIFEST)]
            self._names = {name[len(folder) :]: name for name in members if name.startswith(folder)}
        else:
            raise SourceError(f"{self.path.name} is neither a zip file nor a folder")
        if MANIFEST not in self._names:
            raise SourceError(f"{MANIFEST} is missing: a OneRoster set lists its files in it")
        try:
            self.manifest = self._read_manifest()
        except UNREADABLE as exc:
            raise SourceError(f"{MANIFEST} cannot be read: {exc}") from exc
        if self.version not in VERSIONS:
            raise SourceError(
                f"oneroster.version is {self.manifest.get('oneroster.version')!r}; this importer reads 1.1 and 1.2"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _read_manifest(self) -> dict[str, str]:
        manifest: dict[str, str] = {}
        for _, row in self._rows(MANIFEST):
            name = (row.get("propertyName") or "").strip()
            if name:
                manifest[name] = (row.get("value") or "").strip()
        return manifest

    @property
    def version(self) -> str:
        return self.manifest.get("oneroster.version", "").strip()

    @property
    def source_system(self) -> str:
        return self.manifest.get("source.systemCode") or self.manifest.get("source.systemName") or "oneroster"

    def mode(self, stem: str) -> str:
        mode = self.manifest.get(f"file.{stem}", "absent").lower() or "absent"
        return mode if mode in MODES else "invalid"

    def listed(self) -> list[str]:
        """Every file the manifest names, present or not."""
        return [key.removeprefix("file.") for key in self.manifest if key.startswith("file.")]

    def has(self, stem: str) -> bool:
        return f"{stem}.csv" in self._names

    def header(self, stem: str) -> list[str]:
        with self._open(f"{stem}.csv") as stream:
            return next(csv.reader(stream), [])

    def rows(self, stem: str) -> Iterator[tuple[int, dict[str, str]]]:
        return self._rows(f"{stem}.csv")

    def _rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        with self._open(name) as stream:
            reader = csv.DictReader(stream, restval="", strict=True)
            for row in reader:
                # A line number that a person can find in the file (a quoted field may span lines).
                yield reader.line_num, {key: value for key, value in row.items() if key is not None}

    def _open(self, name: str) -> IO[str]:
        raw = self._zip.open(self._names[name]) if self._zip else (self.path / self._names[name]).open("rb")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
