"""reader interests: categories, papers and texts for recommendations

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reader_interests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reader_interests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_interests")),
    )
    with op.batch_alter_table("reader_interests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reader_interests_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reader_interests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reader_interests_user_id"))
    op.drop_table("reader_interests")
