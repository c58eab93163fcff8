"""The database tables. Alembic migrations under `store/migrations/` create them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Stored as UTC; always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must carry a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Unit(Base):
    """A node of the organisation tree; the level's name is data ("Tỉnh", "Xã")."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list] = mapped_column(JSON, default=list)  # global roles: admin, secretariat
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A tablet or bridge-point machine bound to an account by a pairing code."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    paired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PairingCode(Base):
    __tablename__ = "pairing_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Session(Base):
    """An opaque bearer token, stored as its SHA-256 only."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    place: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    quorum: Mapped[str] = mapped_column(String(20), default="2/3")
    current_item_id: Mapped[int | None] = mapped_column(Integer)
    # The page on the projector: {"document_id", "version_id", "page"}, or None.
    presenting: Mapped[dict | None] = mapped_column(JSON)
    # The last sequence number of this meeting's event log; bumped in the same
    # transaction that appends, and its row lock serialises writers on PostgreSQL.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    presenter: Mapped[str] = mapped_column(String(300), default="")
    planned_minutes: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")  # chức vụ
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20))
    voting: Mapped[bool] = mapped_column(Boolean, default=False)


class Attendance(Base):
    __tablename__ = "attendance"
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PointAttendance(Base):
    """How many people sit at a bridge point, as its operator reports it."""

    __tablename__ = "point_attendance"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    seated: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Event(Base):
    """The meeting's event log: gap-free `seq` per meeting; `prev` chains one audience."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_audience", "meeting_id", "audience", "seq"),)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    prev: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommandResult(Base):
    """The first result of each idempotency key, so that a retry changes nothing."""

    __tablename__ = "command_results"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(60))
    result: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Deliberation: polls, the list of speakers, comments on drafts -------------------


class Poll(Base):
    """A vote. The definition is fixed once it opens; `entitled` and `members` are frozen then."""

    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # motion | choice | election
    title: Mapped[str] = mapped_column(String(500))
    options: Mapped[list] = mapped_column(JSON, default=list)  # [{"id", "label"}]
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    min_selections: Mapped[int] = mapped_column(Integer, default=1)
    max_selections: Mapped[int] = mapped_column(Integer, default=1)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    majority: Mapped[dict] = mapped_column(JSON)  # {"base", "threshold", "strict"}
    quorum: Mapped[str] = mapped_column(String(20), default="2/3")
    quorum_of: Mapped[str] = mapped_column(String(20), default="present")
    may_change_vote: Mapped[bool] = mapped_column(Boolean, default=False)
    duration: Mapped[int | None] = mapped_column(Integer)  # seconds; None: until closed
    state: Mapped[str] = mapped_column(String(20), default="draft")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entitled: Mapped[list] = mapped_column(JSON, default=list)  # participant ids, frozen at the opening
    points_present: Mapped[dict] = mapped_column(JSON, default=dict)  # bridge point -> people there
    members: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)  # computed at the close, kept with the record
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollVoter(Base):
    """Who has voted in a poll: one row per voter, enforced by the primary key.

    For a secret poll this is all that is kept about the voter; the choice lives in
    SecretBallot with nothing that points back here. No time is stored.
    """

    __tablename__ = "poll_voters"
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)


class NamedBallot(Base):
    """The choice of one voter in an open (named) poll."""

    __tablename__ = "named_ballots"
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    selections: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="valid")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecretBallot(Base):
    """A secret ballot: the choice and the voter's receipt code, and nothing else.

    The key is random (no sequence), there is no time, and the table has no rowid on
    SQLite (its rows are kept in key order, not insertion order); see docs/ballot-secrecy.md.
    """

    __tablename__ = "secret_ballots"
    __table_args__ = {"sqlite_with_rowid": False}
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), index=True)
    selections: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="valid")
    receipt: Mapped[str] = mapped_column(String(40))


