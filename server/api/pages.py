"""Page images: the hot path of a hall of tablets turning pages (docs/documents.md).

A request is answered from memory whenever it can be:
- the session behind the token and the permission for (reader, version) are looked
  up once and kept for TTL seconds; concurrent misses for one key share one lookup,
  so fifty tablets whose entry expired together cost one query, not fifty;
- the image bytes are kept in an LRU under a byte budget: the files never change (their
  name is their hash), so nothing has to be invalidated, and a 300 KB answer costs a
  memory copy instead of a thread hop to open and stat the file plus sendfile.
Range requests (a resumed download) are cut from the same bytes.

Zoom images (`/api/pages/{version_id}/zoom/{index}.jpg`) are made on first request:
the render pool renders that one page of the stored upload at the zoom width, in a
sandboxed child, once (concurrent requests wait for the same render); the file is kept
under the data folder and served like any page from then on.

Revocation: a session ended, or a document recalled, through this process takes effect
at once (the caches are cleared); through another process within TTL seconds.

Behind nginx (PHONGHOP_ACCEL_REDIRECT, deploy/nginx.conf), a page or zoom image that is the
same for every reader is not sent from here: once the checks pass, the answer carries its
headers (ETag, Cache-Control) and `X-Accel-Redirect`, and nginx sends the file. A reader's
watermarked copy of a confidential page is always sent from here.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from agendas import watermark
from agendas.rendering import WIDTHS, RenderError
from agendas.storage import Files, is_sha
from server.auth import access as access_rules
from server.auth import sessions
from server.auth.sessions import Caller
from server.domain import documents as rules
from server.domain.errors import DomainError, NotFound
from server.domain.times import LOCAL
from server.store import document_views as views
from server.store.tables import Document, DocumentPage, DocumentVersion, Session, Unit, utcnow

TTL = 2.0  # seconds a session or a permission is trusted without asking the database
IMMUTABLE = "private, max-age=31536000, immutable"


class Memo:
    """key -> value for TTL seconds, with one shared lookup per missing key."""

    def __init__(self, limit: int = 50_000) -> None:
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._loading: dict[Hashable, asyncio.Future] = {}
        self._limit = limit

    def clear(self) -> None:
        self._values.clear()

    def forget(self, key: Hashable) -> None:
        self._values.pop(key, None)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[object]],
                  fresh: Callable[[object], bool] = lambda _: True) -> object:
        hit = self._values.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL and fresh(hit[1]):
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            if len(self._values) >= self._limit:
                self._values.clear()
            self._values[key] = (time.monotonic(), value)
            return value
        finally:
            del self._loading[key]


class Bytes:
    """Least recently used file contents, at most `budget` bytes in all."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._held: OrderedDict[Path, bytes] = OrderedDict()
        self._size = 0

    async def read(self, path: Path) -> bytes:
        data = self._held.get(path)
        if data is not None:
            self._held.move_to_end(path)
            return data
        data = await asyncio.to_thread(path.read_bytes)
        if len(data) <= self.budget // 4:
            self._held[path] = data
            self._size += len(data)
            while self._size > self.budget:
                _, dropped = self._held.popitem(last=False)
                self._size -= len(dropped)
        return data


@dataclass(frozen=True)
class Decision:
    status: int  # 200, 404 or 410
    images: frozenset[str] = frozenset()  # the version's page image hashes
    mark: watermark.Mark | None = None  # confidential: the caller's watermark
    rendering: bool = False  # more pages may come: an unknown image may be one of them
    zooms: dict[int, str] | None = None  # page index -> its zoom image's sha256, "" if made on request
    source: str = ""  # the uploaded file's sha256
    filename: str = ""  # its name, which the renderer checks against its content
    # Confidential: which page each image is (sha -> (page index, "tablet"|"zoom"|"thumb")) and
    # of which document, for the audit record of each image served (SECURITY.md).
    where: dict[str, tuple[int, str]] | None = None
    document_id: int = 0
    meeting_id: int = 0


