"""Where uploaded files live: a small interface, and a directory on local disk.

Files are stored under opaque keys the server makes up (``new_key``); a client's file
name never becomes part of a path. Who may read a file is decided by the database
(the resource's row-level security), not by the storage.
"""

import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")


class FileMissing(Exception):
    """The key names no stored file."""


class Storage(Protocol):
    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the chunks under ``key``; returns the number of bytes. If ``chunks`` raises,
        nothing is left behind and the exception propagates."""
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The file's content as chunks. Raises ``FileMissing`` before the first chunk."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error."""
        ...


def new_key() -> str:
    """An opaque, unguessable key (the first two hex digits spread files over 256 directories)."""
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


class LocalStorage:
    """Files in a directory: written to a temporary name and renamed, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    async def save(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        size = 0
        try:
            async with await anyio.open_file(partial, "xb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    await out.write(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, path)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
            raise
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await anyio.open_file(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise FileMissing(key) from exc

        async def read() -> AsyncIterator[bytes]:
            async with handle:
                while chunk := await handle.read(CHUNK_BYTES):
                    yield chunk

        return read()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