class PointCount(Base):
    """A show of hands at a bridge point, entered by the point's secretary."""

    __tablename__ = "poll_point_counts"
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    point: Mapped[str] = mapped_column(String(64), primary_key=True)  # the point's unit code
    counts: Mapped[dict] = mapped_column(JSON)  # option id -> hands
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpeakerRequest(Base):
    """A request to speak, and once given the floor, the speech itself (for the minutes)."""

    __tablename__ = "speaker_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    point: Mapped[str | None] = mapped_column(String(64))  # a bridge point's unit code, when a point asks
    topic: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20), default="ordinary")  # ordinary | point_of_order
    state: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting|approved|speaking|done|withdrawn
    position: Mapped[int] = mapped_column(Integer, default=0)
    limit_seconds: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")  # typed by the secretary for the minutes


class CommentRound(Base):
    """A call for comments on a draft, in the hall or before the meeting, across units."""

    __tablename__ = "comment_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    document_id: Mapped[int | None] = mapped_column(Integer)  # the draft; documents land with meeting packs
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    units: Mapped[list] = mapped_column(JSON, default=list)  # unit ids asked; empty: the meeting's participants
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("comment_rounds.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    anchor: Mapped[dict] = mapped_column(JSON)  # {"kind": "page"|"passage"|"item", ...}
    section: Mapped[str] = mapped_column(String(300), default="")  # the part of the draft, for grouping
    text: Mapped[str] = mapped_column(Text)
    proposed_text: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(20), default="secretariat")  # secretariat | all
    decision: Mapped[str | None] = mapped_column(String(20))  # accepted | explained | noted
    explanation: Mapped[str] = mapped_column(Text, default="")
    triaged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """A file received for a meeting, stored by its SHA-256 (agendas/storage.py); a
    document is made from it by `document.add` or `document.revise`."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # pdf | jpeg | png | office
    size: Mapped[int] = mapped_column(BigInteger)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)
    access: Mapped[str] = mapped_column(String(20), default="open")  # open | restricted | confidential
    readers: Mapped[dict] = mapped_column(JSON)  # {"participant_ids": [...], "roles": [...]}
    classification: Mapped[str] = mapped_column(String(100), default="")
    # What readers read: the newest version with a page ready (no FK: versions point here).
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a draft taken out before publication
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="rendering")  # rendering | ready | failed
    pages_ready: Mapped[int] = mapped_column(Integer, default=0)
    pages_total: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    seconds: Mapped[float | None] = mapped_column(Float)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentPage(Base):
    """One rendered page: its images by SHA-256 (files <sha>.jpg) and its text for search."""

    __tablename__ = "document_pages"
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based
    tablet: Mapped[str] = mapped_column(String(64))
    zoom: Mapped[str] = mapped_column(String(64))
    thumb: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    folded: Mapped[str] = mapped_column(Text, default="")  # domain.text.fold(text)


class DocumentHolder(Base):
    """A tablet (a paired device, or a browser session) that fetched a document's pages:
    after a recall, it owes a purge receipt."""

    __tablename__ = "document_holders"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    client: Mapped[str] = mapped_column(String(40), primary_key=True)  # device:<id> | session:<id>
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_name: Mapped[str] = mapped_column(String(200), default="")
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recall(Base):
    __tablename__ = "recalls"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    document_ids: Mapped[list] = mapped_column(JSON)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PurgeReceipt(Base):
    __tablename__ = "purge_receipts"
    recall_id: Mapped[int] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    client: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Note(Base):
    """A reader's private note on a page; its id is made by the client (a retry is harmless)."""

    __tablename__ = "notes"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"))
    page: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # text | highlight | ink
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- After the meeting: the chair's conclusions, the minutes and the conclusion notice ---


