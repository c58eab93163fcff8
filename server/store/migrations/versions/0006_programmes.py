"""programmes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 08:30:00
"""

import sqlalchemy as sa
from alembic import op

import server.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("published_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_programmes_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("unit_id", "period", name=op.f("uq_programmes_unit_id_period")),
    )
    op.create_table(
        "programme_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("preparing_unit", sa.String(length=300), nullable=False),
        sa.Column("preparing_unit_id", sa.Integer(), nullable=True),
        sa.Column("due_month", sa.Integer(), nullable=True),
        sa.Column("due_quarter", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_programme_entries_meeting_id_meetings")),
        sa.ForeignKeyConstraint(
            ["preparing_unit_id"], ["units.id"], name=op.f("fk_programme_entries_preparing_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_programme_entries_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_entries")),
    )
    with op.batch_alter_table("programme_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programme_entries_programme_id"), ["programme_id"], unique=False)

    op.create_table(
        "schedule_weeks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("published_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], name=op.f("fk_schedule_weeks_published_by_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_schedule_weeks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_weeks")),
        sa.UniqueConstraint("unit_id", "year", "week", name=op.f("uq_schedule_weeks_unit_id_year_week")),
    )
    op.create_table(
        "schedule_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("presiding", sa.String(length=300), nullable=False),
        sa.Column("presiding_user_id", sa.Integer(), nullable=True),
        sa.Column("attendees_note", sa.Text(), nullable=False),
        sa.Column("preparing_unit", sa.String(length=300), nullable=False),
        sa.Column("preparing_unit_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amendment", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("programme_entry_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_schedule_entries_meeting_id_meetings")),
        sa.ForeignKeyConstraint(
            ["preparing_unit_id"], ["units.id"], name=op.f("fk_schedule_entries_preparing_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["presiding_user_id"], ["users.id"], name=op.f("fk_schedule_entries_presiding_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["programme_entry_id"],
            ["programme_entries.id"],
            name=op.f("fk_schedule_entries_programme_entry_id_programme_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["week_id"], ["schedule_weeks.id"], name=op.f("fk_schedule_entries_week_id_schedule_weeks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_entries")),
    )
    with op.batch_alter_table("schedule_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_entries_presiding_user_id"), ["presiding_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_entries_week_id"), ["week_id"], unique=False)

    op.create_table(
        "schedule_attendees",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["schedule_entries.id"],
            name=op.f("fk_schedule_attendees_entry_id_schedule_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_schedule_attendees_user_id_users")),
        sa.PrimaryKeyConstraint("entry_id", "user_id", name=op.f("pk_schedule_attendees")),
    )
    with op.batch_alter_table("schedule_attendees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_attendees_user_id"), ["user_id"], unique=False)

    op.create_table(
        "schedule_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], name=op.f("fk_schedule_changes_by_user_id_users")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["schedule_entries.id"], name=op.f("fk_schedule_changes_entry_id_schedule_entries")
        ),
        sa.ForeignKeyConstraint(
            ["week_id"], ["schedule_weeks.id"], name=op.f("fk_schedule_changes_week_id_schedule_weeks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_changes")),
    )
    with op.batch_alter_table("schedule_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_changes_week_id"), ["week_id"], unique=False)

    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("schedule_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_changes_week_id"))
    op.drop_table("schedule_changes")
    with op.batch_alter_table("schedule_attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_attendees_user_id"))
    op.drop_table("schedule_attendees")
    with op.batch_alter_table("schedule_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_entries_week_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_entries_presiding_user_id"))
    op.drop_table("schedule_entries")
    op.drop_table("schedule_weeks")
    with op.batch_alter_table("programme_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_entries_programme_id"))
    op.drop_table("programme_entries")
    op.drop_table("programmes")