class Pages:
    """app["pages"]: the caches of the page route. `clear()` after any document change."""

    def __init__(self, app: web.Application, budget_bytes: int) -> None:
        self.app = app
        self.readers = Memo()
        self.decisions = Memo()
        self.bytes = Bytes(budget_bytes)
        self._stamping: dict[Path, asyncio.Lock] = {}
        self._zooming: dict[Path, asyncio.Task] = {}

    def clear(self) -> None:
        self.decisions.clear()

    async def reader(self, request: web.Request) -> Caller:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        ended = self.app["ended_sessions"]

        async def load() -> tuple[Caller, object]:
            async with self.app["db"].read() as db:
                who = await sessions.resolve(db, token)
                expires = await db.scalar(select(Session.expires_at).where(Session.id == who.session_id))
            return who, expires

        def fresh(value) -> bool:
            who, expires = value
            return who.session_id not in ended and expires > utcnow()

        who, _ = await self.readers.get(token, load, fresh)
        return who

    async def decide(self, who: Caller, version_id: int, sha: str | None = None, *,
                     index: int | None = None) -> Decision:
        """The caller's right to the version's image `sha`, or to page `index`'s zoom image."""
        key = (who.user_id, version_id)
        decision = await self.decisions.get(key, lambda: self._decide(who, version_id))
        known = sha in decision.images if index is None else index in (decision.zooms or {})
        if decision.rendering and not known:  # a page written since: look again
            self.decisions.forget(key)
            decision = await self.decisions.get(key, lambda: self._decide(who, version_id))
        return decision

    async def _decide(self, who: Caller, version_id: int) -> Decision:
        async with self.app["db"].read() as db:
            version = await db.get(DocumentVersion, version_id)
            document = await db.get(Document, version.document_id) if version else None
            if document is None or document.removed_at is not None:
                return Decision(404)
            try:
                access = await access_rules.meeting_access(db, who, document.meeting_id)
            except NotFound:
                return Decision(404)
            staff = bool(access.roles & rules.ALL_READERS)
            me = access.me
            if document.recalled_at is not None:
                # Gone for everyone who could read it; for the others it never existed.
                was_reader = staff or rules.is_reader(document.access, rules.Readers.from_dict(document.readers),
                                                      me.id if me else None, me.role if me else None)
                return Decision(410 if was_reader else 404)
            if not views.readable(document, access.roles, me):
                return Decision(404)
            if not staff and version.id != document.current_version_id:
                return Decision(404)  # readers read the current version only
            rows = (await db.execute(
                select(DocumentPage.index, DocumentPage.tablet, DocumentPage.zoom, DocumentPage.thumb)
                .where(DocumentPage.version_id == version.id)
            )).all()
            mark = None
            if document.access == "confidential":
                unit = await db.get(Unit, who.unit_id) if who.unit_id else None
                mark = watermark.Mark(
                    name=who.full_name, unit=unit.name if unit else "",
                    when=utcnow().astimezone(LOCAL).strftime("%d/%m/%Y %H:%M"),
                    code=rules.reader_code(self.app["files_secret"], who.user_id, document.id),
                    classification=document.classification,
                )
        where = None if mark is None else {
            sha: (row.index, kind) for row in rows
            for kind, sha in (("tablet", row.tablet), ("zoom", row.zoom), ("thumb", row.thumb)) if sha}
        return Decision(200, frozenset(sha for row in rows for sha in row[1:] if sha), mark,
                        version.status == "rendering", {row.index: row.zoom for row in rows},
                        version.sha256, version.filename, where, document.id, document.meeting_id)

    async def stamped(self, files: Files, source: Path, key: str, mark: watermark.Mark) -> Path:
        """The reader's own copy of a confidential page image `source`, made on first request,
        then kept as `key` (a page image's sha256, or `zoom-<source sha>-<index>`)."""
        target = files.marked_page(key, mark.code)
        if target.exists():
            return target
        lock = self._stamping.setdefault(target, asyncio.Lock())
        async with lock:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(watermark.stamp, source, target, mark)
        self._stamping.pop(target, None)
        return target

    async def zoom(self, files: Files, decision: Decision, index: int) -> Path:
        """Page `index`'s zoom image, rendered on first request, then kept: one render per
        image at a time (concurrent requests wait for it, and share its failure)."""
        target = files.zoom(decision.source, index)
        if target.exists():
            return target
        task = self._zooming.get(target)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._render_zoom(files, decision.source, decision.filename, index, target))
            self._zooming[target] = task

            def done(finished: asyncio.Task) -> None:
                if self._zooming.get(target) is finished:
                    del self._zooming[target]
                if not finished.cancelled():
                    finished.exception()  # retrieved: the requests that waited for it re-raise it

            task.add_done_callback(done)
        # A caller that goes away does not cancel the render: others may wait for it.
        return await asyncio.shield(task)

    async def _render_zoom(self, files: Files, source: str, filename: str, index: int, target: Path) -> Path:
        scratch = files.tmp / f"zoom-{secrets.token_hex(8)}"
        try:
            images = await self.app["renderer"].pool.render_page(
                files.blob(source), scratch, index, {"zoom": WIDTHS["zoom"]}, filename=filename)
            os.replace(scratch / f"{images['zoom']}.jpg", target)  # the same file system: atomic
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        return target


