"""Content-addressed files under the data folder: uploads, page images, watermarked pages.

    <data>/files/blobs/ab/abcdef...   an uploaded file, named by its SHA-256
    <data>/files/pages/<sha256>.jpg   a rendered page image (the renderer names them)
    <data>/files/zoom/<source sha256>-<index>.jpg  a page's zoom image, made on first request
    <data>/files/marked/<code>/<name>.jpg  a confidential page, watermarked for one reader
    <data>/files/tmp/                 uploads being received; removed on failure

The same bytes are stored once however often they are uploaded, and a name never
points to other bytes, so page URLs can be cached for ever.
"""

from __future__ import annotations

import asyncio
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
        tmp = self.tmp / f"{secrets.token_hex(8)}.part"
        try:
            with open(tmp, "wb") as handle:
                _finish(handle, data)
            _place(tmp, self.blob(sha))
        finally:
            tmp.unlink(missing_ok=True)

    async def receive(self, chunks: AsyncIterator[bytes], limit: int) -> tuple[str, int]:
        """Stream an upload to disk, hashing as it comes; (sha256, size) once stored.

        Beyond `limit` bytes the upload is refused with 413 and nothing is kept.
        """
        loop = asyncio.get_running_loop()
        tmp = self.tmp / f"{secrets.token_hex(8)}.part"
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        handle = await loop.run_in_executor(None, open, tmp, "wb")
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
            await loop.run_in_executor(None, _finish, handle, bytes(buffer))
            sha = digest.hexdigest()
            await loop.run_in_executor(None, _place, tmp, self.blob(sha))
            return sha, size
        finally:
            if not handle.closed:
                handle.close()
            tmp.unlink(missing_ok=True)


def _finish(handle, tail: bytes) -> None:
    handle.write(tail)
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _place(tmp: Path, target: Path) -> None:
    if target.exists():  # the same bytes were uploaded before
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
