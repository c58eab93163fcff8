"""`phonghop backup` and `phonghop restore` (docs/deployment.md, "Backups").

A backup is one tar archive, safe to make while the servers run:

    database/phonghop.sqlite      SQLite: a copy made with SQLite's online backup API
    database/postgresql.dump      PostgreSQL: pg_dump, custom format (one snapshot)
    files/...                     the document store: uploads (blobs/), page and zoom
                                  images, the server's secret key (reader codes)
    manifest.json                 last: format, database kind and Alembic revision,
                                  and the SHA-256 and size of every other member

The database is copied first, then the files. Files are only ever added, under names
that never change their bytes, and a page or upload is in the database only once its file
is complete: so every file the copied database names is already there when the files are
read. Files that arrive later are copied too and do no harm. Uploads and page images are
named by their SHA-256; one whose bytes do not match its name (damaged on disk) is
reported, and marked in the manifest so that no restore puts it back. Left out on purpose: files/tmp (uploads in progress)
and files/marked (watermarked copies per reader, made again on request).

`restore` reads the whole archive and checks every SHA-256 against the manifest before it
touches anything; refuses a target that holds data unless --force; restores the
database, then the files; then runs the migrations, so a backup made by an older
version comes up at the newest schema. The archive holds everything a server knows
(accounts' password hashes, the secret key, confidential documents): keep it as the
server itself is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

from server.config import Settings
from server.domain.errors import DomainError

FORMAT = "phonghop-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/phonghop.sqlite"
POSTGRES_MEMBER = "database/postgresql.dump"
SKIPPED_FOLDERS = ("tmp", "marked")  # under files/: in progress, or made again on request
_SHA = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


class BackupError(DomainError):
    def __init__(self, message: str, code: str = "backup_failed") -> None:
        super().__init__(message, code=code, status=422)


# --- the database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the database is: a SQLite file, or a PostgreSQL URL (without the async driver)."""

    kind: str  # "sqlite" | "postgresql"
    sqlite_path: Path | None = None
    url: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Target:
        url = settings.db_url
        if url.startswith("sqlite"):
            return cls("sqlite", sqlite_path=Path(url.split(":///", 1)[1]))
        if url.startswith("postgresql"):
            return cls("postgresql", url="postgresql://" + url.split("://", 1)[1])
        raise BackupError(f"backups know SQLite and PostgreSQL, not {url.split(':', 1)[0]}")

    def libpq(self) -> tuple[str, dict[str, str]]:
        """(connection URL without the password, environment with PGPASSWORD): the password
        stays out of the command line, where `ps` would show it."""
        parts = urlsplit(self.url)
        env = dict(os.environ)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        if parts.password is not None:
            env["PGPASSWORD"] = unquote(parts.password)
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: apt-get install postgresql-client (the server's major "
                          "version or newer)", code="missing_tool")
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def _snapshot_database(target: Target, scratch: Path) -> tuple[str, Path, str | None]:
    """(member name, file, Alembic revision) of a consistent copy of the database."""
    if target.kind == "sqlite":
        if target.sqlite_path is None or not target.sqlite_path.exists():
            raise BackupError(f"no database at {target.sqlite_path}: nothing to back up", code="not_found")
        copy = scratch / "phonghop.sqlite"
        source = sqlite3.connect(target.sqlite_path, timeout=30)
        try:
            with contextlib.closing(sqlite3.connect(copy)) as destination:
                source.backup(destination)  # one consistent snapshot, writers go on meanwhile
                destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                revision = _sqlite_revision(destination)
        finally:
            source.close()
        return SQLITE_MEMBER, copy, revision
    url, env = target.libpq()
    dump = scratch / "postgresql.dump"
    revision = _postgres_revision(target)
    # One transaction, so one snapshot: what other sessions commit meanwhile is not in it.
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump),
          "--dbname", url], env, "pg_dump")
    return POSTGRES_MEMBER, dump, revision


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _postgres_revision(target: Target) -> str | None:
    import psycopg

    with psycopg.connect(target.url, connect_timeout=10) as connection:
        exists = connection.execute("SELECT to_regclass('public.alembic_version')").fetchone()[0]
        if exists is None:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def _postgres_tables(target: Target) -> list[str]:
    import psycopg

    with psycopg.connect(target.url, connect_timeout=10) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()
    return [r[0] for r in rows]


