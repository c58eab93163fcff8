"""RenderPool: documents rendered in sandboxed child processes, pages streamed to asyncio.

Design: one fresh child process per document (plus helpers for long ones), not a
pool of long-lived workers. Why:
- limits are really enforced: the child sets RLIMIT_AS on itself, and on a timeout the
  pool SIGKILLs it. A long-lived worker would carry one document's damage (leaked
  memory, a corrupted heap, MuPDF's caches) into the next, and killing it would also
  kill whatever else it was doing;
- a crash or hang costs one document, never a neighbour's;
- it is cheap: children fork from a fork server that has already imported PyMuPDF
  and Pillow, so a child is ready in a few milliseconds.
A semaphore of `workers` slots bounds the number of live children. Pages go back over
a pipe in JSON, one message per page, so the first page reaches the tablet while the
rest render.

A long document takes more than one slot when cores are idle: helpers open the same
file and the pool hands each child the next page index as it finishes the last, so
pages still arrive in order, first page first. A helper gives its slot back as soon
as another document is waiting, so a big upload never holds up a small one for long.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import signal
import sys
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


def _child(*args: object) -> None:
    # Imported here, inside the child, so the server process never loads PyMuPDF.
    # The fork server has preloaded it, so this import is free.
    from . import worker

    worker.serve(*args)  # type: ignore[arg-type]


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


def _noop() -> None:
    pass


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

    Use as `async with RenderPool() as pool:` and iterate `pool.render(...)`.
    `per_document` caps the children one document may use (default: all idle slots).
    """

    def __init__(self, workers: int | None = None, *, per_document: int | None = None,
                 limits: Limits | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.per_document = per_document or self.workers
        self.limits = limits or Limits()
        # forkserver, not fork: forking the server would copy its threads, locks and
        # sockets into the child. Preloading makes each child start in milliseconds.
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(_preload())
        self._slots = asyncio.Semaphore(self.workers)
        self._waiting = 0  # documents waiting for a slot; helpers make way for them
        self._live: set[_Child] = set()

    async def start(self) -> None:
        """Boot the fork server now (about 0.3 s), not when the first upload arrives."""
        await asyncio.get_running_loop().run_in_executor(None, self._warm)

    def _warm(self) -> None:
        process = self._ctx.Process(target=_noop, daemon=True)
        process.start()
        process.join()

    async def close(self) -> None:
        """Kill every child still running."""
        for child in list(self._live):
            self._reap(child)

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
        args = (str(path), str(out), filename if filename is not None else Path(path).name, limits)
        started = time.monotonic()
        inbox: asyncio.Queue[tuple[_Child, dict | None]] = asyncio.Queue()
        children: list[_Child] = []
        total: int | None = None
        next_index = delivered = 0
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
            first = await self._spawn(args, inbox, helper=False)
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
                        feed(child)
                        for _ in range(min(self.per_document, math.ceil(total / _PAGES_PER_CHILD)) - 1):
                            helper = await self._spawn(args, inbox, helper=True)
                            if helper is None:
                                break
                            children.append(helper)
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
            finished = True
            yield Done(delivered, round(time.monotonic() - started, 3), list(dict.fromkeys(warnings))[:_MAX_WARNINGS])
        finally:
            for child in children:
                self._reap(child)
            if not finished:
                _discard_partial(out, children)

    async def _spawn(self, args: tuple, inbox: asyncio.Queue, *, helper: bool) -> _Child | None:
        """Start a child in a free slot; a helper only if a slot is free right now."""
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
            mine, theirs = self._ctx.Pipe()
            process = self._ctx.Process(target=_child, args=(theirs, *args), daemon=True, name="phonghop-render")
            loop = asyncio.get_running_loop()
            try:
                # Starting talks to the fork server; keep that off the event loop.
                await loop.run_in_executor(None, process.start)
            finally:
                theirs.close()  # now only the child holds its end: its death reads as EOF here
        except BaseException:
            self._slots.release()
            raise
        child = _Child(process, mine, process.pid, helper)
        self._live.add(child)
        loop.add_reader(mine.fileno(), self._on_readable, child, inbox)
        return child

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


def _tell(child: _Child, index: int | None) -> None:
    try:
        child.conn.send_bytes(json.dumps(index).encode())
    except OSError:
        pass  # it died; its EOF is already on the way to the inbox


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
