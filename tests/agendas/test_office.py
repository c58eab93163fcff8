"""Office files to PDF through LibreOffice: real conversions, hostile files, no process left behind.

Needs LibreOffice (Debian: libreoffice-writer-nogui, libreoffice-impress-nogui); without it
these tests skip, except under CI where that is a failure (./dev test installs it).
"""

from __future__ import annotations

import http.server
import io
import os
import re
import socket
import stat
import tempfile
import threading
import time
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from PIL import Image

from agendas import office
from agendas.office import to_pdf
from agendas.rendering.errors import RenderError
from agendas.rendering.worker import pymupdf  # imported with its heavy optional add-ons kept out
from tests.conftest import require

TITLE = "Báo cáo chính trị"
BODY = "Đại hội đại biểu Đảng bộ tỉnh lần thứ XXI, nhiệm kỳ 2025–2030"


@pytest.fixture
def libreoffice() -> None:
    require(office.available(), "LibreOffice is not installed (apt-get install libreoffice-writer-nogui "
                                "libreoffice-impress-nogui)")


@pytest.fixture(autouse=True)
def _private_tmp(tmp_path, monkeypatch):
    """Work folders go under this test's tmp_path, so the test can see that they are removed."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    assert not list(scratch.iterdir()), "a work folder was left behind"


def _docx(path: Path, picture: bytes | None = None) -> Path:
    document = docx.Document()
    document.add_heading(TITLE, level=1)
    document.add_paragraph(BODY)
    if picture is not None:
        document.add_picture(io.BytesIO(picture))
    document.save(path)
    return path


def _linked_picture_docx(path: Path, url: str) -> Path:
    """A .docx whose picture is not embedded but linked to `url` (what Word writes for 'Link to file')."""
    png = io.BytesIO()
    Image.new("RGB", (60, 60), "red").save(png, "PNG")
    embedded = _docx(path.with_name("embedded.docx"), png.getvalue())
    with zipfile.ZipFile(embedded) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(rb'r:embed="(rId\d+)"', rb'r:link="\1"', data)
            elif item.filename == "word/_rels/document.xml.rels":
                data, n = re.subn(rb'Target="media/image1\.png"',
                                  f'Target="{url}" TargetMode="External"'.encode(), data)
                assert n == 1
            zout.writestr(item, data)
    return path


def _text(pdf: Path) -> str:
    with pymupdf.open(pdf) as doc:
        return unicodedata.normalize("NFC", "".join(page.get_text() for page in doc))


def _office_processes() -> list[str]:
    """Command lines of live processes that use a Phonghop work folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if state != "Z" and "phonghop-office-" in cmdline:
            found.append(cmdline)
    return found


async def test_a_word_file_becomes_a_pdf_with_its_vietnamese_text(libreoffice, tmp_path):
    source = _docx(tmp_path / "bao-cao.docx")
    started = time.monotonic()
    pdf = await to_pdf(source, tmp_path / "out")
    seconds = time.monotonic() - started
    assert pdf == tmp_path / "out" / "bao-cao.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = _text(pdf)
    assert TITLE in text and BODY in text
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["bao-cao.pdf"]  # no temporary file left
    assert not _office_processes()
    print(f"converted in {seconds:.2f} s")


async def test_the_format_comes_from_the_content_not_the_name(libreoffice, tmp_path):
    # Uploads are stored under their hash, without an extension; a renamed .doc is still a .docx.
    stored = tmp_path / "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    _docx(tmp_path / "x.docx").rename(stored)
    pdf = await to_pdf(stored, tmp_path / "out", filename="Báo cáo; rm -rf ~ $(id).doc")
    assert TITLE in _text(pdf)
    assert pdf.name == f"{stored.name}.pdf"


