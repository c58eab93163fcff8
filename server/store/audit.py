"""The audit log: every security-relevant act, append-only and hash-chained (SECURITY.md).

A record is appended in the transaction of the act it records (a sign-in with its
session, `poll.open` with the poll's new state, a recall with its documents), as the last
write of that transaction, so that the act and its record commit together or not at
all. Appends are serialised: on PostgreSQL by a transaction-level advisory lock, on
SQLite by its single writer (`Database.write`). Under that lock the next record takes
the next id and the hash of the record before it, so the chain is one line; the
unique `prev_hash` makes a fork impossible even if the lock were bypassed.

`hash = SHA-256(canonical JSON of the record's fields, prev_hash included)`. `verify`
walks the chain in id order and names the first record that does not hold: a changed
field, a deleted record (a gap in the ids or a `prev_hash` that points elsewhere), a
record inserted out of order. Triggers refuse UPDATE and DELETE (migration 0007), so an
edit needs the database owner's hand and is then detected here. Deleting the newest
records leaves a shorter chain that still holds: compare `verify`'s head with one noted
before (SECURITY.md, "Audit log").

Confidential page views are many (a reader downloading a 300-page paper), so they are
appended by `AuditWriter`: group commits, each request waiting for the commit of the
batch that holds its record before its image is served. None is lost, and a hall of
readers costs a transaction per batch, not per page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.tables import AuditRecord, utcnow

log = logging.getLogger("phonghop.audit")

GENESIS = "0" * 64
# The pg_advisory_xact_lock key of audit appends: "PHONAUDT" read as a 64-bit number.
_PG_LOCK = 0x50484F4E_41554454

FIELDS = ("id", "at", "actor", "actor_user_id", "actor_session_id", "actor_device_id", "address", "action",
          "target", "meeting_id", "details", "prev_hash")


@dataclass
class Entry:
    """A record to append; the actor fields come from the caller (None: anonymous or the system)."""

    action: str
    target: str = ""
    details: dict = field(default_factory=dict)
    meeting_id: int | None = None
    actor: str = ""
    actor_user_id: int | None = None
    actor_session_id: int | None = None
    actor_device_id: int | None = None
    address: str = ""
    at: datetime | None = None


def by(caller, action: str, target: str = "", details: dict | None = None, *, meeting_id: int | None = None,
       address: str | None = None) -> Entry:
    """An entry whose actor is `caller` (a `sessions.Caller`, or None for nobody signed in)."""
    entry = Entry(action=action, target=target, details=details or {}, meeting_id=meeting_id)
    if caller is not None:
        entry.actor = caller.username
        entry.actor_user_id = caller.user_id or None
        entry.actor_session_id = caller.session_id or None
        entry.actor_device_id = caller.device_id
        entry.address = getattr(caller, "address", None) or ""
    if address is not None:
        entry.address = address
    return entry


def _when(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(details: object) -> dict:
    """The details as they read back from the database: JSON types only."""
    return json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))


def canonical(values: dict) -> bytes:
    body = {name: values[name] for name in FIELDS}
    body["at"] = _when(body["at"]) if isinstance(body["at"], datetime) else body["at"]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(values: dict) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


def record_values(row: AuditRecord) -> dict:
    return {name: getattr(row, name) for name in FIELDS}


async def _lock(db: AsyncSession) -> None:
    if db.bind.dialect.name == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    # SQLite: every write transaction already holds the one writer's lock (Database.write).


async def append(db: AsyncSession, entries: list[Entry] | Entry) -> list[AuditRecord]:
    """Append `entries` in this transaction, in order; call it as the transaction's last write."""
    if isinstance(entries, Entry):
        entries = [entries]
    if not entries:
        return []
    await db.flush()
    await _lock(db)
    last = (await db.execute(select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1))).first()
    next_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    now = utcnow()
    rows = []
    for entry in entries:
        values = {
            "id": next_id, "at": entry.at or now, "actor": entry.actor or "", "actor_user_id": entry.actor_user_id,
            "actor_session_id": entry.actor_session_id, "actor_device_id": entry.actor_device_id,
            "address": (entry.address or "")[:64], "action": entry.action, "target": entry.target or "",
            "meeting_id": entry.meeting_id, "details": _plain(entry.details), "prev_hash": prev,
        }
        row = AuditRecord(**values, hash=digest(values))
        db.add(row)
        rows.append(row)
        next_id, prev = next_id + 1, row.hash
    await db.flush()
    return rows


