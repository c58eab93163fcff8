"""Who may run which command: the permission matrix, in one table.

A caller's roles are the union of their global roles (admin, secretariat) and their
role in the meeting the command is about. Every command is listed here; a command
missing from the table is refused for everyone (see `allowed`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    # global
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    # per meeting
    CHAIR = "chair"
    SECRETARY = "secretary"
    DELEGATE = "delegate"
    GUEST = "guest"
    OBSERVER = "observer"
    OPERATOR = "operator"  # bridge-point operator
    # every signed-in account, for commands whose handler decides from the data (a comment
    # round addressed to units is open to the accounts of those units, participants or not)
    ACCOUNT = "account"


# Members vote by default; guests, observers and bridge-point operators attend without a vote.
VOTES_BY_DEFAULT = frozenset({Role.CHAIR, Role.SECRETARY, Role.DELEGATE})
GLOBAL_ROLES = frozenset({Role.ADMIN, Role.SECRETARIAT})
MEETING_ROLES = frozenset(set(Role) - GLOBAL_ROLES - {Role.ACCOUNT})
PARTICIPANT = frozenset(MEETING_ROLES)
STAFF = frozenset({Role.ADMIN, Role.SECRETARIAT, Role.SECRETARY})
# Those who may see the secretariat's audience of the event log.
SECRETARIAT_AUDIENCE = STAFF | {Role.CHAIR}
# The office of the party committee: writes the programmes and the weekly schedule, reads their drafts.
OFFICE = frozenset({Role.ADMIN, Role.SECRETARIAT})

MATRIX: dict[str, frozenset[Role]] = {
    "unit.create": frozenset({Role.ADMIN}),
    "unit.update": frozenset({Role.ADMIN}),
    "user.create": frozenset({Role.ADMIN}),
    "device.pairing_code": frozenset({Role.ADMIN, Role.SECRETARIAT}),
    "meeting.create": frozenset({Role.ADMIN, Role.SECRETARIAT}),
    "meeting.import": frozenset({Role.ADMIN, Role.SECRETARIAT}),
    "meeting.update": STAFF,
    "meeting.publish": STAFF,
    "meeting.start": STAFF | {Role.CHAIR},
    "meeting.adjourn": STAFF | {Role.CHAIR},
    "meeting.resume": STAFF | {Role.CHAIR},
    "meeting.close": STAFF | {Role.CHAIR},
    "agenda.add": STAFF,
    "agenda.update": STAFF,
    "agenda.move": STAFF,
    "agenda.remove": STAFF,
    "agenda.set_current": STAFF | {Role.CHAIR},
    "participant.add": STAFF,
    "participant.update": STAFF,
    "participant.remove": STAFF,
    "attendance.check_in": PARTICIPANT,
    "attendance.set": STAFF,
    # The operator may report only its own point; the handler checks which.
    "attendance.point_count": STAFF | {Role.OPERATOR},
    "poll.create": STAFF,
    "poll.update": STAFF,
    "poll.delete": STAFF,
    "poll.open": STAFF | {Role.CHAIR},
    "poll.close": STAFF | {Role.CHAIR},
    "poll.publish": STAFF | {Role.CHAIR},
    # Entitlement (a voting right, checked in when the poll opened) is checked by the handler.
    "poll.vote": PARTICIPANT,
    "poll.hands": STAFF | {Role.OPERATOR},
    "speaker.request": PARTICIPANT - {Role.OBSERVER},
    "speaker.withdraw": STAFF | PARTICIPANT,  # the handler lets only the author or staff withdraw
    "speaker.approve": STAFF | {Role.CHAIR},
    "speaker.move": STAFF | {Role.CHAIR},
    "speaker.start": STAFF | {Role.CHAIR},
    "speaker.stop": STAFF | {Role.CHAIR},
    "speaker.summary": STAFF,
    # The online conference (docs/conference.md): the secretariat schedules and invites; the chair
    # (or the secretariat) runs it and the floor; a point's operator reports for its own point (the
    # handler checks which). A point asks for the floor with speaker.request.
    "conference.schedule": STAFF,
    "conference.invite": STAFF,
    "conference.uninvite": STAFF,
    "conference.open": STAFF | {Role.CHAIR},
    "conference.lock": STAFF | {Role.CHAIR},
    "conference.unlock": STAFF | {Role.CHAIR},
    "conference.end": STAFF | {Role.CHAIR},
    "conference.mute_all": STAFF | {Role.CHAIR},
    "floor.grant": STAFF | {Role.CHAIR},
    "floor.revoke": STAFF | {Role.CHAIR},
    "point.report": STAFF | {Role.OPERATOR},
    "point.test_result": STAFF | {Role.OPERATOR},
    "comment_round.open": STAFF,
    "comment_round.close": STAFF,
    # Participants, and in a round addressed to units any account of those units: the handler checks.
    "comment.add": frozenset({Role.ACCOUNT}),
    "comment.triage": STAFF,
    "document.add": STAFF,
    "document.update": STAFF,
    "document.move": STAFF,
    "document.revise": STAFF,
    "document.remove": STAFF,
    "document.publish": STAFF,
    "document.recall": STAFF,
    "document.present": STAFF | {Role.CHAIR},
    # Any tablet that held a copy; the receipt is the caller's own.
    "document.purge_confirm": frozenset({Role.ACCOUNT}),
    # After the meeting (docs/records.md): the chair concludes, the secretariat writes it up.
    "conclusion.set": STAFF | {Role.CHAIR},
    "minutes.draft": STAFF,
    "minutes.update": STAFF,
    "minutes.finalise": STAFF,
    "conclusion_notice.draft": STAFF,
    "conclusion_notice.update": STAFF,
    "conclusion_notice.issue": STAFF,
    # Directives (docs/directives.md): the secretariat assigns, accepts, cancels, reopens and
    # brings them back on a later agenda; the responsible people and the accounts of the
    # responsible units (and of the units below them) report: the handler checks who answers for it.
    "directive.create": STAFF,
    "directive.update": STAFF,
    "directive.report": frozenset({Role.ACCOUNT}),
    "directive.accept": STAFF,
    "directive.cancel": STAFF,
    "directive.reopen": STAFF,
    "directive.add_to_agenda": STAFF,
    # Work programmes and the weekly schedule (docs/programmes.md): the office (văn phòng cấp ủy)
    # writes them; everyone signed in reads what is published (the read routes check that).
    **{name: OFFICE for name in (
        "programme.create", "programme.update", "programme.publish",
        "programme.entry_add", "programme.entry_update", "programme.entry_remove", "programme.entry_set_state",
        "programme.create_meeting",
        "schedule.entry_add", "schedule.entry_update", "schedule.entry_cancel", "schedule.entry_restore",
        "schedule.entry_remove", "schedule.publish", "schedule.create_meeting",
    )},
}

# Reading a meeting: any participant once published; drafts only its staff.
READ_MEETING = STAFF | PARTICIPANT
READ_DRAFT = STAFF | {Role.CHAIR}


def allowed(command: str, roles: set[str] | frozenset[str]) -> bool:
    permitted = MATRIX.get(command)
    return bool(permitted) and any(r in permitted for r in {*roles, Role.ACCOUNT})
