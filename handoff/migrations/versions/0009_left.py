"""customer left: how many widget sockets a conversation has open, and when the last one closed

Revision ID: 0009_left
Revises: 0008_chatfiles
Create Date: 2026-12-01 02:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_left'
down_revision = '0009_triage'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('customer_sockets', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('customer_gone_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('customer_gone_at')
        batch.drop_column('customer_sockets')
