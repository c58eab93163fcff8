"""Content-addressed files under the data folder: uploads, page images, watermarked pages.

    <data>/files/blobs/ab/abcdef...   an uploaded file, named by its SHA-256
    <data>/files/pages/<sha256>.jpg   a rendered page image (the renderer names them)
    <data>/files/zoom/<source sha256>-<index>.jpg  a page's zoom image, made on first request
    <data>/files/marked/<code>/<name>.jpg  a confidential page, watermarked for one reader
    <data>/files/tmp/                 uploads being received; removed on failure, and
                                      what a killed process left is removed at the next start

The same bytes are stored once however often they are uploaded, and a name never
points to other bytes, so page URLs can be cached for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from server.domain.errors import DomainError

_SHA = re.compile(r"[0-9a-f]{64}")
_FLUSH = 1 << 20  # bytes gathered before a write: one executor hop per MiB, not per chunk


def is_sha(value: str) -> bool:
    return bool(_SHA.fullmatch(value))


class Files:
    def __init__(self, data_dir: Path) -> None:
        root = Path(data_dir) / "files"
        self.blobs = root / "blobs"
        self.pages = root / "pages"
        self.marked = root / "marked"
        self.zooms = root / "zoom"
        self.tmp = root / "tmp"
        for folder in (self.blobs, self.pages, self.marked, self.zooms, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self.clean_tmp()

    def clean_tmp(self) -> int:
        """Remove the partial files of uploads whose process died mid-stream (SIGKILL, power
        cut); how many. Every `.part` being written is held under an exclusive flock by its
        writer (`_open_part`), which the kernel releases when the writer dies: a file that
        can be locked here has no live writer, even when several server processes share the
        data folder. (Issue 8: a kill during an upload left its partial file for ever.)"""
        removed = 0
        for path in self.tmp.glob("*.part"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live writer holds it
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
            finally:
                os.close(fd)
        return removed

    def _open_part(self):
        """A new `.part` file under tmp/, open for writing and flocked for as long as it is
        open (see `clean_tmp`); (path, handle)."""
        while True:
            tmp = self.tmp / f"{secrets.token_hex(8)}.part"
            handle = open(tmp, "xb")  # noqa: SIM115  (closed by the caller)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                same = os.stat(tmp).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return tmp, handle
            handle.close()  # a cleaner took it between its creation and the lock: another name

    def blob(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    def page(self, sha256: str) -> Path:
        return self.pages / f"{sha256}.jpg"

    def marked_page(self, name: str, code: str) -> Path:
        """`name`: a page image's sha256, or a zoom image's `zoom-<source sha256>-<index>`."""
        return self.marked / code / f"{name}.jpg"

    def zoom(self, source_sha256: str, index: int) -> Path:
        """Page `index` (0-based) of the uploaded file `source_sha256` at the zoom width: it
        never changes (the source never does), so its name needs no hash of its own."""
        return self.zooms / f"{source_sha256}-{index}.jpg"

    async def put(self, data: bytes) -> str:
        """Store bytes the server made (a finalised record's DOCX or PDF); their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.blob(sha).exists():
            await asyncio.get_running_loop().run_in_executor(None, self._write_blob, sha, data)
        return sha

    def _write_blob(self, sha: str, data: bytes) -> None:
        tmp, handle = self._open_part()
        try:
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                _place(tmp, self.blob(sha))  # while locked: a cleaner never sees it unlocked
        finally:
            tmp.unlink(missing_ok=True)

    async def receive(self, chunks: AsyncIterator[bytes], limit: int) -> tuple[str, int]:
        """Stream an upload to disk, hashing as it comes; (sha256, size) once stored.

        Beyond `limit` bytes the upload is refused with 413 and nothing is kept.
        """
        loop = asyncio.get_running_loop()
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        tmp, handle = await loop.run_in_executor(None, self._open_part)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise DomainError(f"a file is at most {limit // 2**20} MB", code="too_large", status=413)
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= _FLUSH:
                    await loop.run_in_executor(None, handle.write, bytes(buffer))
                    buffer.clear()
            if size == 0:
                raise DomainError("the file is empty", code="invalid", status=422)
            sha = digest.hexdigest()
            await loop.run_in_executor(None, _finish, handle, bytes(buffer), tmp, self.blob(sha))
            return sha, size
        finally:
            if not handle.closed:
                handle.close()
            tmp.unlink(missing_ok=True)


def _finish(handle, tail: bytes, tmp: Path, target: Path) -> None:
    """Write the tail, make the file durable, and put it in place while still locked."""
    handle.write(tail)
    handle.flush()
    os.fsync(handle.fileno())
    _place(tmp, target)
    handle.close()


def _place(tmp: Path, target: Path) -> None:
    if target.exists():  # the same bytes were uploaded before
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    # The rename itself made durable: the database row that names this blob commits after.
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
