"""Hostile sample files made on the spot, shared by the renderer's and the server's tests."""

from __future__ import annotations

import struct
import zlib


def many_pages_pdf(count: int) -> bytes:
    """A valid PDF of `count` empty 10x10 pt pages, written directly (PyMuPDF takes minutes for 20,000)."""
    kids = b" ".join(b"%d 0 R" % (i + 3) for i in range(count))
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)]
    bodies += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"] * count
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def png_bomb(side: int = 20_000) -> bytes:
    """A real decompression bomb: a side x side 1-bit PNG of zeros, 50 MB unpacked, ~50 kB on disk."""
    row = b"\0" * (1 + side // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row * 500) for _ in range(side // 500)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core: Vietnamese glyphs


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one line of (Vietnamese) text per page."""
    import pymupdf  # imported when needed: most tests make no PDF

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_font(fontname="dv", fontfile=FONT)
        page.insert_text((72, 100), text, fontname="dv", fontsize=16)
    return doc.tobytes()
