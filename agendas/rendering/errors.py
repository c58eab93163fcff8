"""The one error type of the rendering pipeline, with stable codes.

A code is part of the contract: the REST layer puts it in `{"error": {"code": ...}}`,
the secretariat console translates it, and tests match on it. Messages are for
operators and logs; they may change.
"""

from __future__ import annotations

CODES = {
    "not_found": "the file does not exist or cannot be read",
    "unsupported_type": "not a PDF, JPEG, PNG or office document",
    "type_mismatch": "the file name's extension does not match its content",
    "encrypted": "the PDF needs a password",
    "corrupt": "the file is damaged and cannot be read",
    "too_many_pages": "the document has more pages than allowed",
    "too_large": "the file is larger than allowed",
    "timeout": "rendering took longer than allowed",
    "out_of_memory": "rendering needed more memory than allowed",
    "image_bomb": "the image (or page) has more pixels than allowed",
    "office_unavailable": "office documents must be converted to PDF first",
    "crashed": "the renderer crashed on this file",
}


class RenderError(Exception):
    """A document could not be rendered; `code` is one of CODES."""

    def __init__(self, code: str, message: str = "") -> None:
        if code not in CODES:
            raise ValueError(f"unknown render error code {code!r}")
        self.code = code
        self.message = message or CODES[code]
        super().__init__(f"{code}: {self.message}")

    def as_dict(self) -> dict[str, str]:
        """The body of a REST error answer: `{"error": err.as_dict()}`."""
        return {"code": self.code, "message": self.message}
