"""conference

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import server.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("host_unit_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("starts_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("floor_unit_id", sa.Integer(), nullable=True),
        sa.Column("floor_request_id", sa.Integer(), nullable=True),
        sa.Column("mute_all", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["floor_unit_id"], ["units.id"], name=op.f("fk_conferences_floor_unit_id_units")),
        sa.ForeignKeyConstraint(["host_unit_id"], ["units.id"], name=op.f("fk_conferences_host_unit_id_units")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_conferences_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conferences")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_conferences_meeting_id")),
    )
    op.create_table(
        "conference_points",
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("operator_user_id", sa.Integer(), nullable=True),
        sa.Column("invited_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ever_online", sa.Boolean(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("media", sa.Boolean(), nullable=False),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.Column("presence_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("link", sa.String(length=20), nullable=True),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("bitrate_kbps", sa.Float(), nullable=True),
        sa.Column("link_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("test_passed", sa.Boolean(), nullable=True),
        sa.Column("test", sa.JSON(), nullable=True),
        sa.Column("test_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conference_id"], ["conferences.id"], name=op.f("fk_conference_points_conference_id_conferences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_conference_points_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["operator_user_id"], ["users.id"], name=op.f("fk_conference_points_operator_user_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_conference_points_unit_id_units")),
        sa.PrimaryKeyConstraint("conference_id", "unit_id", name=op.f("pk_conference_points")),
    )
    with op.batch_alter_table("conference_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conference_points_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conference_points_operator_user_id"), ["operator_user_id"], unique=False)

    op.create_table(
        "conference_link_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("bitrate_kbps", sa.Float(), nullable=True),
        sa.Column("quality", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["conference_id"], ["conferences.id"],
            name=op.f("fk_conference_link_samples_conference_id_conferences"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_link_samples")),
    )
    with op.batch_alter_table("conference_link_samples", schema=None) as batch_op:
        batch_op.create_index("ix_conference_link_samples_point", ["conference_id", "unit_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conference_link_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_conference_link_samples_point")
    op.drop_table("conference_link_samples")
    with op.batch_alter_table("conference_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conference_points_operator_user_id"))
        batch_op.drop_index(batch_op.f("ix_conference_points_meeting_id"))
    op.drop_table("conference_points")
    op.drop_table("conferences")