def _postgres_clear(target: Target) -> None:
    """--force on PostgreSQL: the public schema emptied, as a new database has it."""
    import psycopg

    with psycopg.connect(target.url, connect_timeout=10, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


# --- the files ---------------------------------------------------------------------------------


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _named_by_hash(relative: PurePosixPath) -> str | None:
    """The SHA-256 a store file's name promises its bytes have: uploads (blobs/ab/<sha>) and
    page images (pages/<sha>.jpg); None for files named otherwise (zoom images, the key)."""
    parts = relative.parts
    if len(parts) == 3 and parts[0] == "blobs" and _SHA.fullmatch(parts[2]):
        return parts[2]
    if len(parts) == 2 and parts[0] == "pages" and parts[1].endswith(".jpg") and _SHA.fullmatch(parts[1][:-4]):
        return parts[1][:-4]
    return None


def _store_files(data_dir: Path) -> list[tuple[PurePosixPath, Path]]:
    """(path under files/, file) of the document store, in a stable order."""
    root = data_dir / "files"
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        relative_dir = here.relative_to(root)
        if relative_dir == Path("."):
            dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS]
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue  # a render child's file being written (renamed into place when done)
            path = here / name
            if path.is_file() and not path.is_symlink():
                found.append((PurePosixPath(*relative_dir.parts, name), path))
    return found