# --- checking the chain ------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int  # records checked
    head: str  # the hash of the last good record (GENESIS for an empty log)
    broken_id: int | None = None  # the first record that does not hold
    problem: str = ""

    def as_dict(self) -> dict:
        out = {"ok": self.ok, "count": self.count, "head": self.head}
        if not self.ok:
            out.update(broken_id=self.broken_id, problem=self.problem)
        return out


async def verify(db: AsyncSession, batch: int = 2000) -> Verdict:
    """Walk the chain in id order; the first record whose id, link or hash is wrong breaks it."""
    expected_id, prev, count = 1, GENESIS, 0
    after = 0
    while True:
        rows = (await db.scalars(
            select(AuditRecord).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(batch))).all()
        if not rows:
            return Verdict(True, count, prev)
        for row in rows:
            if row.id != expected_id:
                return Verdict(False, count, prev, row.id,
                               f"record {expected_id} is missing: the next record is {row.id}")
            if row.prev_hash != prev:
                return Verdict(False, count, prev, row.id,
                               "its prev_hash is not the hash of the record before it (a record was removed "
                               "or inserted)")
            if digest(record_values(row)) != row.hash:
                return Verdict(False, count, prev, row.id, "its content does not match its hash (it was edited)")
            prev, expected_id, count = row.hash, expected_id + 1, count + 1
        after = rows[-1].id
        db.expunge_all()


# --- reading -----------------------------------------------------------------------------

def record_dict(row: AuditRecord) -> dict:
    from server.domain.times import iso

    return {"id": row.id, "at": iso(row.at), "actor": row.actor, "actor_user_id": row.actor_user_id,
            "actor_session_id": row.actor_session_id, "actor_device_id": row.actor_device_id,
            "address": row.address, "action": row.action, "target": row.target, "meeting_id": row.meeting_id,
            "details": row.details, "prev_hash": row.prev_hash, "hash": row.hash}


async def failed_since_last_login(db: AsyncSession, user_id: int) -> dict | None:
    """What the user should hear at this sign-in: the failed attempts and lockouts on their
    account since their last successful sign-in, or None when there were none."""
    target = f"user:{user_id}"
    last_login = await db.scalar(select(func.max(AuditRecord.id)).where(
        AuditRecord.target == target, AuditRecord.action == "auth.login"))
    query = select(AuditRecord).where(AuditRecord.target == target,
                                      AuditRecord.action.in_(("auth.login_failed", "auth.lockout")))
    if last_login is not None:
        query = query.where(AuditRecord.id > last_login)
    rows = (await db.scalars(query.order_by(AuditRecord.id))).all()
    failures = [r for r in rows if r.action == "auth.login_failed"]
    lockouts = [r for r in rows if r.action == "auth.lockout"]
    if not rows:
        return None
    from server.domain.times import iso

    return {
        "failed_attempts": len(failures),
        "last_failed_at": iso(failures[-1].at) if failures else None,
        "last_failed_address": failures[-1].address if failures else None,
        "lockouts": len(lockouts),
    }


# --- group commits for page views --------------------------------------------------------

class AuditWriter:
    """app["audit"]: appends entries that need no transaction of their own act (a page
    image served), several per transaction. `record` returns once its entry is committed."""

    BATCH = 500

    def __init__(self, db) -> None:
        self.db = db
        self.waiting: list[tuple[Entry, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def record(self, entry: Entry) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((entry, future))
        if self.task is None:
            self.task = loop.create_task(self._run(), name="audit-writes")
        await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self.waiting:
                taken, self.waiting = self.waiting[: self.BATCH], self.waiting[self.BATCH:]
                try:
                    async with self.db.write() as session:
                        await append(session, [entry for entry, _ in taken])
                except Exception as exc:
                    log.exception("audit records could not be written")
                    for _, future in taken:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in taken:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.task = None
            for _, future in self.waiting:  # cancelled (the server stops): nobody waits forever
                future.cancel()
            self.waiting = []

    async def stop(self) -> None:
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
