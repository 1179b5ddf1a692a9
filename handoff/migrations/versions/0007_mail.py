"""mail: inbound mail kept with what became of it; tickets' reply tokens; outbox mails know their ticket;
files attached to tickets

Revision ID: 0007_mail
Revises: 0006
Create Date: 2026-11-30 23:00:00
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0007_mail'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=80), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('from_addr', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('original', sa.Text(), nullable=True),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inbound_mail_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_inbound_mail_dedupe_key'))
    )
    op.create_index(op.f('ix_inbound_mail_from_addr'), 'inbound_mail', ['from_addr'], unique=False)
    op.create_index(op.f('ix_inbound_mail_status'), 'inbound_mail', ['status'], unique=False)
    op.create_index(op.f('ix_inbound_mail_ticket_id'), 'inbound_mail', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_inbound_mail_received_at'), 'inbound_mail', ['received_at'], unique=False)
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=120), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_attachments_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_events.id'], name=op.f('fk_attachments_event_id_ticket_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index(op.f('ix_attachments_ticket_id'), 'attachments', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_attachments_event_id'), 'attachments', ['event_id'], unique=False)
    op.create_index(op.f('ix_attachments_sha256'), 'attachments', ['sha256'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reply_to', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('files', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('reply_token', sa.String(length=32), nullable=True))
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('reply_token', sa.String))
    bind = op.get_bind()
    for (ticket_id,) in bind.execute(sa.select(tickets.c.id)).all():
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(reply_token=secrets.token_hex(10)))
    with op.batch_alter_table('tickets') as batch:
        batch.alter_column('reply_token', existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(batch.f('uq_tickets_reply_token'), ['reply_token'])


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint(batch.f('uq_tickets_reply_token'), type_='unique')
        batch.drop_column('reply_token')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index(batch.f('ix_outbox_ticket_id'))
        batch.drop_column('files')
        batch.drop_column('reply_to')
        batch.drop_column('ticket_id')
    op.drop_table('attachments')
    op.drop_table('inbound_mail')
