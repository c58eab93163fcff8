"""Document rendering: uploads become page images and searchable text, in sandboxed children.

The server imports only this package's surface; PyMuPDF is loaded by the child
processes alone (see `pool` for the design, `worker` for what runs in a child).
"""

from .errors import CODES, RenderError
from .limits import EAGER, WIDTHS, Limits
from .pool import Done, PageRendered, RenderPool
from .sniff import check, detect, sanitize_filename

__all__ = [
    "CODES", "EAGER", "WIDTHS", "Done", "Limits", "PageRendered", "RenderError", "RenderPool",
    "check", "detect", "sanitize_filename",
]
