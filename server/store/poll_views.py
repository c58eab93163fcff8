"""Polls as the wire shows them (docs/deliberation.md)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.store.tables import Meeting, Participant


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    return {"polls": [], "my_votes": []}
