"""unit.* and user.*: the organisation tree and the accounts (administrator's work)."""

from __future__ import annotations

import asyncio
from datetime import date

from pydantic import Field
from sqlalchemy import select

from server.auth.passwords import hash_password
from server.auth.sessions import user_dict
from server.commands.registry import Context, Id, Payload, command
from server.domain import orgtree
from server.domain.errors import Invalid, NotFound
from server.domain.permissions import GLOBAL_ROLES
from server.store.tables import Unit, User
from server.store.views import unit_dict


class UnitCreate(Payload):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    level: str = Field(min_length=1, max_length=100)
    parent_id: Id | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class UnitUpdate(Payload):
    unit_id: Id
    name: str | None = Field(default=None, min_length=1, max_length=300)
    level: str | None = Field(default=None, min_length=1, max_length=100)
    parent_id: Id | None = None
    valid_from: date | None = None
    valid_to: date | None = None


async def _nodes(ctx: Context) -> dict[int, orgtree.Node]:
    units = (await ctx.db.scalars(select(Unit))).all()
    return {u.id: orgtree.Node(u.id, u.parent_id, u.valid_from, u.valid_to) for u in units}


@command("unit.create", UnitCreate, "Add a unit to the organisation tree", ("POST", "/api/units"))
async def create_unit(ctx: Context, data: UnitCreate) -> dict:
    orgtree.check_dates(data.valid_from, data.valid_to)
    if data.parent_id is not None and await ctx.db.get(Unit, data.parent_id) is None:
        raise NotFound(f"unit {data.parent_id} does not exist")
    unit = Unit(**data.model_dump())
    ctx.db.add(unit)
    await ctx.db.flush()
    return {"unit": unit_dict(unit)}


@command("unit.update", UnitUpdate, "Rename, move or end a unit (a merger is an edit)",
         ("PATCH", "/api/units/{unit_id}"))
async def update_unit(ctx: Context, data: UnitUpdate) -> dict:
    unit = await ctx.db.get(Unit, data.unit_id)
    if unit is None:
        raise NotFound(f"unit {data.unit_id} does not exist")
    fields = data.changes(keep={"unit_id"}, required={"name", "level"})
    if "parent_id" in fields:
        nodes = await _nodes(ctx)
        if fields["parent_id"] is not None and fields["parent_id"] not in nodes:
            raise NotFound(f"unit {fields['parent_id']} does not exist")
        orgtree.check_move(nodes, unit.id, fields["parent_id"])
    for name, value in fields.items():
        setattr(unit, name, value)
    orgtree.check_dates(unit.valid_from, unit.valid_to)
    return {"unit": unit_dict(unit)}


class UserCreate(Payload):
    username: str = Field(min_length=2, max_length=100, pattern=r"^[a-z0-9._-]+$")
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)
    roles: list[str] = Field(default_factory=list)
    unit_id: Id | None = None


@command("user.create", UserCreate, "Create an account", ("POST", "/api/users"))
async def create_user(ctx: Context, data: UserCreate) -> dict:
    unknown = set(data.roles) - GLOBAL_ROLES
    if unknown:
        raise Invalid(f"unknown global roles: {', '.join(sorted(unknown))}")
    if data.unit_id is not None and await ctx.db.get(Unit, data.unit_id) is None:
        raise NotFound(f"unit {data.unit_id} does not exist")
    user = User(
        username=data.username, full_name=data.full_name, password_hash=await asyncio.to_thread(hash_password, data.password),
        roles=sorted(set(data.roles)), unit_id=data.unit_id,
    )
    ctx.db.add(user)
    await ctx.db.flush()
    ctx.audit("user.create", f"user:{user.id}", {"username": user.username, "roles": user.roles})
    return {"user": user_dict(user)}
