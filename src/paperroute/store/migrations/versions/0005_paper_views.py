"""paper views, counted once per visitor and day

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_views",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_paper_views_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", "day", "visitor", name=op.f("pk_paper_views")),
    )
    with op.batch_alter_table("paper_views", schema=None) as batch_op:
        batch_op.create_index("ix_paper_views_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("paper_views", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_views_day")
    op.drop_table("paper_views")
