"""sla: teams' business hours, SLA policies per priority (and team), timers on tickets and chats

Revision ID: 0009_sla
Revises: 0008_chatfiles
Create Date: 2026-12-01 02:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_sla'
down_revision = '0008_chatfiles'
branch_labels = None
depends_on = None

HOUR = 3600
# Business seconds: first response, next response, resolution. A new install starts with these.
SEED = (("urgent", 15 * 60, HOUR, 4 * HOUR), ("high", HOUR, 4 * HOUR, 16 * HOUR),
        ("normal", 4 * HOUR, 8 * HOUR, 24 * HOUR), ("low", 8 * HOUR, 24 * HOUR, 40 * HOUR))


def upgrade() -> None:
    with op.batch_alter_table('teams') as batch:
        batch.add_column(sa.Column('hours', sa.JSON(), nullable=True))
    policies = op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('first_response_s', sa.Integer(), nullable=False),
    sa.Column('next_response_s', sa.Integer(), nullable=False),
    sa.Column('resolution_s', sa.Integer(), nullable=False),
    sa.Column('raise_priority', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('requeue', sa.Boolean(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_sla_policies_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('priority', 'team_id', name=op.f('uq_sla_policies_priority'))
    )
    op.bulk_insert(policies, [{"priority": p, "team_id": None, "first_response_s": first, "next_response_s": nxt,
                               "resolution_s": resolution, "raise_priority": False, "requeue": False}
                              for p, first, nxt, resolution in SEED])
    for table in ('tickets', 'conversations'):
        with op.batch_alter_table(table) as batch:
            if table == 'tickets':
                batch.add_column(sa.Column('first_response_at', sa.DateTime(), nullable=True))
            batch.add_column(sa.Column('sla', sa.JSON(), nullable=True))
            batch.add_column(sa.Column('sla_check_at', sa.DateTime(), nullable=True))
            batch.create_index(batch.f(f'ix_{table}_sla_check_at'), ['sla_check_at'], unique=False)


def downgrade() -> None:
    for table in ('tickets', 'conversations'):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(batch.f(f'ix_{table}_sla_check_at'))
            batch.drop_column('sla_check_at')
            batch.drop_column('sla')
            if table == 'tickets':
                batch.drop_column('first_response_at')
    op.drop_table('sla_policies')
    with op.batch_alter_table('teams') as batch:
        batch.drop_column('hours')
