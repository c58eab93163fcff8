"""Offline operations for the command line: they open the database, act and close it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select

from server.auth.passwords import hash_password
from server.auth.sessions import Caller, user_dict
from server.config import Settings
from server.domain.errors import DomainError, Invalid
from server.domain.permissions import GLOBAL_ROLES
from server.domain.text import nfc
from server.store import audit
from server.store.db import Database
from server.store.migrate import upgrade
from server.store.tables import Meeting, User
from server.store.views import meeting_dict


class SilentFanout:
    """No socket.io outside the server: committed events wait in the log for resync."""

    async def publish(self, events, lists_changed: bool = False) -> None:
        return None


class DeferredRenderer:
    """Uploads added offline are rendered when the server starts: it picks up every
    version still marked `rendering` (agendas/ingest.py)."""

    def submit(self, version_id: int) -> None:
        return None


class NoPageCache:
    def clear(self) -> None:
        return None


def offline_app(db: Database, settings: Settings) -> dict:
    """What `server.commands.dispatch.execute` needs, without a running server."""
    return {"db": db, "settings": settings, "fanout": SilentFanout(), "renderer": DeferredRenderer(),
            "pages": NoPageCache()}


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Database]:
    """The database for one offline operation, closed afterwards whatever happens."""
    db = Database(settings)
    try:
        yield db
    finally:
        await db.close()


def caller_for(user: User) -> Caller:
    return Caller(user.id, user.username, user.full_name, frozenset(user.roles or []), user.unit_id, 0, None)


async def list_meetings(settings: Settings) -> list[dict]:
    async with opened(settings) as db, db.read() as session:
        rows = (await session.scalars(select(Meeting).order_by(Meeting.starts_at, Meeting.id))).all()
        return [meeting_dict(m) for m in rows]


async def import_file(settings: Settings, path: Path) -> dict:
    from agendas import packs

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read {path}: {exc}") from None
    pack = packs.load(text)
    await asyncio.to_thread(upgrade, settings)
    async with opened(settings) as db, db.write() as session:
        summary = await packs.import_pack(session, pack)
        await audit.append(session, _by_cli("meeting.import", f"meeting:{summary['meeting_id']}", {
            "file": path.name, **{k: summary[k] for k in ("units", "accounts", "participants") if k in summary}},
            meeting_id=summary["meeting_id"]))
        return summary


async def export_meeting(settings: Settings, meeting_id: int) -> str:
    from agendas import packs

    async with opened(settings) as db, db.read() as session:
        return await packs.export_pack(session, meeting_id)


async def create_user(settings: Settings, username: str, full_name: str, password: str, roles: list[str]) -> dict:
    if len(password) < 8:
        raise Invalid("a password has at least 8 characters")
    if set(roles) - GLOBAL_ROLES:
        raise Invalid(f"unknown roles: {sorted(set(roles) - GLOBAL_ROLES)}")
    await asyncio.to_thread(upgrade, settings)
    async with opened(settings) as db, db.write() as session:
        if await session.scalar(select(User).where(User.username == username)):
            raise DomainError(f"the account {username} exists already")
        user = User(username=username, full_name=nfc(full_name), password_hash=hash_password(password),
                    roles=sorted(set(roles)))
        session.add(user)
        await session.flush()
        await audit.append(session, _by_cli("user.create", f"user:{user.id}", {"username": user.username,
                                                                             "roles": user.roles}))
        return user_dict(user)


def _by_cli(action: str, target: str, details: dict, meeting_id: int | None = None) -> audit.Entry:
    """An act done with the `phonghop` command on the server's machine: its actor is the
    operating-system account that ran it."""
    import getpass

    try:
        who = getpass.getuser()
    except Exception:  # no name for this uid (a container)
        who = "?"
    return audit.Entry(action, target, details, meeting_id=meeting_id, actor=f"cli:{who}"[:100], address="local")


# What `phonghop export` writes: the document, and the formats it comes in.
EXPORTS = {"minutes": ("minutes", ("docx", "pdf")), "conclusions": ("conclusion_notice", ("docx", "pdf")),
           "comments": (None, ("docx", "xlsx"))}


async def export_document(settings: Settings, what: str, meeting_id: int, fmt: str) -> bytes:
    """The minutes, the conclusion notice or the comment summary table of a meeting, as the
    console offers them: a final's stored file, else the draft, else a preview from the record."""
    from agendas.storage import Files
    from server.api import records
    from server.domain.errors import NotFound
    from server.exports.http import summary_bytes

    kind, formats = EXPORTS[what]
    if fmt not in formats:
        raise Invalid(f"{what} is exported as {' or '.join(formats)}, not {fmt}")
    await asyncio.to_thread(upgrade, settings)
    async with opened(settings) as db:
        async with db.read() as session:
            meeting = await session.get(Meeting, meeting_id)
            if meeting is None:
                raise NotFound(f"meeting {meeting_id} does not exist (see `phonghop meetings`)")
            if kind is None:
                return (await summary_bytes(session, meeting, fmt))[0]
            src = await records.source(session, meeting, kind, staff=True)
        return await records.produce(src, fmt, Files(settings.data_dir))
