"""Word, ODT and PowerPoint files become PDF through LibreOffice, when it is installed.

The file is hostile, and LibreOffice is a large program with many importers, so:
- it never goes through a shell, and LibreOffice never sees its name: it is copied
  into a private temporary folder (mode 0700) as `document.<ext>`;
- the import filter is chosen from the file's content (zip markers, OLE stream names)
  and forced with `--infilter`, so a file is read as the format it claims to be and
  nothing else: no fallback to the plain-text importer, no legacy importers reached
  through a misleading name. A file the filter cannot load yields no PDF: `corrupt`;
- LibreOffice runs with a throwaway profile (`-env:UserInstallation`) whose settings
  block links from untrusted documents (`BlockUntrustedRefererLinks`) and never update
  links or run macros. Without that, a .docx whose picture is a link makes the server
  fetch any URL (http://... on the internal network) or embed any local file
  (file:///...) into the PDF shown to readers; tests/agendas/test_office.py checks both;
- it runs in its own process group (session), killed as a whole on timeout, and the
  group is killed after a normal exit too, so no soffice.bin is ever left behind.

Debian: `apt-get install --no-install-recommends libreoffice-writer-nogui
libreoffice-impress-nogui` (add libreoffice-calc-nogui for spreadsheets).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import zipfile
from pathlib import Path

from .rendering.errors import RenderError

__all__ = ["FILTERS", "available", "find_soffice", "to_pdf"]

# Extension -> (LibreOffice component, import filter).
FILTERS = {
    ".docx": ("writer", "MS Word 2007 XML"),
    ".doc": ("writer", "MS Word 97"),
    ".odt": ("writer", "writer8"),
    ".pptx": ("impress", "Impress MS PowerPoint 2007 XML"),
    ".ppt": ("impress", "MS PowerPoint 97"),
    ".odp": ("impress", "impress8"),
    ".xlsx": ("calc", "Calc MS Excel 2007 XML"),
    ".xls": ("calc", "MS Excel 97"),
    ".ods": ("calc", "calc8"),
}
_PACKAGES = {"writer": "libreoffice-writer-nogui", "impress": "libreoffice-impress-nogui",
             "calc": "libreoffice-calc-nogui"}
_BINARIES = ("soffice", "libreoffice")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OLE stream names, UTF-16LE in the compound file's directory.
_OLE_STREAMS = [("WordDocument", ".doc"), ("PowerPoint Document", ".ppt"), ("Workbook", ".xls"), ("Book", ".xls")]
_ODF = {"application/vnd.oasis.opendocument.text": ".odt",
        "application/vnd.oasis.opendocument.presentation": ".odp",
        "application/vnd.oasis.opendocument.spreadsheet": ".ods"}
_OOXML = {"word/": ".docx", "ppt/": ".pptx", "xl/": ".xlsx"}
_MAX_TAIL = 4000  # characters of LibreOffice's output kept for an error message

# The profile's settings (LibreOffice reads them at start, before loading the document).
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse">\
<value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse">\
<value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """The LibreOffice program on PATH, or None."""
    for name in _BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _components(binary: str) -> set[str] | None:
    """The installed components (writer, impress, calc), from the registry files beside the program.

    None when the layout is not Debian's (program/ and share/registry/ side by side):
    then every component is assumed present and a missing one shows up as `corrupt`.
    """
    registry = Path(os.path.realpath(binary)).parent.parent / "share" / "registry"
    if not registry.is_dir():
        return None
    return {c for c in _PACKAGES if (registry / f"{c}.xcd").is_file()}


def available() -> bool:
    """Whether office files can be converted on this machine (at least Writer is installed)."""
    binary = find_soffice()
    if binary is None:
        return False
    components = _components(binary)
    return components is None or "writer" in components


def _suffix(path: Path, filename: str | None) -> str:
    """The file's real office format as an extension; the content decides where it can."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        with contextlib.suppress(zipfile.BadZipFile, OSError, KeyError, ValueError):
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "mimetype" in names:
                    mimetype = z.read("mimetype")[:100].decode("ascii", "replace").strip()
                    for prefix, ext in _ODF.items():
                        if mimetype.startswith(prefix):  # templates (…-template) too
                            return ext
                for prefix, ext in _OOXML.items():
                    if any(n.startswith(prefix) for n in names):
                        return ext
    elif head.startswith(_OLE):
        data = path.read_bytes()[: 8 * 2**20]  # the directory is near the start in practice
        for stream, ext in _OLE_STREAMS:
            if stream.encode("utf-16-le") + b"\0\0" in data:
                return ext
    for name in (filename, path.name):
        ext = Path(name).suffix.lower() if name else ""
        if ext in FILTERS:
            return ext  # damaged, or a format we cannot tell from its bytes: LibreOffice will judge
    raise RenderError("unsupported_type", "not a Word, ODT, PowerPoint or spreadsheet file")