class Conclusion(Base):
    """The chair's conclusion on one agenda item (kết luận của chủ trì), for the minutes and
    the conclusion notice."""

    __tablename__ = "conclusions"
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingRecord(Base):
    """A document made from the session's record: the minutes (biên bản) or the conclusion
    notice (thông báo kết luận). A draft the secretariat edits (`content`, server/domain/records.py),
    then final: frozen, its DOCX and PDF stored by SHA-256 (the PDF signed when a certificate
    is configured)."""

    __tablename__ = "meeting_records"
    __table_args__ = (UniqueConstraint("meeting_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # minutes | conclusion_notice
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | final
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every change
    content: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    docx_sha256: Mapped[str | None] = mapped_column(String(64))
    docx_size: Mapped[int | None] = mapped_column(BigInteger)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None] = mapped_column(BigInteger)
    signed_by: Mapped[str | None] = mapped_column(String(500))  # the signing certificate's subject


# --- After the meeting: directives and their follow-up (docs/directives.md) ------------


class Directive(Base):
    """A directive (ý kiến chỉ đạo, nhiệm vụ) given at a meeting, from the chair's conclusion on
    an item or added by the secretariat. Whether it is overdue is never stored: it is read from
    `deadline` and today's date in Vietnam (server/domain/directives.py)."""

    __tablename__ = "directives"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    # The item whose conclusion it comes from; None: added directly.
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text, default="")
    folded: Mapped[str] = mapped_column(Text, default="")  # domain.text.fold(title, content): search
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # đơn vị chủ trì
    deadline: Mapped[date | None] = mapped_column(Date)  # a day in Asia/Ho_Chi_Minh
    status: Mapped[str] = mapped_column(String(20), default="new")  # new|in_progress|reported|completed|cancelled
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, from the last report
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last report
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DirectiveUnit(Base):
    """A coordinating unit (đơn vị phối hợp) of a directive."""

    __tablename__ = "directive_units"
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DirectivePerson(Base):
    """A person responsible for a directive."""

    __tablename__ = "directive_people"
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DirectiveReport(Base):
    """A progress report (báo cáo tiến độ) by a responsible person or unit."""

    __tablename__ = "directive_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), index=True)
    percent: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # the reporter's unit then
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirectiveEvidence(Base):
    """A file attached as evidence, stored by its SHA-256 (agendas/storage.py). Uploaded first,
    then attached to a report by `directive.report` (`report_id` is None until then)."""

    __tablename__ = "directive_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("directive_reports.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # pdf | jpeg | png | office
    size: Mapped[int] = mapped_column(BigInteger)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirectiveHistory(Base):
    """One step in a directive's life: created, updated, reported, accepted, cancelled,
    reopened, scheduled (put on a meeting's agenda)."""

    __tablename__ = "directive_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # the status after the step
    note: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [old, new]}
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirectiveAgendaLink(Base):
    """A directive brought back on a later meeting's agenda, to review how it was carried out."""

    __tablename__ = "directive_agenda_links"
    directive_id: Mapped[int] = mapped_column(ForeignKey("directives.id", ondelete="CASCADE"), primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)


# --- Work programmes, the weekly schedule and calendar feeds (docs/programmes.md) ------


