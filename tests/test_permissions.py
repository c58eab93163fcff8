"""The permission matrix, end to end: every command × every role, over REST and socket.io.

For each command a builder makes a schema-valid payload; the answer must be 403
`forbidden` exactly when `permissions.allowed(name, roles)` says no, where roles are
the caller's global roles and their role in the meeting. Allowed callers may meet
other refusals (404, 409: the meeting moved on, the item is gone), never 403 or 422.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Awaitable, Callable

import pytest
import socketio

from server.commands.registry import REGISTRY
from server.domain import permissions
from tests.conftest import WORLD_ACCOUNTS, World, new_key

# Narrowest roles first, so that the first allowed caller of a step that can run
# only once (start, close) is the chair or the secretary, not the administrator.
ACCOUNTS = list(reversed(list(WORLD_ACCOUNTS)))
_serial = itertools.count(1)


def roles_of(username: str) -> set[str]:
    _, global_roles, meeting_role = WORLD_ACCOUNTS[username]
    return set(global_roles) | ({meeting_role} if meeting_role else set())


class Setup:
    """What the payload builders need from the world; makes throwaway rows as vanphong."""

    def __init__(self, world: World):
        self.world = world
        self.live = world.live
        self.m = world.meeting_id
        self.items: list[int] = []
        self.communes: list[int] = []

    async def load(self) -> None:
        status, snap = await self.live.request("GET", f"/api/meetings/{self.m}", token=self.world.tokens["vanphong"])
        assert status == 200, snap
        self.items = [i["id"] for i in snap["agenda"]]
        status, body = await self.live.request("GET", "/api/units", token=self.world.tokens["vanphong"])
        self.communes = [u["id"] for u in body["units"] if u["parent_id"] == self.world.unit_id]

    async def staff(self, name: str, **data) -> dict:
        status, body = await self.live.command(self.world.tokens["vanphong"], name, key=new_key(), **data)
        assert status == 200, (name, body)
        return body["result"]

    async def throwaway_item(self) -> int:
        return (await self.staff("agenda.add", meeting_id=self.m, title="Nội dung tạm"))["item_id"]

    async def throwaway_participant(self) -> int:
        result = await self.staff("participant.add", meeting_id=self.m, full_name="Khách tạm", role="guest")
        return result["participant"]["id"]


Builder = Callable[[Setup, str], Awaitable[dict]]


def _b(fn: Callable[[Setup, str], dict]) -> Builder:
    async def build(s: Setup, who: str) -> dict:
        return fn(s, who)

    return build


async def _agenda_remove(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "item_id": await s.throwaway_item()}


async def _participant_update(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "participant_id": await s.throwaway_participant(), "title": "Phó Bí thư"}


async def _participant_remove(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "participant_id": await s.throwaway_participant()}


def _meeting(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m}


async def _poll(s: Setup, *steps: str, **opening) -> int:
    """A throwaway motion, taken by the secretariat through `steps` (open, close)."""
    poll_id = (await s.staff("poll.create", meeting_id=s.m, kind="motion", title="Biểu quyết tạm"))["poll_id"]
    for step in steps:
        await s.staff(f"poll.{step}", meeting_id=s.m, poll_id=poll_id, **(opening if step == "open" else {}))
    return poll_id


async def _poll_draft(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "poll_id": await _poll(s)}


async def _poll_update(s: Setup, who: str) -> dict:
    return {**await _poll_draft(s, who), "title": f"Biểu quyết sửa bởi {who}", "duration": 600}


async def _poll_open(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "poll_id": await _poll(s, "open")}


async def _poll_closed(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "poll_id": await _poll(s, "open", "close")}


async def _poll_vote(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "poll_id": await _poll(s, "open"), "choice": "yes"}


async def _poll_hands(s: Setup, who: str) -> dict:
    poll_id = await _poll(s, "open", points_present={"BN": 12})
    return {"meeting_id": s.m, "poll_id": poll_id, "point": "BN", "counts": {"yes": 7, "no": 3}}


# --- the list of speakers and comments (docs/deliberation.md) -----------------------

# Who may ask for the floor (participants but the observer), most often free to ask first.
FLOOR = ("daibieu01", "daibieu02", "daibieu03", "khach", "thuky", "chutri", "kythuat")


async def _speakers(s: Setup) -> list[dict]:
    status, snap = await s.live.request("GET", f"/api/meetings/{s.m}", token=s.world.tokens["vanphong"])
    assert status == 200, snap
    return snap["speakers"]


async def _ask(s: Setup, who: str) -> int | None:
    status, body = await s.live.command(s.world.tokens[who], "speaker.request", key=new_key(), meeting_id=s.m)
    return body["result"]["request_id"] if status == 200 else None


async def _queued(s: Setup, approved: bool = False) -> int:
    """A waiting request (approved if asked), made by whoever is free to ask when there is none."""
    queued = [r for r in await _speakers(s) if r["state"] in ("waiting", "approved")]
    found = next((r["id"] for r in queued if approved or r["state"] == "waiting"), None)
    for who in FLOOR:
        if found is not None:
            break
        found = await _ask(s, who)
    assert found is not None, "nobody could ask for the floor"
    if approved:
        await s.staff("speaker.approve", meeting_id=s.m, request_id=found)
    return found


async def _speaker_withdraw(s: Setup, who: str) -> dict:
    if who == "quansat":  # allowed by the matrix, but an observer has no request of its own
        return {"meeting_id": s.m, "request_id": 2**31 - 1}
    if who in FLOOR:
        me = s.world.participants[who]
        own = next((r["id"] for r in await _speakers(s)
                    if r["participant_id"] == me and r["state"] in ("waiting", "approved")), None)
        return {"meeting_id": s.m, "request_id": own or await _ask(s, who)}
    return {"meeting_id": s.m, "request_id": await _queued(s)}


async def _speaker_approve(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "request_id": await _queued(s)}


async def _speaker_move(s: Setup, who: str) -> dict:
    await _queued(s)
    queued = [r for r in await _speakers(s) if r["state"] in ("waiting", "approved")]
    if all(r["kind"] == "point_of_order" for r in queued):
        await _ask(s, "daibieu01")
        queued = [r for r in await _speakers(s) if r["state"] in ("waiting", "approved")]
    ordinary = [r for r in queued if r["kind"] == "ordinary"]
    return {"meeting_id": s.m, "request_id": ordinary[-1]["id"], "position": len(queued) - len(ordinary)}


async def _speaker_start(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "request_id": await _queued(s, approved=True)}


async def _speaker_summary(s: Setup, who: str) -> dict:
    done = [r["id"] for r in await _speakers(s) if r["state"] == "done"]
    if not done:
        request_id = await _queued(s, approved=True)
        await s.staff("speaker.start", meeting_id=s.m, request_id=request_id)
        await s.staff("speaker.stop", meeting_id=s.m)
        done = [request_id]
    return {"meeting_id": s.m, "request_id": done[0], "summary": f"Tóm tắt ý kiến ({who})"}


async def _province_round(s: Setup) -> int:
    """A round addressed to the province: every account of the world belongs to it, so
    comment.add, allowed to every account by the matrix, is refused to none."""
    if getattr(s, "province_round", None) is None:
        s.province_round = (await s.staff(
            "comment_round.open", meeting_id=s.m, title="Dự thảo Nghị quyết", units=[s.world.unit_id]
        ))["round"]["id"]
    return s.province_round


async def _comment_add(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "round_id": await _province_round(s), "text": f"Góp ý của {who}",
            "anchor": {"kind": "passage", "quote": "Điều 1"}}


async def _comment_triage(s: Setup, who: str) -> dict:
    status, body = await s.live.command(s.world.tokens["daibieu01"], "comment.add", key=new_key(),
                                        **await _comment_add(s, "daibieu01"))
    assert status == 200, body
    return {"meeting_id": s.m, "comment_id": body["result"]["comment"]["id"], "decision": "accepted"}


async def _comment_round_close(s: Setup, who: str) -> dict:
    rnd = await s.staff("comment_round.open", meeting_id=s.m, title=f"Đợt góp ý của {who}")
    return {"meeting_id": s.m, "round_id": rnd["round"]["id"]}


_PDF: list[bytes] = []


async def _upload(s: Setup) -> int:
    if not _PDF:
        import pymupdf

        doc = pymupdf.open()
        doc.new_page().insert_text((72, 72), "Tai lieu thu")
        _PDF.append(doc.tobytes())
    status, body = await s.live.request("POST", f"/api/meetings/{s.m}/uploads?filename=thu.pdf",
                                        token=s.world.tokens["vanphong"], data=_PDF[0])
    assert status == 201, body
    return body["upload"]["id"]


async def _draft_document(s: Setup, *, published: bool = False, rendered: bool = False) -> int:
    document = (await s.staff("document.add", meeting_id=s.m, upload_id=await _upload(s)))["document"]
    if rendered:
        await s.live.app["renderer"].wait(document["latest"]["id"])
    if published:
        await s.staff("document.publish", meeting_id=s.m, document_ids=[document["id"]])
    return document["id"]


async def _document(s: Setup, who: str) -> dict:
    if getattr(s, "document", None) is None:
        s.document = await _draft_document(s, published=True, rendered=True)
    return {"meeting_id": s.m, "document_id": s.document}


async def _document_add(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "upload_id": await _upload(s)}


async def _document_update(s: Setup, who: str) -> dict:
    return {**await _document(s, who), "title": f"Tài liệu ({who})"}


async def _document_move(s: Setup, who: str) -> dict:
    return {**await _document(s, who), "position": 0}


async def _document_revise(s: Setup, who: str) -> dict:
    return {**await _document(s, who), "upload_id": await _upload(s)}


async def _document_draft(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "document_id": await _draft_document(s)}


async def _document_publish(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "document_ids": [await _draft_document(s)]}


async def _document_recall(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "document_ids": [await _draft_document(s, published=True)]}


async def _purge_confirm(s: Setup, who: str) -> dict:
    if getattr(s, "recall", None) is None:
        s.recall = (await s.staff("document.recall", **await _document_recall(s, who)))["recall_id"]
    return {"meeting_id": s.m, "recall_id": s.recall}


async def _directive(s: Setup, *steps: str) -> int:
    """A throwaway directive of the world meeting, led by the province (every account of the
    world sits there, so directive.report, open to every account, is refused to none), taken by
    the secretariat through `steps` (report, accept, cancel)."""
    made = await s.staff("directive.create", meeting_id=s.m, title="Nhiệm vụ tạm", lead_unit_id=s.world.unit_id)
    directive_id = made["directive"]["id"]
    for step in steps:
        extra = {"percent": 100, "text": "Đã xong"} if step == "report" else {}
        await s.staff(f"directive.{step}", meeting_id=s.m, directive_id=directive_id, **extra)
    return directive_id


async def _shared_directive(s: Setup) -> dict:
    if getattr(s, "directive", None) is None:
        s.directive = await _directive(s)
    return {"meeting_id": s.m, "directive_id": s.directive}


async def _directive_update(s: Setup, who: str) -> dict:
    return {**await _shared_directive(s), "deadline": "2027-02-28", "title": f"Nhiệm vụ ({who})"}


async def _directive_report(s: Setup, who: str) -> dict:
    return {**await _shared_directive(s), "percent": 40, "text": f"Báo cáo của {who}"}


async def _directive_accept(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "directive_id": await _directive(s, "report")}


async def _directive_cancel(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "directive_id": await _directive(s)}


async def _directive_reopen(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "directive_id": await _directive(s, "cancel")}


async def _directive_to_agenda(s: Setup, who: str) -> dict:
    return {"meeting_id": s.m, "directive_ids": [await _directive(s)]}


# --- the online conference (docs/conference.md), while the meeting is in session -------------


async def _conference_state(s: Setup) -> str | None:
    """The conference's state, after scheduling it (host: the province, whose operator is
    kythuat) and inviting the communes, once."""
    if not getattr(s, "conference", False):
        await s.staff("conference.schedule", meeting_id=s.m)
        await s.staff("conference.invite", meeting_id=s.m, root_unit_id=s.world.unit_id, levels=["Xã"])
        s.conference = True
    status, board = await s.live.request("GET", f"/api/meetings/{s.m}/conference", token=s.world.tokens["vanphong"])
    assert status == 200, board
    return board["state"]


async def _conference_to(s: Setup, wanted: str) -> None:
    """The conference taken to `wanted` (open or locked) by the secretariat, when it can be."""
    state = await _conference_state(s)
    if state == "scheduled":
        await s.staff("conference.open", meeting_id=s.m)
        state = "open"
    if state == "locked" and wanted == "open":
        await s.staff("conference.unlock", meeting_id=s.m)
    if state == "open" and wanted == "locked":
        await s.staff("conference.lock", meeting_id=s.m)


async def _commune_on_air(s: Setup) -> str:
    """A commune point whose operator's connection and media are up, as the socket handlers
    and the media node would tell the live board (the world has no operator there)."""
    from types import SimpleNamespace

    status, body = await s.live.request("GET", "/api/units", token=s.world.tokens["vanphong"])
    unit = next(u for u in body["units"] if u["code"] == "BN-TD")
    board = s.live.app["conference"]
    await board.joined("permissions-BN-TD", s.m, SimpleNamespace(role="operator", unit_id=unit["id"]))
    board.media_now(s.m, unit["id"], True)
    return unit["code"]


async def _conference_meeting(s: Setup, who: str) -> dict:
    await _conference_state(s)
    return {"meeting_id": s.m}


async def _conference_invite(s: Setup, who: str) -> dict:
    await _conference_state(s)
    return {"meeting_id": s.m, "root_unit_id": s.world.unit_id, "levels": ["Xã"]}


async def _conference_uninvite(s: Setup, who: str) -> dict:
    await _conference_state(s)
    await s.staff("conference.invite", meeting_id=s.m, unit_ids=[s.communes[1]])
    return {"meeting_id": s.m, "unit_ids": [s.communes[1]]}


async def _conference_live(s: Setup, who: str) -> dict:
    await _conference_to(s, "open")
    return {"meeting_id": s.m}


async def _conference_locked(s: Setup, who: str) -> dict:
    await _conference_to(s, "locked")
    return {"meeting_id": s.m}


async def _floor_grant(s: Setup, who: str) -> dict:
    await _conference_to(s, "open")
    return {"meeting_id": s.m, "point": await _commune_on_air(s)}


async def _point_test(s: Setup, who: str) -> dict:
    await _conference_state(s)
    return {"meeting_id": s.m, "point": "BN", "loss": 0.001, "rtt_ms": 35.0, "jitter_ms": 4.0, "packets_received": 600}


async def _point_report(s: Setup, who: str) -> dict:
    await _conference_state(s)
    return {"meeting_id": s.m, "point": "BN", "seated": 30}


# --- work programmes and the weekly schedule (docs/programmes.md): not about the world meeting --


def _weeks_ahead(n: int):
    from server.domain.programmes import IsoWeek
    from server.store.tables import utcnow

    return IsoWeek.of(utcnow()).shift(n)


def _monday_at(n: int, hour: int) -> str:
    from datetime import datetime

    from server.domain.times import LOCAL

    day = _weeks_ahead(n).monday
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL).isoformat()


def _new_period() -> dict:
    """A monthly period no other call has used (one programme per unit and period)."""
    n = next(_serial)
    return {"kind": "monthly", "year": 2100 + n // 12, "month": n % 12 + 1}


async def _shared_programme(s: Setup) -> int:
    """A draft programme the builders that do not consume one share."""
    if getattr(s, "programme", None) is None:
        s.programme = (await s.staff("programme.create", unit_id=s.world.unit_id, kind="annual", year=2199))[
            "programme"]["id"]
    return s.programme


async def _programme_entry(s: Setup) -> int:
    made = await s.staff("programme.entry_add", programme_id=await _shared_programme(s), content="Việc tạm",
                         due_month=6)
    return made["entry"]["id"]


async def _programme_publish(s: Setup, who: str) -> dict:
    programme = (await s.staff("programme.create", unit_id=s.world.unit_id, **_new_period()))["programme"]["id"]
    await s.staff("programme.entry_add", programme_id=programme, content="Hội nghị tạm")
    return {"programme_id": programme}


async def _shared_programme_entry(s: Setup, who: str) -> dict:
    if getattr(s, "programme_entry", None) is None:
        s.programme_entry = await _programme_entry(s)
    return {"entry_id": s.programme_entry, "content": f"Việc do {who} sửa"}


async def _programme_update(s: Setup, who: str) -> dict:
    return {"programme_id": await _shared_programme(s), "title": f"Chương trình ({who})"}


async def _programme_entry_add(s: Setup, who: str) -> dict:
    return {"programme_id": await _shared_programme(s), "content": f"Việc của {who}", "due_quarter": 3}


async def _programme_entry_ref(s: Setup, who: str) -> dict:
    return {"entry_id": await _programme_entry(s)}


async def _programme_entry_state(s: Setup, who: str) -> dict:
    return {"entry_id": await _programme_entry(s), "state": "postponed", "reason": f"Lý do của {who}"}


async def _programme_meeting(s: Setup, who: str) -> dict:
    return {"entry_id": await _programme_entry(s), "place": "Phòng họp số 2"}


async def _schedule_entry(s: Setup, weeks: int = 30) -> int:
    made = await s.staff("schedule.entry_add", unit_id=s.world.unit_id, starts_at=_monday_at(weeks, 8),
                         content="Lịch tạm")
    return made["entry"]["id"]


async def _shared_schedule_entry(s: Setup, who: str) -> dict:
    if getattr(s, "schedule_entry", None) is None:
        s.schedule_entry = await _schedule_entry(s)
    return {"entry_id": s.schedule_entry, "place": f"Phòng họp của {who}"}


async def _schedule_entry_ref(s: Setup, who: str) -> dict:
    return {"entry_id": await _schedule_entry(s)}


async def _schedule_cancel(s: Setup, who: str) -> dict:
    return {"entry_id": await _schedule_entry(s), "reason": f"Hoãn ({who})"}


async def _schedule_cancelled(s: Setup, who: str) -> dict:
    entry = await _schedule_entry(s)
    await s.staff("schedule.entry_cancel", entry_id=entry, reason="Hoãn tạm")
    return {"entry_id": entry}


async def _schedule_publish(s: Setup, who: str) -> dict:
    # Each call brings a new entry: the first allowed caller publishes, the next reissues.
    await _schedule_entry(s, 31)
    week = _weeks_ahead(31)
    return {"unit_id": s.world.unit_id, "year": week.year, "week": week.week}


# Keyed by command name, in the order the loop runs them: the lifecycle steps come
# last, in their own order, so that most commands meet a meeting that is still open.
# A payload never changes an account's role in the world meeting.
PAYLOADS: dict[str, Builder] = {
    "unit.create": _b(lambda s, who: {
        "code": f"T-{who}-{next(_serial)}", "name": "Xã Thử Nghiệm", "level": "Xã", "parent_id": s.world.unit_id,
    }),
    "unit.update": _b(lambda s, who: {"unit_id": s.communes[0], "name": f"Xã Tiên Du ({who})"}),
    "user.create": _b(lambda s, who: {
        "username": f"tk.{who}.{next(_serial)}", "full_name": "Người Thử Nghiệm", "password": "mat-khau-du-dai",
    }),
    "meeting.create": _b(lambda s, who: {"title": f"Hội nghị của {who}", "unit_id": s.world.unit_id}),
    # Work programmes and the weekly schedule (docs/programmes.md): the office's, whatever the meeting.
    "programme.create": _b(lambda s, who: {"unit_id": s.world.unit_id, **_new_period()}),
    "programme.update": _programme_update,
    "programme.publish": _programme_publish,
    "programme.entry_add": _programme_entry_add,
    "programme.entry_update": _shared_programme_entry,
    "programme.entry_remove": _programme_entry_ref,
    "programme.entry_set_state": _programme_entry_state,
    "programme.create_meeting": _programme_meeting,
    "schedule.entry_add": _b(lambda s, who: {"unit_id": s.world.unit_id, "starts_at": _monday_at(30, 14),
                                             "content": f"Lịch của {who}"}),
    "schedule.entry_update": _shared_schedule_entry,
    "schedule.entry_cancel": _schedule_cancel,
    "schedule.entry_restore": _schedule_cancelled,
    "schedule.entry_remove": _schedule_entry_ref,
    "schedule.publish": _schedule_publish,
    "schedule.create_meeting": _schedule_entry_ref,
    "meeting.update": _b(lambda s, who: {"meeting_id": s.m, "place": f"Phòng họp số {next(_serial)}"}),
    "participant.add": _b(lambda s, who: {"meeting_id": s.m, "full_name": f"Khách mời {who}", "role": "guest"}),
    "participant.update": _participant_update,
    "participant.remove": _participant_remove,
    "agenda.add": _b(lambda s, who: {"meeting_id": s.m, "title": f"Nội dung {who}", "parent_id": s.items[1]}),
    "agenda.update": _b(lambda s, who: {"meeting_id": s.m, "item_id": s.items[0], "presenter": who}),
    "agenda.move": _b(lambda s, who: {"meeting_id": s.m, "item_id": s.items[2], "position": next(_serial) % 3}),
    "agenda.remove": _agenda_remove,
    "meeting.publish": _b(_meeting),
    "agenda.set_current": _b(lambda s, who: {"meeting_id": s.m, "item_id": s.items[next(_serial) % 3]}),
    "meeting.start": _b(_meeting),
    "attendance.check_in": _b(_meeting),
    "attendance.set": _b(lambda s, who: {
        "meeting_id": s.m, "participant_id": s.world.participants["daibieu03"], "status": "absent",
    }),
    # The world's operator sits in the province's unit: that is its point.
    "attendance.point_count": _b(lambda s, who: {"meeting_id": s.m, "point": "BN", "seated": 12}),
    # Polls run while the meeting is in session; each call gets its own throwaway poll.
    "poll.create": _b(lambda s, who: {"meeting_id": s.m, "kind": "motion", "title": f"Biểu quyết của {who}"}),
    "poll.update": _poll_update,
    "poll.delete": _poll_draft,
    "poll.open": _poll_draft,
    "poll.close": _poll_open,
    "poll.publish": _poll_closed,
    "poll.vote": _poll_vote,
    "poll.hands": _poll_hands,
    # The list of speakers, in session: ask, withdraw, approve, order, give and end the floor.
    "speaker.request": _b(lambda s, who: {"meeting_id": s.m, "topic": f"Ý kiến của {who}"}),
    "speaker.withdraw": _speaker_withdraw,
    "speaker.approve": _speaker_approve,
    "speaker.move": _speaker_move,
    "speaker.start": _speaker_start,
    "speaker.stop": _b(_meeting),
    "speaker.summary": _speaker_summary,
    # The online conference, in session: scheduled, communes invited, opened; the province's
    # operator (kythuat) reports for its point; the floor to a commune; locked, unlocked, ended.
    "conference.schedule": _b(_meeting),
    "conference.invite": _conference_invite,
    "conference.uninvite": _conference_uninvite,
    "conference.open": _conference_meeting,
    "point.report": _point_report,
    "point.test_result": _point_test,
    "floor.grant": _floor_grant,
    "floor.revoke": _conference_live,
    "conference.mute_all": _conference_live,
    "conference.lock": _conference_live,
    "conference.unlock": _conference_locked,
    "conference.end": _conference_live,
    "comment_round.open": _b(lambda s, who: {
        "meeting_id": s.m, "title": f"Dự thảo của {who}", "units": [s.world.unit_id],
    }),
    "comment.add": _comment_add,
    "comment.triage": _comment_triage,
    "comment_round.close": _comment_round_close,
    # Documents: each call that consumes one gets its own upload or draft.
    "document.add": _document_add,
    "document.update": _document_update,
    "document.move": _document_move,
    "document.revise": _document_revise,
    "document.remove": _document_draft,
    "document.publish": _document_publish,
    "document.present": _document,
    "document.recall": _document_recall,
    "document.purge_confirm": _purge_confirm,
    # Directives (docs/directives.md), while the meeting is in session (its agenda still open):
    # each step that changes a directive's status gets its own.
    "directive.create": _b(lambda s, who: {
        "meeting_id": s.m, "title": f"Nhiệm vụ của {who}", "lead_unit_id": s.world.unit_id, "deadline": "2027-01-15",
    }),
    "directive.update": _directive_update,
    "directive.report": _directive_report,
    "directive.accept": _directive_accept,
    "directive.cancel": _directive_cancel,
    "directive.reopen": _directive_reopen,
    "directive.add_to_agenda": _directive_to_agenda,
    "meeting.adjourn": _b(_meeting),
    "meeting.resume": _b(_meeting),
    "meeting.close": _b(_meeting),
    # After the meeting (docs/records.md), on the closed meeting: the chair's conclusions, then
    # the minutes and the conclusion notice drafted, edited and made final (once: the others
    # allowed meet invalid_transition).
    "conclusion.set": _b(lambda s, who: {"meeting_id": s.m, "item_id": s.items[0], "text": f"Kết luận ({who})"}),
    "minutes.draft": _b(_meeting),
    "minutes.update": _b(lambda s, who: {"meeting_id": s.m, "number": str(next(_serial))}),
    "minutes.finalise": _b(_meeting),
    "conclusion_notice.draft": _b(_meeting),
    "conclusion_notice.update": _b(lambda s, who: {"meeting_id": s.m, "recipients": [f"Đồng chí {who}"]}),
    "conclusion_notice.issue": _b(_meeting),
}


def test_every_command_has_a_permission_case():
    """A new command without a row here (and in the matrix) fails this test."""
    assert set(PAYLOADS) == set(REGISTRY)
    assert set(REGISTRY) <= set(permissions.MATRIX)


def test_every_role_of_the_world_is_exercised():
    # Every signed-in account holds `account` (comment.add): no world account needs it spelt out.
    seen = set().union(*(roles_of(u) for u in WORLD_ACCOUNTS)) | {permissions.Role.ACCOUNT}
    assert seen == {r.value for r in permissions.Role}
    assert any(not roles_of(u) for u in WORLD_ACCOUNTS)  # an outsider too


async def rest_call(s: Setup, token: str, name: str, data: dict) -> tuple[int, dict]:
    """Send the command by its own route; path parameters come out of the payload."""
    spec = REGISTRY[name]
    assert spec.route is not None, f"{name} has no REST route"
    method, path = spec.route
    body = dict(data)
    for param in re.findall(r"{(\w+)}", path):
        path = path.replace(f"{{{param}}}", str(body.pop(param)))
    kwargs = {"json": body} if body or method not in ("DELETE",) else {}
    return await s.live.request(method, path, token=token, headers={"Idempotency-Key": new_key()}, **kwargs)


async def test_matrix_over_rest(world):
    s = Setup(world)
    await s.load()
    succeeded: dict[str, list[str]] = {name: [] for name in PAYLOADS}
    problems = []
    for name, build in PAYLOADS.items():
        for who in ACCOUNTS:
            data = await build(s, who)
            allowed = permissions.allowed(name, roles_of(who))
            status, body = await rest_call(s, world.tokens[who], name, data)
            if allowed:
                if status == 403 or status == 422 or status >= 500:
                    problems.append((name, who, "allowed", status, body))
                elif status == 200:
                    succeeded[name].append(who)
            else:
                if status != 403 or body["error"]["code"] != "forbidden":
                    problems.append((name, who, "denied", status, body))
                # The catch-all route says the same.
                status, body = await s.live.request("POST", f"/api/commands/{name}", token=world.tokens[who], json=data)
                if status != 403 or body["error"]["code"] != "forbidden":
                    problems.append((name, who, "denied (generic route)", status, body))
    assert problems == []
    # The payloads are real: every command ran at least once, for its narrowest role.
    assert [n for n, who in succeeded.items() if not who] == []
    assert succeeded["meeting.start"][0] == "chutri"
    assert succeeded["meeting.publish"][0] == "thuky"
    assert succeeded["attendance.check_in"][0] == "kythuat"


async def test_matrix_over_socketio(world):
    s = Setup(world)
    await s.load()
    clients: dict[str, socketio.AsyncClient] = {}
    try:
        for who in ACCOUNTS:
            clients[who] = await world.live.socket(world.tokens[who])
        succeeded: dict[str, list[str]] = {name: [] for name in PAYLOADS}
        problems = []
        for name, build in PAYLOADS.items():
            for who in ACCOUNTS:
                data = await build(s, who)
                allowed = permissions.allowed(name, roles_of(who))
                ack = await clients[who].call("command", {"name": name, "key": new_key(), "data": data}, timeout=15)
                code = None if ack.get("ok") else ack["error"]["code"]
                if allowed:
                    if code in ("forbidden", "invalid", "internal", "unauthorized"):
                        problems.append((name, who, "allowed", ack))
                    elif ack.get("ok"):
                        succeeded[name].append(who)
                elif ack != {"ok": False, "error": {"code": "forbidden", "message": ack.get("error", {}).get("message")}}:
                    problems.append((name, who, "denied", ack))
        assert problems == []
        assert [n for n, who in succeeded.items() if not who] == []
    finally:
        for client in clients.values():
            await client.disconnect()


# ---------------------------------------------------------------- authentication

PUBLIC_EXACT = {"/", "/console", "/projector", "/bridge", "/ops", "/healthz", "/metrics", "/api/openapi.json",
                "/api/auth/login", "/api/auth/pair",
                "/api/calendar/{token}.ics"}  # the secret URL is the key (docs/programmes.md)
PUBLIC_PREFIXES = ("/static/", "/vendor", "/socket.io")


def protected_routes(app) -> list[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        if route.method in ("HEAD", "*") or path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES):
            continue
        path = path.replace("{name}", "meeting.create")
        out.add((route.method, re.sub(r"{\w+}", "1", path)))
    return sorted(out)


async def _account(live, username: str, roles: list[str]) -> None:
    from server.auth.passwords import hash_password
    from server.store.tables import User
    from tests.conftest import TEST_PASSWORD

    async with live.app["db"].write() as db:
        db.add(User(username=username, full_name="Lê Văn Phòng", password_hash=hash_password(TEST_PASSWORD), roles=roles))


async def test_every_protected_route_wants_a_valid_session(live):
    await _account(live, "vanphong", ["secretariat"])
    revoked = await live.login("vanphong")
    status, _ = await live.request("POST", "/api/auth/logout", token=revoked)
    assert status == 200
    still_good = await live.login("vanphong")

    routes = protected_routes(live.app)
    # The table is not empty and holds every command route and the reads.
    paths = {p for _, p in routes}
    assert "/api/meetings/1" in paths and "/api/commands/meeting.create" in paths
    assert len(routes) >= len([s for s in REGISTRY.values() if s.route]) + 8
    problems = []
    for method, path in routes:
        for label, headers in (
            ("none", {}),
            ("forged", {"Authorization": "Bearer " + "x" * 43}),
            ("not bearer", {"Authorization": "Basic dmFucGhvbmc6bWF0a2hhdQ=="}),
            ("revoked", {"Authorization": f"Bearer {revoked}"}),
        ):
            status, body = await live.request(method, path, headers=dict(headers), json={})
            if status != 401 or not isinstance(body, dict) or body.get("error", {}).get("code") != "unauthorized":
                problems.append((method, path, label, status, body))
    assert problems == []
    # The good session still works: the 401s were about the tokens.
    status, _ = await live.request("GET", "/api/auth/me", token=still_good)
    assert status == 200


async def _refused(live, auth) -> dict:
    """Connect with `auth`; the connection must be refused. Returns the connect_error data."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list = []
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live.url, auth=auth, transports=["websocket"], wait_timeout=10)
    assert not client.connected
    return errors[0] if errors else {}


