"""Rendering uploaded versions in the sandboxed pool, and recording their pages.

`Renderer.submit(version_id)` is called once a `document.add` or `document.revise` has
committed. The job renders the stored file (an office file first goes through
LibreOffice) at the `tablet` and `thumb` sizes (a page's `zoom` image is made on its
first request, `zoom` = "" in its row; an office file's converted PDF is not kept, so its
`zoom` images are made here too), writes each page's row as it arrives, and announces:
- the first page at once (the version becomes the document's current one, and
  readers are told with `document.changed`);
- progress as plain `document_progress` messages, at most four times a second;
- the end (`ready` or `failed`, with the typed error) with `document.changed`.
Pages are written in small transactions, so a tablet can open page 1 while page 90
renders. A version left `rendering` by a server that died is rendered again at start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import time
from pathlib import Path

from prometheus_client import Counter, Histogram
from sqlalchemy import select

from agendas.rendering import EAGER, WIDTHS, Done, RenderError, RenderPool
from agendas.storage import Files
from server.store import document_views as views
from server.store import eventlog
from server.store.db import unreachable
from server.store.tables import Document, DocumentPage, DocumentVersion, Meeting

log = logging.getLogger("phonghop.documents")

RENDERED = Counter("phonghop_documents_rendered_total", "Versions rendered", ["outcome"])
FIRST_PAGE = Histogram("phonghop_document_first_page_seconds", "From submit to the first page recorded")
PROGRESS_EVERY = 0.25  # seconds between progress messages (and page-row commits) per document


class Renderer:
    def __init__(self, app, files: Files, workers: int | None = None) -> None:
        self.app = app
        self.files = files
        self.pool = RenderPool(workers)
        self.jobs: dict[int, asyncio.Task] = {}

    async def start(self) -> None:
        await self.pool.start()
        async with self.app["db"].read() as db:
            unfinished = (
                await db.scalars(select(DocumentVersion.id).where(DocumentVersion.status == "rendering"))
            ).all()
        for version_id in unfinished:
            log.info("rendering version %s: added offline, or left unfinished when the server stopped", version_id)
            self.submit(version_id)

    async def stop(self) -> None:
        for task in self.jobs.values():
            task.cancel()
        await asyncio.gather(*self.jobs.values(), return_exceptions=True)
        await self.pool.close()

    def submit(self, version_id: int) -> None:
        if version_id not in self.jobs:
            task = asyncio.get_running_loop().create_task(self._run(version_id))
            self.jobs[version_id] = task
            task.add_done_callback(lambda _: self.jobs.pop(version_id, None))

    async def wait(self, version_id: int) -> None:
        """For tests and the CLI: until the version's job ends."""
        task = self.jobs.get(version_id)
        if task is not None:
            await asyncio.shield(task)

    async def _run(self, version_id: int) -> None:
        delay = 1.0
        while True:
            try:
                return await self._render(version_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not unreachable(exc):
                    raise
                # The database went away mid-render (PostgreSQL restarting, issue 8): render
                # again once it answers, rather than leave the version `rendering` until the next
                # start or mark a good file failed. Page rows are merged, so a repeat is harmless.
                log.warning("rendering version %s: the database is unreachable (%s); trying again in %.0f s",
                            version_id, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _render(self, version_id: int) -> None:
        started = time.monotonic()
        async with self.app["db"].read() as db:
            version = await db.get(DocumentVersion, version_id)
        if version is None or version.status != "rendering":
            return
        pending: list[DocumentPage] = []
        last_flush = 0.0
        first = True
        try:
            with tempfile.TemporaryDirectory(dir=self.files.tmp) as scratch:
                source = await self._source(version, Path(scratch))
                async for item in self.pool.render(source, self.files.pages, self._limits(version),
                                                   filename=_render_name(version)):
                    if isinstance(item, Done):
                        await self._record(version_id, pending, total=item.pages, done=item)
                        RENDERED.labels("ready").inc()
                        return
                    pending.append(DocumentPage(version_id=version_id, index=item.index, tablet=item.images["tablet"],
                                                zoom=item.images.get("zoom", ""), thumb=item.images["thumb"],
                                                text=item.text, folded=item.folded))
                    if first or time.monotonic() - last_flush >= PROGRESS_EVERY:
                        await self._record(version_id, pending, total=item.total)
                        pending = []
                        last_flush = time.monotonic()
                        if first:
                            FIRST_PAGE.observe(last_flush - started)
                            first = False
        except RenderError as e:
            RENDERED.labels(e.code).inc()
            log.info("version %s not rendered: %s", version_id, e)
            await self._record(version_id, [], error=e)
        except asyncio.CancelledError:
            raise  # the server is stopping: the version stays `rendering` and resumes at start
        except Exception as exc:
            if unreachable(exc):
                raise  # not the file's fault: _run renders it again once the database answers
            RENDERED.labels("internal").inc()
            log.exception("rendering version %s failed", version_id)
            await self._record(version_id, [], error=RenderError("crashed", "the server failed to render the file"))

    def _limits(self, version: DocumentVersion):
        """A PDF or an image is kept: its zoom images are made on request (server/api/pages.py).
        An office file's converted PDF is not: its zoom images are made now, with the rest."""
        if version.kind == "office":
            return self.pool.limits
        return dataclasses.replace(self.pool.limits, widths={name: WIDTHS[name] for name in EAGER})

    async def _source(self, version: DocumentVersion, scratch: Path) -> Path:
        blob = self.files.blob(version.sha256)
        if version.kind != "office":
            return blob
        from agendas import office

        return await office.to_pdf(blob, scratch, filename=version.filename)

    async def _record(self, version_id: int, pages: list[DocumentPage], *, total: int | None = None,
                      done: Done | None = None, error: RenderError | None = None) -> None:
        """Write pages and the version's state; announce what readers must know."""
        db = self.app["db"]
        async with db.write() as s:
            version = await s.get(DocumentVersion, version_id)
            document = await s.get(Document, version.document_id)
            # The meeting's row lock orders this writer with the commands of the meeting.
            meeting = await s.scalar(select(Meeting).where(Meeting.id == document.meeting_id).with_for_update())
            for page in pages:
                await s.merge(page)  # a render repeated after a restart rewrites the same rows
            if pages:
                version.pages_ready = max(version.pages_ready, pages[-1].index + 1)
            if total is not None:
                version.pages_total = total
            events = []
            became_current = False
            if version.pages_ready >= 1 and document.current_version_id != version.id and _newer(
                version, await s.get(DocumentVersion, document.current_version_id) if document.current_version_id else None
            ):
                revised = document.current_version_id is not None
                document.current_version_id = version.id
                became_current = True
                self.app["pages"].clear()
            if done is not None:
                version.status = "ready"
                version.warnings = done.warnings
                version.seconds = done.seconds
            if error is not None:
                version.status = "failed"
                version.error_code, version.error_message = error.code, error.message
            await s.flush()
            if became_current or done is not None or error is not None:
                events = await views.changed_events(s, document, revised=became_current and revised)
            written = await eventlog.append(s, meeting, events) if events else []
            audiences = await views.audiences(s, document)
            progress = {"meeting_id": meeting.id, "document_id": document.id, "version_id": version.id,
                        "pages_ready": version.pages_ready, "pages_total": version.pages_total}
        fanout = self.app["fanout"]
        await fanout.publish([eventlog.wire(e) for e in written])
        await fanout.notify("document_progress", progress, progress["meeting_id"], audiences)


def _newer(version: DocumentVersion, current: DocumentVersion | None) -> bool:
    return current is None or version.number > current.number


def _render_name(version: DocumentVersion) -> str:
    # The renderer checks the extension against the content; a converted office file is a PDF.
    return "converted.pdf" if version.kind == "office" else version.filename
