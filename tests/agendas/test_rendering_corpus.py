"""Every file of the hostile PDF corpus ends rendered or refused, in bounded time, and the pool survives.

The corpus (pdf.js's test files: fuzzed, truncated, encrypted, recursive) lives beside
the repository, in ../shared/corpus/pdf/, and is not copied into it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from agendas.rendering import CODES, Done, Limits, PageRendered, RenderError, RenderPool

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pdf"
# Small images, a few pages, a few seconds each: the point is the outcome, not the pixels.
LIMITS = Limits(timeout=8, render_pages=3, widths={"tablet": 320, "zoom": 480, "thumb": 64})
HANG = 60  # per document, queueing included: catches a hang, not a slow machine


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
async def test_every_corpus_file_is_rendered_or_refused(tmp_path):
    files = sorted(CORPUS.glob("*.pdf"))
    assert files

    async def outcome(pool: RenderPool, path: Path) -> str:
        pages = 0
        try:
            async with asyncio.timeout(HANG):
                async for event in pool.render(path, tmp_path / "out", LIMITS):
                    if isinstance(event, PageRendered):
                        assert event.index == pages
                        pages += 1
                    else:
                        assert isinstance(event, Done) and event.pages == pages >= 1
                        return "rendered"
        except RenderError as e:
            assert e.code in CODES
            return e.code
        raise AssertionError(f"{path.name}: no Done")

    async with RenderPool(workers=2) as pool:
        outcomes = dict(zip(files, await asyncio.gather(*(outcome(pool, f) for f in files)), strict=True))
        print("corpus outcomes:", Counter(outcomes.values()))
        assert outcomes[CORPUS / "tracemonkey.pdf"] == "rendered"
        assert outcomes[CORPUS / "encrypted-attachment.pdf"] == "encrypted"
        # Still serving after all of them.
        events = [e async for e in pool.render(CORPUS / "basicapi.pdf", tmp_path / "after", LIMITS)]
        assert isinstance(events[-1], Done) and events[-1].pages == 3
