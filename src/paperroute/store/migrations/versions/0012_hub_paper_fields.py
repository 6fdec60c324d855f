"""papers keep what Hugging Face says of them: an AI summary, keywords, an organization

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ai_summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ai_keywords", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("organization", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("organization")
        batch_op.drop_column("ai_keywords")
        batch_op.drop_column("ai_summary")