async def page_image(request: web.Request) -> web.StreamResponse:
    pages: Pages = request.app["pages"]
    who = await pages.reader(request)
    raw, name = request.match_info["version_id"], request.match_info["name"]
    sha = name[:-4] if name.endswith(".jpg") else ""
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31) or not is_sha(sha):
        raise NotFound("no such page image")
    decision = await pages.decide(who, int(raw), sha)
    if decision.status == 410:
        raise DomainError("the document was recalled", code="recalled", status=410)
    if decision.status != 200 or sha not in decision.images:
        raise NotFound("no such page image")
    files: Files = request.app["files"]
    path, etag = files.page(sha), sha
    if decision.mark is not None:
        path, etag = await pages.stamped(files, path, sha, decision.mark), f"{sha}-{decision.mark.code}"
        if not _not_modified(request, etag):
            index, kind = (decision.where or {}).get(sha, (None, "page"))
            await _viewed(request, who, decision, version_id=int(raw), index=index, kind=kind)
    return await _answer(request, pages, path, etag)


async def _viewed(request: web.Request, who: Caller, decision: Decision, **details) -> None:
    """A confidential page image is about to be served to `who`: on the audit log first
    (group-committed with the other readers' records; served only once written)."""
    from server.auth.limits import request_address
    from server.store.audit import by

    await request.app["audit"].record(by(who, "document.page_view", f"document:{decision.document_id}", details,
                                         meeting_id=decision.meeting_id, address=request_address(request)))


async def zoom_image(request: web.Request) -> web.StreamResponse:
    """`/api/pages/{version_id}/zoom/{index}.jpg`: page `index` at the zoom width, made on first request."""
    pages: Pages = request.app["pages"]
    who = await pages.reader(request)
    raw, name = request.match_info["version_id"], request.match_info["name"]
    number = name[:-4] if name.endswith(".jpg") else ""
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31) or not (
            number.isascii() and number.isdigit() and int(number) < 2**31 and str(int(number)) == number):
        raise NotFound("no such page image")
    index = int(number)
    decision = await pages.decide(who, int(raw), index=index)
    if decision.status == 410:
        raise DomainError("the document was recalled", code="recalled", status=410)
    if decision.status != 200 or index not in (decision.zooms or {}):
        raise NotFound("no such page image")
    files: Files = request.app["files"]
    key = f"zoom-{decision.source}-{index}"
    etag = key if decision.mark is None else f"{key}-{decision.mark.code}"
    if _not_modified(request, etag):  # the client has it: nothing to render or stamp
        return web.Response(status=304, headers=_headers(etag))
    stored = decision.zooms[index]
    if stored:  # made with the rest (an office file, or a version rendered before zoom was made on request)
        path = files.page(stored)
    else:
        try:
            path = await pages.zoom(files, decision, index)
        except RenderError as e:
            transient = e.code in ("timeout", "out_of_memory", "crashed")
            raise DomainError(f"the zoom image could not be made: {e.message}", code=e.code,
                              status=503 if transient else 422) from None
    if decision.mark is not None:
        path = await pages.stamped(files, path, key, decision.mark)
        await _viewed(request, who, decision, version_id=int(raw), index=index, kind="zoom")
    return await _answer(request, pages, path, etag)


def _headers(etag: str) -> dict[str, str]:
    return {"Cache-Control": IMMUTABLE, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}


def _accel_target(request: web.Request, path: Path) -> str | None:
    """The internal URL nginx serves `path` under, when offloading is on and `path` is a
    shared page or zoom image (the same for every reader); None otherwise."""
    prefix = request.app["settings"].accel_redirect
    if prefix is None:
        return None
    files: Files = request.app["files"]
    for folder in (files.pages, files.zooms):
        if path.parent == folder:
            return f"{prefix}{folder.name}/{path.name}"
    return None


def _not_modified(request: web.Request, etag: str) -> bool:
    return any(tag.value in (etag, "*") for tag in request.if_none_match or ())


async def _answer(request: web.Request, pages: Pages, path: Path, etag: str) -> web.StreamResponse:
    """An image from the byte cache, with its ETag (304 on a match) and Range."""
    headers = _headers(etag)
    if _not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    offloaded = _accel_target(request, path)
    if offloaded is not None:
        # Behind nginx (PHONGHOP_ACCEL_REDIRECT): the caller may read it; nginx sends the file,
        # Range included, with these headers (deploy/nginx.conf). Watermarked copies live
        # under files/marked/, which is never offloaded.
        return web.Response(content_type="image/jpeg", headers={**headers, "X-Accel-Redirect": offloaded})
    data = await pages.bytes.read(path)
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(len(data), None)  # malformed: unsatisfiable
    if wanted.start is None and wanted.stop is None:
        return web.Response(body=data, content_type="image/jpeg", headers=headers)
    start, stop, _ = wanted.indices(len(data))
    if start >= stop:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"})
    return web.Response(status=206, body=data[start:stop], content_type="image/jpeg",
                        headers={**headers, "Content-Range": f"bytes {start}-{stop - 1}/{len(data)}"})
