"""directives

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:30:00
"""

import sqlalchemy as sa
from alembic import op

import server.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("lead_unit_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", server.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agenda_item_id"], ["agenda_items.id"],
                                name=op.f("fk_directives_agenda_item_id_agenda_items"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_directives_created_by_users")),
        sa.ForeignKeyConstraint(["lead_unit_id"], ["units.id"], name=op.f("fk_directives_lead_unit_id_units")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_directives_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
    )
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directives_lead_unit_id"), ["lead_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_directives_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "directive_agenda_links",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agenda_item_id"], ["agenda_items.id"],
                                name=op.f("fk_directive_agenda_links_agenda_item_id_agenda_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_agenda_links_directive_id_directives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_directive_agenda_links_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("directive_id", "agenda_item_id", name=op.f("pk_directive_agenda_links")),
    )
    with op.batch_alter_table("directive_agenda_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_agenda_links_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "directive_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], name=op.f("fk_directive_history_by_user_id_users")),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_history_directive_id_directives"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_history")),
    )
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_history_directive_id"), ["directive_id"], unique=False)

    op.create_table(
        "directive_people",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_people_directive_id_directives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_directive_people_user_id_users")),
        sa.PrimaryKeyConstraint("directive_id", "user_id", name=op.f("pk_directive_people")),
    )
    with op.batch_alter_table("directive_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_people_user_id"), ["user_id"], unique=False)

    op.create_table(
        "directive_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], name=op.f("fk_directive_reports_by_user_id_users")),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_reports_directive_id_directives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_directive_reports_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_reports")),
    )
    with op.batch_alter_table("directive_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_reports_directive_id"), ["directive_id"], unique=False)

    op.create_table(
        "directive_units",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_units_directive_id_directives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_directive_units_unit_id_units")),
        sa.PrimaryKeyConstraint("directive_id", "unit_id", name=op.f("pk_directive_units")),
    )
    with op.batch_alter_table("directive_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_units_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "directive_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("at", server.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], name=op.f("fk_directive_evidence_by_user_id_users")),
        sa.ForeignKeyConstraint(["directive_id"], ["directives.id"],
                                name=op.f("fk_directive_evidence_directive_id_directives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["report_id"], ["directive_reports.id"],
                                name=op.f("fk_directive_evidence_report_id_directive_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_evidence")),
    )
    with op.batch_alter_table("directive_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_evidence_directive_id"), ["directive_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_evidence_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("directive_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_evidence_report_id"))
        batch_op.drop_index(batch_op.f("ix_directive_evidence_directive_id"))
    op.drop_table("directive_evidence")
    with op.batch_alter_table("directive_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_units_unit_id"))
    op.drop_table("directive_units")
    with op.batch_alter_table("directive_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_reports_directive_id"))
    op.drop_table("directive_reports")
    with op.batch_alter_table("directive_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_people_user_id"))
    op.drop_table("directive_people")
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_history_directive_id"))
    op.drop_table("directive_history")
    with op.batch_alter_table("directive_agenda_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_agenda_links_meeting_id"))
    op.drop_table("directive_agenda_links")
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directives_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_directives_lead_unit_id"))
    op.drop_table("directives")