BAD_AUTH = [None, {}, {"token": ""}, {"token": "x" * 43}, {"token": 12345}, {"token": "y" * 500}, "token"]


async def test_socketio_refuses_connections_without_a_valid_token(live):
    await _account(live, "vanphong", ["secretariat"])
    revoked = await live.login("vanphong")
    await live.request("POST", "/api/auth/logout", token=revoked)
    for auth in [*BAD_AUTH, {"token": revoked}]:
        data = await _refused(live, auth)
        assert "unauthorized" in str(data), (auth, data)
    # A good token connects.
    client = await live.socket(await live.login("vanphong"))
    assert client.connected
    await client.disconnect()


async def test_a_refused_connection_says_unauthorized_as_data(live):
    """docs/protocol.md: the connect_error carries {"code": "unauthorized"} (socket.io: `err.data`)."""
    data = await _refused(live, {"token": "x" * 43})
    assert data.get("data", {}).get("code") == "unauthorized", data


async def test_a_revoked_session_stops_an_open_socket(world):
    """The session is checked on each message: the ack says unauthorized, then the server hangs up."""
    live = world.live
    token = await live.login("daibieu01")
    client = await live.socket(token)
    try:
        ack = await client.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"  # a draft: not for delegates
        status, _ = await live.request("POST", "/api/auth/logout", token=token)
        assert status == 200
        head = (await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"]))[1]
        ack = None
        with contextlib.suppress(socketio.exceptions.TimeoutError):
            ack = await client.call(
                "command", {"name": "attendance.check_in", "data": {"meeting_id": world.meeting_id}}, timeout=5
            )
        for _ in range(50):
            if not client.connected:
                break
            await asyncio.sleep(0.05)
        assert not client.connected, "the server keeps a socket whose session ended"
        after = (await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"]))[1]
        assert after == head
        assert ack is not None, "no ack: the server hung up before answering"
        assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    finally:
        if client.connected:
            await client.disconnect()


# ---------------------------------------------------------------- reads


async def test_an_outsider_sees_nothing(world):
    live, token = world.live, world.tokens["nguoingoai"]
    for status_needed in ("draft", "published"):
        status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=token)
        assert status == 404 and body["error"]["code"] == "not_found", status_needed
        status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}/events?since=0", token=token)
        assert status == 404
        status, body = await live.request("GET", "/api/meetings", token=token)
        assert status == 200 and body == {"meetings": []}
        status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    # A meeting that does not exist looks the same as one they may not see.
    status, body = await live.request("GET", "/api/meetings/999999", token=token)
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_a_delegate_reads_a_meeting_once_it_is_published(world):
    live, token = world.live, world.tokens["daibieu01"]
    status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=token)
    assert status == 404
    status, body = await live.request("GET", "/api/meetings", token=token)
    assert body == {"meetings": []}
    for who in ("admin", "vanphong", "thuky", "chutri"):  # staff and the chair prepare the draft
        status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
        assert status == 200, who
        status, body = await live.request("GET", "/api/meetings", token=world.tokens[who])
        assert [m["id"] for m in body["meetings"]] == [world.meeting_id], who
    for who in ("khach", "quansat", "kythuat"):
        status, _ = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
        assert status == 404, who

    status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=token)
    assert status == 200
    assert body["meeting"]["status"] == "published"
    assert body["me"] == {"participant_id": world.participants["daibieu01"], "role": "delegate"}
    status, body = await live.request("GET", "/api/meetings", token=token)
    assert [m["id"] for m in body["meetings"]] == [world.meeting_id]
    for who in ("khach", "quansat", "kythuat"):
        status, _ = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
        assert status == 200, who


async def test_the_secretariat_audience_is_not_for_delegates(world):
    """Events meant for the secretariat never reach a delegate's catch-up."""
    live = world.live
    await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    for who in WORLD_ACCOUNTS:
        status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}/events?since=0",
                                          token=world.tokens[who])
        if status == 200:
            audiences = {e["audience"] for e in body.get("events", [])}
            sees_secretariat = bool(roles_of(who) & permissions.SECRETARIAT_AUDIENCE)
            assert "secretariat" not in audiences or sees_secretariat, who
            assert all(a in ("meeting", "secretariat", f"user:{world.users[who]}") for a in audiences), who
