"""confirmed accounts: an account is usable once its address is confirmed; earlier accounts count as confirmed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:05:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Accounts made before confirmation existed were usable; they stay usable.
    op.execute("UPDATE customers SET email_verified = TRUE WHERE password_hash IS NOT NULL")


def downgrade() -> None:
    pass