def _safe_stem(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)[:100]
    return stem or "document"


async def to_pdf(source: Path, out_dir: Path, *, timeout: float = 120.0, filename: str | None = None) -> Path:
    """Convert an office file to PDF with `soffice --headless --convert-to pdf`, in its own process group with a throwaway profile dir (-env:UserInstallation=file://...), killed (whole group) on timeout. Raises agendas.rendering.errors.RenderError: "office_unavailable" if no soffice/libreoffice binary is on PATH, "timeout", "corrupt" if LibreOffice produced no PDF (damaged file).

    The format is taken from the content (zip markers, OLE streams), else from the
    extension of `filename` (the uploader's name) or of `source`; a file that is none
    of these raises "unsupported_type". The PDF is written atomically to
    `out_dir/<source's stem>.pdf` and its path returned.
    """
    source, out_dir = Path(source), Path(out_dir)
    binary = find_soffice()
    if binary is None:
        raise RenderError("office_unavailable", "LibreOffice is not installed on the server "
                          f"(no {' or '.join(_BINARIES)} on PATH): convert the file to PDF first")
    try:
        ext = _suffix(source, filename)
    except OSError as e:
        raise RenderError("not_found", f"cannot read the file: {e.strerror}") from None
    component, import_filter = FILTERS[ext]
    components = _components(binary)
    if components is not None and component not in components:
        raise RenderError("office_unavailable", f"LibreOffice cannot open {ext} files here: "
                          f"{_PACKAGES[component]} is not installed; convert the file to PDF first")

    work = Path(tempfile.mkdtemp(prefix="phonghop-office-"))  # 0700: ours alone
    try:
        inbox, outbox, profile = work / "in", work / "out", work / "profile"
        for folder in (inbox, outbox, profile / "user"):
            folder.mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        document = inbox / f"document{ext}"
        try:
            shutil.copyfile(source, document)
        except OSError as e:
            raise RenderError("not_found", f"cannot read the file: {e.strerror}") from None
        output = await _run(binary, [
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless", "--invisible", "--nologo", "--nodefault", "--norestore", "--nolockcheck",
            f"--infilter={import_filter}", "--convert-to", "pdf", "--outdir", str(outbox), str(document),
        ], work, timeout)
        pdf = outbox / "document.pdf"
        if not _is_pdf(pdf):
            detail = " ".join(line for line in output.splitlines() if "rror" in line)[:300]
            raise RenderError("corrupt", "LibreOffice could not read the file" + (f" ({detail})" if detail else ""))
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{_safe_stem(source)}.pdf"
        tmp = out_dir / f".{target.name}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(pdf, tmp)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _is_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"%PDF-" and os.fstat(f.fileno()).st_size > 64
    except OSError:
        return False


async def _run(binary: str, args: list[str], home: Path, timeout: float) -> str:
    """Run LibreOffice in a new session; its whole process group is killed when it ends or times out."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # nothing written outside the throwaway folder
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",  # headless rendering, no X display needed
    }
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, cwd=home, env=env, start_new_session=True)
    try:
        async with asyncio.timeout(timeout):
            out, _ = await process.communicate()
    except TimeoutError:
        raise RenderError("timeout", f"LibreOffice did not convert the file within {timeout:g} s") from None
    finally:
        # The program is a launcher: soffice.bin and helpers are its children, in its group.
        _kill_group(process.pid)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    return out.decode("utf-8", "replace")[-_MAX_TAIL:]


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
