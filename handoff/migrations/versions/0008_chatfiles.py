"""chat files: an attachment belongs to a ticket's event or to a chat message

Revision ID: 0008_chatfiles
Revises: 0007_mail
Create Date: 2026-12-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_chatfiles'
down_revision = '0007_routing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attachments') as batch:
        batch.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_attachments_message_id_messages'), 'messages', ['message_id'], ['id'])
        batch.create_index(op.f('ix_attachments_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM attachments WHERE ticket_id IS NULL")
    with op.batch_alter_table('attachments') as batch:
        batch.drop_index(op.f('ix_attachments_message_id'))
        batch.drop_constraint(op.f('fk_attachments_message_id_messages'), type_='foreignkey')
        batch.drop_column('message_id')
        batch.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