class Programme(Base):
    """A unit's annual or monthly work programme (chương trình công tác năm / tháng)."""

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(10))  # annual | monthly
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int | None] = mapped_column(Integer)  # monthly programmes only
    period: Mapped[str] = mapped_column(String(7))  # "2026" | "2026-03": one programme per unit and period
    title: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | published
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProgrammeEntry(Base):
    __tablename__ = "programme_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(30))  # server/domain/programmes.py EntryKind
    preparing_unit: Mapped[str] = mapped_column(String(300), default="")  # cơ quan chủ trì chuẩn bị, as printed
    preparing_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    due_month: Mapped[int | None] = mapped_column(Integer)  # annual programmes: a month...
    due_quarter: Mapped[int | None] = mapped_column(Integer)  # ...or a quarter
    due_date: Mapped[date | None] = mapped_column(Date)  # monthly programmes: the day
    state: Mapped[str] = mapped_column(String(20), default="planned")
    reason: Mapped[str] = mapped_column(Text, default="")  # why postponed or cancelled
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleWeek(Base):
    """A unit's schedule for one ISO week: a draft, then published (issue 1) and reissued with
    numbered amendments (issue 2 is "điều chỉnh lần 1")."""

    __tablename__ = "schedule_weeks"
    __table_args__ = (UniqueConstraint("unit_id", "year", "week"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)  # the ISO year
    week: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="draft")  # draft | published
    issue: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ScheduleEntry(Base):
    __tablename__ = "schedule_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("schedule_weeks.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[str] = mapped_column(Text)
    presiding: Mapped[str] = mapped_column(String(300), default="")  # chủ trì, as printed
    presiding_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    attendees_note: Mapped[str] = mapped_column(Text, default="")  # thành phần, as printed
    preparing_unit: Mapped[str] = mapped_column(String(300), default="")
    preparing_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | cancelled
    reason: Mapped[str] = mapped_column(Text, default="")  # why cancelled
    amendment: Mapped[int | None] = mapped_column(Integer)  # the amendment that last changed it
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE: bumped by every change
    programme_entry_id: Mapped[int | None] = mapped_column(ForeignKey("programme_entries.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleAttendee(Base):
    """An account that attends a schedule entry (for its calendar feed and the clash check)."""

    __tablename__ = "schedule_attendees"
    entry_id: Mapped[int] = mapped_column(ForeignKey("schedule_entries.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class ScheduleChange(Base):
    """A change to a published week, numbered by the amendment that will carry it."""

    __tablename__ = "schedule_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("schedule_weeks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("schedule_entries.id"))
    kind: Mapped[str] = mapped_column(String(20))  # added | changed | cancelled | restored
    summary: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """A person's secret calendar URL: the token is derived from the server's key and `nonce`
    (so the owner can see the link again), and found by its SHA-256; a new nonce rotates it."""

    __tablename__ = "calendar_feeds"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRecord(Base):
    """One security-relevant act (SECURITY.md). Append-only (database triggers refuse UPDATE
    and DELETE) and chained: `hash` is the SHA-256 of the record's canonical encoding with
    `prev_hash`, the hash of the record before it (server/store/audit.py). Ids are given in
    order under a lock, one after the other: a missing id is a deleted record."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), default="")  # the account's username then; "" anonymous
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_session_id: Mapped[int | None] = mapped_column(Integer)
    actor_device_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="", index=True)  # "user:5", "poll:3", "document:7"
    meeting_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # unique: the chain cannot fork
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- The online conference across the tree (docs/conference.md) -------------------------


class Conference(Base):
    """A meeting's online conference: its host point, its state, who holds the floor."""

    __tablename__ = "conferences"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    host_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # its feed is the main feed
    state: Mapped[str] = mapped_column(String(20), default="scheduled")  # scheduled|open|locked|ended
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The point whose feed is the main feed instead of the host's, and the speech that gave it.
    floor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    floor_request_id: Mapped[int | None] = mapped_column(Integer)
    mute_all: Mapped[bool] = mapped_column(Boolean, default=False)  # every point but the floor's mutes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConferencePoint(Base):
    """A bridge point (điểm cầu) invited to a conference: a unit of the tree, its operator.

    Its state is derived (server/domain/conference.py) from its presence, which the live
    board writes (server/conference/board.py), its connection test, which `point.test_result`
    writes, and the conference's state."""

    __tablename__ = "conference_points"
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    operator_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Presence, as the server saw it (server/domain/conference.Presence).
    ever_online: Mapped[bool] = mapped_column(Boolean, default=False)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    media: Mapped[bool] = mapped_column(Boolean, default=False)
    lost: Mapped[bool] = mapped_column(Boolean, default=False)
    presence_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it last changed
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last confirmed by the process holding it
    # Its link now: class (normal|degraded|critical, with hysteresis) and the last figures.
    link: Mapped[str | None] = mapped_column(String(20))
    loss: Mapped[float | None] = mapped_column(Float)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float)
    link_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last connection test (kiểm tra kết nối): passed or not, and its figures.
    test_passed: Mapped[bool | None] = mapped_column(Boolean)
    test: Mapped[dict | None] = mapped_column(JSON)
    test_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkSample(Base):
    """A point's link over `span` seconds: a few seconds while fresh, a minute once merged
    (server/domain/conference.SamplePolicy); dropped after the policy's time."""

    __tablename__ = "conference_link_samples"
    __table_args__ = (Index("ix_conference_link_samples_point", "conference_id", "unit_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    span: Mapped[int] = mapped_column(Integer)  # seconds
    loss: Mapped[float] = mapped_column(Float)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[str] = mapped_column(String(20))
