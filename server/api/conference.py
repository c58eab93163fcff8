"""REST for the online conference (docs/conference.md): the live board (every point's state
and link, worst first, with totals by level and by branch of the tree) and a point's link
history. The changes are the `conference.*`, `floor.*` and `point.*` commands
(server/commands/conference.py); the board also comes over socket.io (`conference.watch`).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from server.auth import access as access_rules
from server.domain.errors import Forbidden, Invalid, NotFound
from server.domain.permissions import Role
from server.store import conference_views as views


async def _access(request: web.Request):
    from server.api.rest import _path_ints, caller

    who = await caller(request)
    ids = _path_ints(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, ids["meeting_id"])
    return access, ids


def _own_unit(access) -> int | None:
    me = access.me
    return me.unit_id if me is not None and me.role == Role.OPERATOR else None


async def board(request: web.Request) -> web.Response:
    access, _ = await _access(request)
    live = request.app["conference"]
    conf = await live.get(access.meeting.id)
    if conf is None:
        raise NotFound("this meeting has no online conference")
    if access.sees_secretariat:
        return web.json_response(live.view(conf))
    unit = _own_unit(access)
    if unit is not None and unit in conf.points:
        return web.json_response(live.view(conf, only=unit))
    raise Forbidden("the live board is for the secretariat and the points' operators")


async def links(request: web.Request) -> web.Response:
    access, ids = await _access(request)
    unit_id = ids["unit_id"]
    if not access.sees_secretariat and _own_unit(access) != unit_id:
        raise Forbidden("a point's link history is for the secretariat and its own operator")
    since = request.query.get("since")
    moment = None
    if since:
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("since is an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise Invalid("since needs its time zone (…Z)")
    async with request.app["db"].read() as db:
        conf = await views.conference_of(db, access.meeting.id)
        if conf is None:
            raise NotFound("this meeting has no online conference")
        samples = await views.link_history(db, conf, unit_id, moment)
    return web.json_response({"unit_id": unit_id, "samples": samples})


def routes(Route) -> list:
    return [
        Route("GET", "/api/meetings/{meeting_id}/conference", board,
              "The conference's live board: points worst first, totals by level and branch (staff, chair; an "
              "operator gets its own point)"),
        Route("GET", "/api/meetings/{meeting_id}/conference/points/{unit_id}/links", links,
              "A point's link history (?since=ISO time): samples of a few seconds, then of a minute"),
    ]