class _Hashing(io.RawIOBase):
    """A file read through this is hashed on the way into the archive."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.handle.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
        return n or 0


# --- backup ------------------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("phonghop")
    except PackageNotFoundError:
        return "unknown"



def backup(settings: Settings, out: str, *, log=print) -> dict:
    """Write a backup archive to `out` (a file, written whole or not at all; or "-", standard
    output). Returns the manifest."""
    version = _version()
    target = Target.of(settings)
    data_dir = settings.data_dir.resolve()
    to_stdout = out == "-"
    out_path = None if to_stdout else Path(out).resolve()
    if out_path is not None:
        if out_path.is_dir():
            raise BackupError(f"--out is a file to write, and {out} is a folder", code="invalid")
        if out_path.is_relative_to(data_dir / "files"):
            raise BackupError("--out must be outside the document store (files/ of the data folder)", code="invalid")
    scratch_parent = out_path.parent if out_path is not None else None
    with tempfile.TemporaryDirectory(prefix=".phonghop-backup-", dir=scratch_parent) as scratch_name:
        scratch = Path(scratch_name)
        started = time.monotonic()
        member, snapshot, revision = _snapshot_database(target, scratch)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "phonghop_version": version,
            "database": {"kind": target.kind, "member": member, "revision": revision},
            "members": {},
            "left_out": [],
        }
        if to_stdout:
            archive = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
        else:
            partial = scratch / "archive.tar"
            archive = tarfile.open(partial, mode="w", format=tarfile.PAX_FORMAT)
        with archive:
            _add(archive, member, snapshot, manifest)
            for relative, path in _store_files(data_dir):
                promised = _named_by_hash(relative)
                name = f"files/{relative}"
                try:
                    entry = _add(archive, name, path, manifest)
                except FileNotFoundError:
                    continue  # removed meanwhile (a temporary file): nothing the database names
                if promised is not None and entry["sha256"] != promised:
                    # Not what its name says: a damaged file. Marked so (a restore leaves it
                    # out rather than serve it as the real one) and reported.
                    entry["damaged"] = True
                    manifest["left_out"].append({"path": name, "reason": "its bytes do not match its name"})
                    log(f"backup: left out {name}: its bytes do not match its name (damaged on disk?); "
                        "kept in the archive marked damaged, never restored")
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
            archive.addfile(info, io.BytesIO(body))
        if not to_stdout:
            os.chmod(partial, 0o600)
            os.replace(partial, out_path)  # the same file system (scratch is beside it)
    files = [m for m, e in manifest["members"].items() if m.startswith("files/") and not e.get("damaged")]
    log(f"backup: {target.kind} database at revision {revision}, {len(files)} files, "
        f"{sum(v['size'] for v in manifest['members'].values())} bytes in "
        f"{time.monotonic() - started:.1f} s" + ("" if to_stdout else f" -> {out_path}"))
    return manifest


def _add(archive: tarfile.TarFile, name: str, path: Path, manifest: dict) -> dict:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(os.fstat(handle.fileno()).st_mtime)
        reader = _Hashing(handle)
        archive.addfile(info, io.BufferedReader(reader, _CHUNK))
    entry = {"sha256": reader.digest.hexdigest(), "size": size}
    manifest["members"][name] = entry
    return entry


# --- restore -----------------------------------------------------------------------------------


def _corrupt(message: str) -> BackupError:
    return BackupError(f"the backup is damaged or not a Phonghop backup: {message}. Nothing was restored.",
                       code="backup_corrupt")


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or name != str(path):
        raise _corrupt(f"member {name!r} has an unsafe path")
    return path


def read_manifest(archive_path: Path) -> dict:
    try:
        with tarfile.open(archive_path, "r:") as archive:
            try:
                member = archive.getmember(MANIFEST)
            except KeyError:
                raise _corrupt("it has no manifest.json") from None
            handle = archive.extractfile(member)
            manifest = json.loads(handle.read().decode()) if handle else None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _corrupt(f"the archive cannot be read ({exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupt("its manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _corrupt(f"its format is {found!r}, this Phonghop reads {FORMAT!r}")
    members = manifest.get("members")
    database = manifest.get("database")
    if not isinstance(members, dict) or not isinstance(database, dict) or database.get("member") not in members:
        raise _corrupt("its manifest lists no database")
    return manifest


def verify(archive_path: Path, manifest: dict) -> int:
    """Every member is in the manifest with its SHA-256 and size, and every listed member is
    there; the number of bytes checked."""
    expected: dict = manifest["members"]
    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(archive_path, "r:") as archive:
            for member in archive:
                if member.name == MANIFEST:
                    continue
                _safe_name(member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise _corrupt(f"member {member.name} is not a plain file")
                entry = expected.get(member.name)
                if entry is None:
                    raise _corrupt(f"member {member.name} is not in the manifest")
                if member.name in seen:
                    raise _corrupt(f"member {member.name} is there twice")
                handle = archive.extractfile(member)
                digest, size = hashlib.sha256(), 0
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
                    raise _corrupt(f"{member.name} does not match its SHA-256 in the manifest")
                seen.add(member.name)
                total += size
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _corrupt(f"the archive cannot be read to its end ({exc})") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise _corrupt(f"{len(missing)} files of the manifest are missing, the first {missing[0]}")
    return total


def _known_revision(settings: Settings, revision: str | None) -> None:
    from alembic.script import ScriptDirectory

    from server.store.migrate import alembic_config

    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config(settings))
    try:
        known = script.get_revision(revision)
    except Exception:  # alembic raises several kinds for an unknown id
        known = None
    if known is None:
        raise BackupError(f"the backup's database is at revision {revision}, which this version of Phonghop "
                          f"does not know (its newest is {script.get_current_head()}): restore it with the "
                          "version that made it, or a newer one", code="backup_too_new")


def _holds_data(settings: Settings, target: Target) -> list[str]:
    """What is already in the target, in words; empty when there is nothing."""
    found = []
    store = [p for _, p in _store_files(settings.data_dir)]
    if store:
        found.append(f"{len(store)} files under {settings.data_dir / 'files'}")
    if target.kind == "sqlite":
        if target.sqlite_path.exists() and target.sqlite_path.stat().st_size > 0:
            found.append(f"the database {target.sqlite_path}")
    else:
        tables = _postgres_tables(target)
        if tables:
            found.append(f"{len(tables)} tables in the database ({', '.join(tables[:3])}, ...)")
    return found


def restore(settings: Settings, archive: str, *, force: bool = False, log=print) -> dict:
    """Restore a backup into `settings`' data folder and database; returns a summary."""
    from server.store.migrate import upgrade

    archive_path = Path(archive)
    if not archive_path.is_file():
        raise BackupError(f"no backup archive at {archive}", code="not_found")
    started = time.monotonic()
    manifest = read_manifest(archive_path)
    checked = verify(archive_path, manifest)
    database = manifest["database"]
    target = Target.of(settings)
    if database.get("kind") != target.kind:
        hint = ("give --database-url postgresql://..." if database.get("kind") == "postgresql"
                else "leave out --database-url and PHONGHOP_DATABASE_URL (SQLite under --data-dir)")
        raise BackupError(f"the backup holds a {database.get('kind')} database and the target is {target.kind}: "
                          f"{hint}", code="invalid")
    _known_revision(settings, database.get("revision"))
    present = _holds_data(settings, target)
    if present and not force:
        raise BackupError("the target is not empty (" + "; ".join(present) + "): restore into a new data folder "
                          "and database, or add --force to replace what is there", code="not_empty")

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        files = _extract(archive_path, manifest, staging)
        # The database.
        dump = staging / database["member"]
        if target.kind == "sqlite":
            path = target.sqlite_path
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            os.replace(dump, path)
        else:
            if present:
                _postgres_clear(target)
            url, env = target.libpq()
            _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  "--dbname", url, str(dump)], env, "pg_restore")
        # The files: the new store in place of the old in two renames.
        store, old = data_dir / "files", None
        if store.exists():
            old = data_dir / f".files-replaced-{os.getpid()}"
            os.replace(store, old)
        os.replace(staging / "files" if (staging / "files").exists() else _empty(staging / "files"), store)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    upgrade(settings)
    after = _sqlite_revision_of(target) if target.kind == "sqlite" else _postgres_revision(target)
    summary = {
        "restored": str(archive_path),
        "created_at": manifest.get("created_at"),
        "database": target.kind,
        "revision": {"backup": database.get("revision"), "now": after},
        "files": files,
        "bytes_checked": checked,
        "seconds": round(time.monotonic() - started, 1),
    }
    log(f"restore: {files} files and the {target.kind} database (revision {database.get('revision')}"
        f"{'' if after == database.get('revision') else f', migrated to {after}'}) from {archive_path}")
    return summary


def _empty(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sqlite_revision_of(target: Target) -> str | None:
    with contextlib.closing(sqlite3.connect(target.sqlite_path)) as connection:
        return _sqlite_revision(connection)


def _extract(archive_path: Path, manifest: dict, staging: Path) -> int:
    """Members into `staging`, each checked again as it is written (the archive was read
    once already; this catches a file that changed in between). The number of store files."""
    count = 0
    with tarfile.open(archive_path, "r:") as archive:
        for member in archive:
            if member.name == MANIFEST or not member.isfile():
                continue
            relative = _safe_name(member.name)
            entry = manifest["members"].get(member.name)
            if entry is None:
                raise _corrupt(f"member {member.name} is not in the manifest")
            target = staging.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            digest = hashlib.sha256()
            with open(target, "xb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != entry["sha256"]:
                raise _corrupt(f"{member.name} changed while it was restored")
            if entry.get("damaged"):
                target.unlink()  # kept in the archive for the record, never put back in the store
                continue
            if relative.parts[0] == "files":
                count += 1
    secret = staging / "files" / "secret.key"
    if secret.exists():
        os.chmod(secret, 0o600)
    return count