async def test_a_spreadsheet_needs_calc(libreoffice, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "Dự toán ngân sách"
    book.save(tmp_path / "du-toan.xlsx")
    binary = office.find_soffice()
    if "calc" in (office._components(binary) or {"calc"}):
        assert "Dự toán ngân sách" in _text(await to_pdf(tmp_path / "du-toan.xlsx", tmp_path / "out"))
    else:
        with pytest.raises(RenderError) as caught:
            await to_pdf(tmp_path / "du-toan.xlsx", tmp_path / "out")
        assert caught.value.code == "office_unavailable"
        assert "libreoffice-calc-nogui" in caught.value.message


@pytest.mark.parametrize("content", [
    b"garbage " * 200,  # not even a zip: must not fall back to the plain-text importer
    b"PK\x03\x04" + os.urandom(3000),  # a zip header and then nothing
])
async def test_a_damaged_file_is_corrupt(libreoffice, tmp_path, content):
    source = tmp_path / "hong.docx"
    source.write_bytes(content)
    with pytest.raises(RenderError) as caught:
        await to_pdf(source, tmp_path / "out")
    assert caught.value.code == "corrupt"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert not _office_processes()


async def test_a_zip_that_only_looks_like_word_is_corrupt(libreoffice, samples, tmp_path):
    with pytest.raises(RenderError) as caught:
        await to_pdf(samples.docx(), tmp_path / "out")
    assert caught.value.code == "corrupt"


async def test_something_else_is_not_an_office_file(tmp_path):
    source = tmp_path / "ghi-chu.txt"
    source.write_text("không phải tài liệu văn phòng")
    if office.available():
        with pytest.raises(RenderError) as caught:
            await to_pdf(source, tmp_path / "out")
        assert caught.value.code == "unsupported_type"


async def test_a_missing_file_is_not_found(libreoffice, tmp_path):
    with pytest.raises(RenderError) as caught:
        await to_pdf(tmp_path / "missing.docx", tmp_path / "out")
    assert caught.value.code == "not_found"


async def test_without_libreoffice_office_files_are_refused(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert not office.available()
    with pytest.raises(RenderError) as caught:
        await to_pdf(_docx(tmp_path / "bao-cao.docx"), tmp_path / "out")
    assert caught.value.code == "office_unavailable"
    assert "LibreOffice" in caught.value.message


async def test_a_hung_conversion_is_killed_with_its_children(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pids = tmp_path / "pids"
    fake = bin_dir / "soffice"
    # A launcher that starts a helper (as soffice starts soffice.bin) and hangs; the helper
    # ignores SIGTERM and SIGHUP, as a stuck soffice.bin might.
    fake.write_text(f"#!/bin/sh\n(trap '' TERM HUP; exec sleep 300) &\necho $$ $! > {pids}\nexec sleep 300\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        await to_pdf(_docx(tmp_path / "bao-cao.docx"), tmp_path / "out", timeout=1.5)
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 5
    for pid in map(int, pids.read_text().split()):
        for _ in range(50):  # the killed helper is reparented; give init a moment to reap it
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                break
            if state == "Z":
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"process {pid} survived the timeout")


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server API)
        _Recorder.hits.append(self.path)
        png = io.BytesIO()
        Image.new("RGB", (60, 60), "red").save(png, "PNG")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(png.getvalue())

    do_HEAD = do_OPTIONS = do_PROPFIND = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


async def test_a_linked_picture_does_not_make_the_server_fetch_a_url(libreoffice, tmp_path):
    """SSRF: without the profile's settings LibreOffice fetches the link while converting."""
    _Recorder.hits = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = _linked_picture_docx(tmp_path / "link.docx", f"http://127.0.0.1:{port}/internal/admin.png")
        pdf = await to_pdf(source, tmp_path / "out")
    finally:
        server.shutdown()
        server.server_close()
    assert TITLE in _text(pdf)
    assert _Recorder.hits == []


async def test_a_linked_picture_does_not_embed_a_local_file(libreoffice, tmp_path):
    """Local file disclosure: a link to file:///... must not put a server file into the PDF."""
    secret = tmp_path / "secret.png"
    Image.new("RGB", (60, 60), "red").save(secret)
    source = _linked_picture_docx(tmp_path / "link.docx", secret.as_uri())
    pdf = await to_pdf(source, tmp_path / "out")
    with pymupdf.open(pdf) as doc:
        assert TITLE in doc[0].get_text()
        assert doc[0].get_images() == []
