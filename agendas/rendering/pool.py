"""RenderPool: documents rendered in sandboxed child processes, pages streamed to asyncio.

Design: one fresh child process per document (plus helpers for long ones), not a
pool of long-lived workers. Why:
- limits are really enforced: the child sets RLIMIT_AS on itself, and on a timeout the
  pool SIGKILLs it. A long-lived worker would carry one document's damage (leaked
  memory, a corrupted heap, MuPDF's caches) into the next, and killing it would also
  kill whatever else it was doing;
- a crash or hang costs one document, never a neighbour's;
- it is cheap: children fork from a fork server that has already imported PyMuPDF
  and Pillow (and rendered a page, so they start warm), and the pool keeps one child
  started ahead, waiting for its document: an upload does not wait for a fork. The
  spare has read nothing yet; it gets the document over its pipe, then confines itself
  before it opens it, exactly like a child started for that document.
A semaphore of `workers` slots bounds the number of live children. Pages go back over
a pipe in JSON, one message per page, so the first page reaches the tablet while the
rest render.

A long document takes more than one slot when cores are idle: once its first page is
out (which has the machine to itself meanwhile), helpers open the same file and the
pool hands each child the next page index as it finishes the last, so pages still
arrive in order. A helper gives its slot back as soon as another document is waiting,
so a big upload never holds up a small one for long.

Page 1 is what the uploader waits for: the first child renders it unasked as soon as
the file is open, at the server's own priority and on two cores (see worker); the
rest renders at nice +5 (`Limits.nice`), so the event loop comes first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import ModuleType

from .errors import RenderError
from .limits import Limits

_MESSAGE_MAX = 16 * 2**20  # one page: three hashes and at most 200,000 characters of text, twice
_IN_FLIGHT = 2  # page indices queued per child, so it never idles waiting for the next one
_PAGES_PER_CHILD = 4  # fewer pages per child than this and a helper costs more than it saves
_MAX_WARNINGS = 50
_SPARES = 1  # children started ahead of need: enough for the next document's first page
_NAME, _SPARE_NAME = "phonghop-render", "phonghop-render-spare"


@dataclass(frozen=True)
class PageRendered:
    index: int  # 0-based
    total: int  # pages this render will deliver
    images: dict[str, str]  # size name ("tablet", "zoom", "thumb") -> sha256; the file is <sha256>.jpg
    text: str  # NFC
    folded: str  # server.domain.text.fold(text), for search


@dataclass(frozen=True)
class Done:
    pages: int
    seconds: float  # since render() was called, queueing included
    warnings: list[str]


def _child(conn: Connection, parents_end: Connection | None = None) -> None:
    # Imported here, inside the child, so the server process never loads PyMuPDF.
    # The fork server (or, with "fork", the pool's process) has loaded it: this import is free.
    from . import worker

    if parents_end is not None:  # forked directly: a copy of the pool's end would hide its death
        parents_end.close()
    worker.serve(conn)


def _preload() -> list[str]:
    """Modules the fork server imports once, so that each child starts in milliseconds.

    multiprocessing makes every child re-run the parent's main module first (the
    `phonghop` script, or `server.cli` under `python -m`), and Python 3.11's fork
    server does not preload a main script itself. So preload the main module by name
    and whatever modules it imported: then re-running it costs each child a few
    statements instead of importing aiohttp, SQLAlchemy and the rest per document.
    """
    main = sys.modules.get("__main__")
    by_name = getattr(getattr(main, "__spec__", None), "name", None)  # python -m NAME
    names = set()
    for value in vars(main).values() if main else ():
        if isinstance(value, ModuleType):  # `import a.b` binds `a`: take what was loaded under it
            names.update(n for n in sys.modules if n == value.__name__ or n.startswith(value.__name__ + "."))
        else:  # `from a.b import f`
            names.add(getattr(value, "__module__", None))
    # Modules loaded from files: builtins and frozen ones cost nothing.
    imported = sorted(n for n in names if getattr(sys.modules.get(n), "__file__", None))
    if by_name and not by_name.endswith("__main__"):
        imported.append(by_name)
    return ["__main__", *imported, "agendas.rendering.worker"]


@dataclass(eq=False)
class _Child:
    process: BaseProcess
    conn: Connection
    pid: int
    helper: bool
    in_flight: int = 0
    stopping: bool = False


class RenderPool:
    """Renders documents in child processes; at most `workers` children at a time.

    Use as `async with RenderPool() as pool:` and iterate `pool.render(...)`; one page at
    chosen sizes (an image made on request) is `await pool.render_page(...)`.
    `per_document` caps the children one document may use (default: all idle slots).
    """

    def __init__(self, workers: int | None = None, *, per_document: int | None = None,
                 limits: Limits | None = None, start_method: str = "forkserver") -> None:
        self.workers = workers or os.cpu_count() or 1
        self.per_document = per_document or self.workers
        self.limits = limits or Limits()
        # forkserver, not fork: forking the server would copy its threads, locks and
        # sockets into the child. Preloading makes each child start in milliseconds.
        # "fork" is for a program that has no other thread and only renders (the `render`
        # command): it imports PyMuPDF itself and its children fork from it, which saves
        # starting a second interpreter that imports it all again (a one-page file: 0.6 ->
        # 0.4 CPU s). Each child closes its copy of the pool's end of its pipe, so that it
        # still sees the pool die. A process that has other threads gets the fork server.
        if start_method not in ("forkserver", "fork"):
            raise ValueError(f"start_method must be 'forkserver' or 'fork', not {start_method!r}")
        self._fork = start_method == "fork" and _threads() == 1
        self._ctx = multiprocessing.get_context("fork" if self._fork else "forkserver")
        if self._fork:
            from . import worker  # noqa: F401 - loaded (and warmed up) once, here, for every child
        else:
            self._ctx.set_forkserver_preload(_preload())
        self._slots = asyncio.Semaphore(self.workers)
        self._waiting = 0  # documents waiting for a slot; helpers make way for them
        self._live: set[_Child] = set()
        self._spares: list[tuple[BaseProcess, Connection]] = []  # started, no document yet
        self._refill: asyncio.Task | None = None
        self._keep_spares = False

    async def start(self) -> None:
        """Boot the fork server and a spare child now (about 0.3 s), not when the first upload arrives."""
        self._keep_spares = True
        self._refill_spares()
        assert self._refill is not None
        await asyncio.shield(self._refill)

    async def close(self) -> None:
        """Kill every child still running, and the spares."""
        self._keep_spares = False
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)  # a fork under way: then kill it too
        for child in list(self._live):
            self._reap(child)
        while self._spares:
            process, conn = self._spares.pop()
            _kill(process, conn)

    async def __aenter__(self) -> RenderPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def render(self, path: str | os.PathLike, out_dir: str | os.PathLike,
                     limits: Limits | None = None, *, filename: str | None = None,
                     ) -> AsyncIterator[PageRendered | Done]:
        """Yield a PageRendered per page, in page order, then a Done; or raise RenderError.

        `filename` is the name the uploader gave, checked against the content; by
        default the name of `path`. `limits.timeout` runs from the moment a worker
        takes the document, and includes the consumer's time between pages.
        Breaking out of the loop kills the document's children.
        """
        limits = limits or self.limits
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        job = {"path": str(path), "out": str(out), "filename": filename if filename is not None else Path(path).name,
               "limits": dataclasses.asdict(limits)}
        started = time.monotonic()
        inbox: asyncio.Queue[tuple[_Child, dict | None]] = asyncio.Queue()
        children: list[_Child] = []
        total: int | None = None
        next_index = delivered = helpers = 0
        results: dict[int, dict] = {}
        warnings: list[str] = []

        def feed(child: _Child) -> None:
            nonlocal next_index
            assert total is not None
            while not child.stopping and child.in_flight < _IN_FLIGHT and next_index < total:
                _tell(child, next_index)
                child.in_flight += 1
                next_index += 1
            if child.in_flight == 0:
                self._stop(child)  # nothing left for it: let it exit and free its slot

        finished = False
        try:
            # The first child renders page 1 as soon as the file is open, unasked: the
            # uploader's page does not wait for a round trip through this process.
            first = await self._spawn({**job, "page_one": True}, inbox, helper=False)
            assert first is not None
            children.append(first)
            deadline = asyncio.get_running_loop().time() + limits.timeout
            while total is None or delivered < total:
                child, msg = await _receive(inbox, deadline, limits)
                if msg is None:
                    if child.stopping and child.in_flight == 0:
                        self._reap(child)  # it finished its share and exited
                        continue
                    raise self._death(child)
                if msg["t"] == "error":
                    raise RenderError(msg["code"], msg["message"])
                warnings += msg["warnings"]
                if msg["t"] == "open":
                    if total is None:
                        total = min(msg["pages"], limits.render_pages or msg["pages"])
                        if total < msg["pages"]:
                            warnings.append(f"rendered the first {total} of {msg['pages']} pages")
                        child.in_flight, next_index = 1, 1  # page 1, under way
                        feed(child)
                        helpers = min(self.per_document, math.ceil(total / _PAGES_PER_CHILD)) - 1
                    else:
                        feed(child)
                    continue
                child.in_flight -= 1
                results[msg["i"]] = msg
                if child.helper and self._waiting:
                    self._stop(child)
                feed(child)
                while delivered in results:
                    page = results.pop(delivered)
                    yield PageRendered(delivered, total, page["images"], page["text"], page["folded"])
                    delivered += 1
                    # Helpers start once page 1 is out, so that it had the machine to itself.
                    while helpers > 0 and delivered < total:
                        helpers -= 1
                        helper = await self._spawn(job, inbox, helper=True)
                        if helper is None:
                            helpers = 0  # no slot free now: this document makes do with what it has
                            break
                        children.append(helper)
            finished = True
            yield Done(delivered, round(time.monotonic() - started, 3), list(dict.fromkeys(warnings))[:_MAX_WARNINGS])
        finally:
            for child in children:
                self._reap(child)
            if not finished:
                _discard_partial(out, children)

    async def render_page(self, path: str | os.PathLike, out_dir: str | os.PathLike, index: int,
                          widths: dict[str, int], limits: Limits | None = None, *,
                          filename: str | None = None) -> dict[str, str]:
        """Render page `index` (0-based) of a file at `widths` only; {size name: sha256}, file <sha256>.jpg in out_dir.

        For an image made on request (the zoom size): one child, in a slot like any
        document, with the same limits, sniffing and deadline (SIGKILL), and the same
        typed RenderError; an index beyond the document's pages is `not_found`. A reader
        is waiting for it, like the uploader for page 1: it renders at the server's priority.
        """
        limits = dataclasses.replace(limits or self.limits, widths=dict(widths), nice=0)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        job = {"path": str(path), "out": str(out), "filename": filename if filename is not None else Path(path).name,
               "limits": dataclasses.asdict(limits)}
        inbox: asyncio.Queue[tuple[_Child, dict | None]] = asyncio.Queue()
        child: _Child | None = None
        finished = False
        try:
            child = await self._spawn(job, inbox, helper=False)
            assert child is not None
            deadline = asyncio.get_running_loop().time() + limits.timeout
            while True:
                _, msg = await _receive(inbox, deadline, limits)
                if msg is None:
                    raise self._death(child)
                if msg["t"] == "error":
                    raise RenderError(msg["code"], msg["message"])
                if msg["t"] == "open":
                    if not 0 <= index < msg["pages"]:
                        raise RenderError("not_found", f"no page {index + 1}: the document has {msg['pages']}")
                    _tell(child, index)
                    continue
                finished = True
                return {name: msg["images"][name] for name in widths}
        finally:
            if child is not None:
                self._reap(child)
                if not finished:
                    _discard_partial(out, [child])

    async def _spawn(self, job: dict, inbox: asyncio.Queue, *, helper: bool) -> _Child | None:
        """Give the document to a child in a free slot; a helper only if a slot is free right now."""
        if helper:
            if self._slots.locked():
                return None
            await self._slots.acquire()  # does not wait: a slot is free
        else:
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
        try:
            process, mine = await self._blank()
        except BaseException:
            self._slots.release()
            raise
        process.name = _NAME
        child = _Child(process, mine, process.pid, helper)
        self._live.add(child)
        _tell(child, job)
        asyncio.get_running_loop().add_reader(mine.fileno(), self._on_readable, child, inbox)
        return child

    async def _blank(self) -> tuple[BaseProcess, Connection]:
        """A started child waiting for its document: a spare if there is one, else a new one."""
        while self._spares:
            process, conn = self._spares.pop()
            self._refill_spares()
            if process.is_alive():
                return process, conn
            _kill(process, conn)
        return await self._start()

    async def _start(self) -> tuple[BaseProcess, Connection]:
        if self._fork:
            return self._start_blank()  # never from a thread: a fork copies only the calling one
        # Starting talks to the fork server; keep that off the event loop.
        return await asyncio.get_running_loop().run_in_executor(None, self._start_blank)

    def _start_blank(self) -> tuple[BaseProcess, Connection]:
        mine, theirs = self._ctx.Pipe()
        args = (theirs, mine) if self._fork else (theirs,)
        process = self._ctx.Process(target=_child, args=args, daemon=True, name=_SPARE_NAME)
        try:
            process.start()
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()  # now only the child holds its end: its death reads as EOF here
        return process, mine

    def _refill_spares(self) -> None:
        if self._keep_spares and (self._refill is None or self._refill.done()):
            self._refill = asyncio.get_running_loop().create_task(self._make_spares())
            # A failure here is not lost: the next document starts its child itself, and
            # meets the same failure.
            self._refill.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _make_spares(self) -> None:
        while self._keep_spares and len(self._spares) < _SPARES:
            process, conn = await self._start()
            if self._keep_spares:
                self._spares.append((process, conn))
            else:
                _kill(process, conn)

    def _on_readable(self, child: _Child, inbox: asyncio.Queue) -> None:
        try:
            while child.conn.poll():
                inbox.put_nowait((child, json.loads(child.conn.recv_bytes(_MESSAGE_MAX))))
        except (EOFError, OSError, ValueError):
            # Exited, died, or sent something that is not our protocol: all the same here.
            asyncio.get_running_loop().remove_reader(child.conn.fileno())
            inbox.put_nowait((child, None))

    def _stop(self, child: _Child) -> None:
        if not child.stopping:
            child.stopping = True
            _tell(child, None)

    def _death(self, child: _Child) -> RenderError:
        """Why a child closed its pipe without an answer."""
        child.process.join(1.0)
        code = child.process.exitcode
        if code == -signal.SIGXCPU:
            return RenderError("timeout", "the renderer used up its CPU time")
        if code == -signal.SIGKILL:
            return RenderError("out_of_memory", "the renderer was killed, most likely for its memory use")
        if code is not None and code < 0:
            return RenderError("crashed", f"the renderer crashed ({signal.Signals(-code).name})")
        return RenderError("crashed", f"the renderer stopped unexpectedly (exit status {code})")

    def _reap(self, child: _Child) -> None:
        """Kill (if need be) and collect a child, and free its slot. Safe to call twice."""
        if child not in self._live:
            return
        self._live.discard(child)
        asyncio.get_running_loop().remove_reader(child.conn.fileno())
        child.conn.close()
        child.process.kill()  # no-op if it has exited
        child.process.join(1.0)  # SIGKILL cannot be ignored: this is quick
        if child.process.exitcode is not None:
            child.process.close()
        self._slots.release()


def _tell(child: _Child, message: dict | int | None) -> None:
    try:
        child.conn.send_bytes(json.dumps(message).encode())
    except OSError:
        pass  # it died; its EOF is already on the way to the inbox


def _threads() -> int:
    """Threads of this process, those that C libraries started included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _kill(process: BaseProcess, conn: Connection) -> None:
    conn.close()
    process.kill()
    process.join(1.0)
    if process.exitcode is not None:
        process.close()


async def _receive(inbox: asyncio.Queue, deadline: float, limits: Limits) -> tuple[_Child, dict | None]:
    try:
        async with asyncio.timeout_at(deadline):
            return await inbox.get()
    except TimeoutError:
        raise RenderError("timeout", f"not rendered within {limits.timeout:g} s") from None


def _discard_partial(out: Path, children: list[_Child]) -> None:
    """Remove half-written images of killed children (finished ones were renamed into place)."""
    for child in children:
        for tmp in out.glob(f".*.{child.pid}.tmp"):
            tmp.unlink(missing_ok=True)
