"""What one document may cost, and the image sizes it is rendered at.

Kept apart from `worker` so the server can build limits without importing PyMuPDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Image widths in pixels: the tablet reads at `tablet`, pinch-zoom loads `zoom`,
# the agenda and the page strip show `thumb`.
WIDTHS = {"tablet": 1280, "zoom": 2400, "thumb": 240}
# The sizes made when a document is rendered. `zoom` (~60 % of the CPU of all three, and
# most pages are never pinch-zoomed) is made on first request, one page at a time
# (RenderPool.render_page), except for office files, whose converted PDF is not kept.
EAGER = ("tablet", "thumb")


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000
    timeout: float = 120.0  # wall-clock seconds for the whole document, once a worker has it
    memory_mb: int = 1024  # address space of each child (RLIMIT_AS)
    max_bytes: int = 500 * 2**20
    # Pixels of a source image, and of any one rendered page image (Pillow's default bomb limit).
    max_pixels: int = 89_478_485
    widths: dict[str, int] = field(default_factory=lambda: dict(WIDTHS))
    jpeg_quality: int = 80
    # Render only the first N pages (previews, tests over hostile corpora); None = all.
    render_pages: int | None = None
    # How much a child lowers its CPU priority (nice) once page 1 is done, so the server's
    # event loop comes first; the `render` command, with no event loop to protect, uses 0.
    nice: int = 5
