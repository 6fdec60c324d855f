"""sign-in links bound to the browser that asked, with a short code for another device

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("failed_codes", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_login_tokens_browser_hash"), ["browser_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_tokens_browser_hash"))
        batch_op.drop_column("failed_codes")
        batch_op.drop_column("code_hash")
        batch_op.drop_column("browser_hash")
