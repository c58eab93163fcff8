"""PDF of the minutes and the conclusion notice: the DOCX converted by LibreOffice
(agendas/office.py, a subprocess of its own), and, when a certificate is configured, a
PAdES signature made with pyHanko.

Nothing here blocks the event loop: LibreOffice runs as a subprocess, file writes and the
signature (CPU) run in a thread.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from pathlib import Path

from server.domain.errors import DomainError


async def docx_to_pdf(docx: bytes, *, timeout: float = 120.0) -> bytes:
    """The DOCX as PDF; refuses with `office_unavailable` when LibreOffice is not installed."""
    from agendas.office import to_pdf
    from agendas.rendering.errors import RenderError

    work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="phonghop-record-"))
    try:
        source = work / "record.docx"
        await asyncio.to_thread(source.write_bytes, docx)
        try:
            pdf = await to_pdf(source, work / "out", timeout=timeout, filename="record.docx")
        except RenderError as e:
            if e.code == "office_unavailable":
                raise DomainError(f"no PDF can be made: {e.message}", code="office_unavailable", status=503) from None
            raise DomainError(f"LibreOffice could not make the PDF ({e.code}): {e.message}", code="render_failed",
                              status=503) from None
        return await asyncio.to_thread(pdf.read_bytes)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _sign(pdf: bytes, cert: Path, password: str | None, reason: str, location: str) -> tuple[bytes, str]:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    try:
        signer = signers.SimpleSigner.load_pkcs12(
            pfx_file=str(cert), passphrase=password.encode("utf-8") if password else None
        )
    except (OSError, ValueError) as e:
        signer = None
        detail = str(e)
    else:
        detail = "wrong password, or not a PKCS#12 file with a key and its certificate"
    if signer is None:
        raise DomainError(f"the signing certificate {cert} cannot be used: {detail}", code="signing_unavailable",
                          status=503)
    meta = signers.PdfSignatureMetadata(
        field_name="ChuKySo", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location or None,
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer)
    return out.getvalue(), signer.signing_cert.subject.human_friendly


async def sign(pdf: bytes, cert: Path, password: str | None, *, reason: str, location: str = "") -> tuple[bytes, str]:
    """The PDF with a PAdES (B-B) signature by the PKCS#12 `cert`; and the signer's subject."""
    return await asyncio.to_thread(_sign, pdf, cert, password, reason, location)
