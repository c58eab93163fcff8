"""File types from magic bytes, lying extensions, and safe file names."""

from __future__ import annotations

import unicodedata
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agendas.rendering import RenderError, check, detect, sanitize_filename


def test_detects_kinds_by_content_not_name(tmp_path, make_pdf, samples):
    assert detect(make_pdf(["x"], name="khong-duoi")) == "pdf"
    assert detect(samples.image("anh.png", (10, 10)).rename(tmp_path / "anh")) == "png"
    assert detect(samples.image("anh.jpg", (10, 10)).rename(tmp_path / "anh.bin")) == "jpeg"
    assert detect(samples.docx()) == "office"
    odt = tmp_path / "bien-ban.odt"
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert detect(odt) == "office"
    ole = tmp_path / "cu.doc"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert detect(ole) == "office"


@pytest.mark.parametrize("content, kind", [
    (b"%PDF-1.7\n", "pdf"),
    (b"junk before the header %PDF-1.4\n", "pdf"),
    (b"%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>", "pdf"),  # no %PDF- line: readers cope
    (b"\xff\xd8\xff\xe1 Exif ... %PDF-1.4 in a comment", "jpeg"),  # a polyglot stays what it starts as
])
def test_detects_from_leading_bytes(tmp_path, content, kind):
    path = tmp_path / "x"
    path.write_bytes(content)
    assert detect(path) == kind


@pytest.mark.parametrize("content", [b"hello", b"", b"PK\x03\x04 not really a zip", b"GIF89a"])
def test_unknown_content_is_unsupported(tmp_path, content):
    path = tmp_path / "x"
    path.write_bytes(content)
    with pytest.raises(RenderError) as err:
        detect(path)
    assert err.value.code == "unsupported_type"


def test_plain_zip_is_not_an_office_document(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(RenderError) as err:
        detect(path)
    assert err.value.code == "unsupported_type"


def test_extension_must_agree_with_content(tmp_path, make_pdf, samples):
    pdf = make_pdf(["x"])
    png = samples.image("anh.png", (10, 10))
    assert check(pdf, "Báo cáo.PDF") == "pdf"
    assert check(pdf, "khong-duoi") == "pdf"
    assert check(png, None) == "png"
    for path, name in [(png, "Báo cáo.pdf"), (pdf, "anh.jpg"), (pdf, "du-thao.docx"), (pdf, "virus.exe")]:
        with pytest.raises(RenderError) as err:
            check(path, name)
        assert err.value.code == "type_mismatch", name


@pytest.mark.parametrize("given_name, expected", [
    (unicodedata.normalize("NFD", "Báo cáo chính trị.pdf"), "Báo cáo chính trị.pdf"),
    ("../../etc/passwd", "etc-passwd"),
    ("C:\\Users\\An\\Tờ trình.pdf", "C-Users-An-Tờ trình.pdf"),
    ("Nghị quyết 01/NQ-TU.pdf", "Nghị quyết 01-NQ-TU.pdf"),
    ("a\x00b\x1f\x7fc.pdf", "abc.pdf"),
    ("tai-lieu\u202efdp.exe", "tai-lieufdp.exe"),  # a bidi override would show it as ...exe.pdf
    ("  Đề   án\tsố 3 .pdf ", "Đề án số 3 .pdf"),
    ("...", "tai-lieu"),
    (".pdf", "pdf"),
    ("", "tai-lieu"),
])
def test_sanitize_filename(given_name, expected):
    assert sanitize_filename(given_name) == expected


@given(st.text(max_size=300))
def test_sanitized_names_are_always_safe(name):
    clean = sanitize_filename(name)
    assert clean and clean == unicodedata.normalize("NFC", clean)
    assert "/" not in clean and "\\" not in clean and not clean.startswith(".")
    assert not any(unicodedata.category(c)[0] == "C" for c in clean)
    assert len(clean) <= 180
    assert sanitize_filename(clean) == clean
