"""desk: canned replies, tags, a chat's rating and where it came from, and mail that a later change may replace before it goes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shortcut', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_canned_replies_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies'))
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_replies_agent_id'), ['agent_id'], unique=False)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('page_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coalesce_key', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_coalesce_key'), ['coalesce_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('tags')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_coalesce_key'))
        batch_op.drop_column('coalesce_key')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('tags')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('page_url')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating_comment')
        batch_op.drop_column('rating')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_replies_agent_id'))
    op.drop_table('canned_replies')
