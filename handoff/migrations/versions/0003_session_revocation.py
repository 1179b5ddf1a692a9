"""session revocation: a session version per person, and every open /agent socket

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 17:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('agent_sockets',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sockets_agent_id_agents')),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_agent_sockets'))
    )
    with op.batch_alter_table('agent_sockets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sockets_agent_id'), ['agent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_sockets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sockets_agent_id'))
    op.drop_table('agent_sockets')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('session_version')
