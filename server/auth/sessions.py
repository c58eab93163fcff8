"""Opaque session tokens and one-time pairing codes, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import DomainError, NotFound, Unauthorized
from server.domain.times import iso
from server.store.tables import Device, PairingCode, Session, User, utcnow

# Unambiguous characters for codes typed on a tablet: no 0/O, 1/I/L.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """The authenticated account behind a request or a socket.io connection."""

    user_id: int
    username: str
    full_name: str
    roles: frozenset[str]
    unit_id: int | None
    session_id: int
    device_id: int | None
    address: str | None = None  # where the request came from (the audit log's `address`)


def user_dict(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "roles": sorted(user.roles or []),
        "unit_id": user.unit_id,
    }


async def open_session(db: AsyncSession, user: User, hours: int, device_id: int | None = None) -> dict:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=hours)
    db.add(Session(token_hash=digest(token), user_id=user.id, device_id=device_id, expires_at=expires))
    await db.flush()
    return {"token": token, "expires_at": iso(expires), "user": user_dict(user)}


async def resolve(db: AsyncSession, token: str | None) -> Caller:
    """The caller a token belongs to; Unauthorized when it is missing, unknown, expired or revoked."""
    if not token or len(token) > 200:
        raise Unauthorized("sign in first: this needs a valid session token")
    row = (
        await db.execute(
            select(Session, User)
            .join(User, User.id == Session.user_id)
            .where(Session.token_hash == digest(token))
        )
    ).first()
    if row is None:
        raise Unauthorized("the session token is not recognised")
    session, user = row
    if session.revoked_at is not None or session.expires_at <= utcnow() or not user.active:
        raise Unauthorized("the session has ended: sign in again")
    return Caller(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        roles=frozenset(user.roles or []),
        unit_id=user.unit_id,
        session_id=session.id,
        device_id=session.device_id,
    )


async def revoke(db: AsyncSession, session_id: int) -> None:
    await db.execute(update(Session).where(Session.id == session_id).values(revoked_at=utcnow()))


async def revoke_all(db: AsyncSession, user_id: int, keep: int | None = None) -> list[int]:
    """End every open session of an account, on every device (paired tablets included),
    except `keep` (the caller's own, when asked); returns the ended session ids. Paired
    devices stay listed: nothing can act through them again without a new pairing code."""
    query = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None),
                                  Session.expires_at > utcnow())
    if keep is not None:
        query = query.where(Session.id != keep)
    ended = await db.scalars(query.values(revoked_at=utcnow()).returning(Session.id))
    return sorted(ended.all())


async def revoke_device(db: AsyncSession, device_id: int) -> tuple[Device, list[int]]:
    """End a device and all its sessions; returns the device and the ended session ids."""
    device = await db.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} does not exist")
    now = utcnow()
    device.revoked_at = device.revoked_at or now
    ended = await db.scalars(
        update(Session)
        .where(Session.device_id == device_id, Session.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(Session.id)
    )
    return device, list(ended.all())


def device_dict(device: Device) -> dict:
    return {"id": device.id, "user_id": device.user_id, "name": device.name,
            "paired_at": iso(device.paired_at), "revoked_at": iso(device.revoked_at)}


async def new_pairing_code(db: AsyncSession, user_id: int, created_by: int, minutes: int) -> tuple[str, datetime]:
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    expires = utcnow() + timedelta(minutes=minutes)
    db.add(PairingCode(code_hash=digest(code), user_id=user_id, created_by=created_by, expires_at=expires))
    await db.flush()
    return code, expires


async def redeem_pairing_code(db: AsyncSession, code: str, device_name: str) -> tuple[User, Device]:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    pairing = (
        await db.execute(select(PairingCode).where(PairingCode.code_hash == digest(normalised)).with_for_update())
    ).scalar_one_or_none()
    if pairing is None or pairing.used_at is not None or pairing.expires_at <= utcnow():
        raise Unauthorized("the pairing code is unknown, used or expired")
    user = await db.get(User, pairing.user_id)
    if user is None or not user.active:
        raise DomainError("the account of this pairing code is disabled")
    pairing.used_at = utcnow()
    device = Device(user_id=user.id, name=device_name)
    db.add(device)
    await db.flush()
    return user, device

