"""routing: admin-managed categories and teams, agents' presence and capacities, chats offered to one agent

Revision ID: 0007_routing
Revises: 0006
Create Date: 2026-11-30 23:00:00
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0007_routing'
down_revision = '0007_mail'
branch_labels = None
depends_on = None

SEED = (("billing", "Billing"), ("account", "Account"), ("orders", "Orders"), ("technical", "Technical"))


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    categories = op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_categories_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    # The four topics that were fixed in code until now, so existing FAQs, tickets and skills stay valid.
    now = datetime.utcnow()
    op.bulk_insert(categories, [{"slug": slug, "name": name, "created_at": now} for slug, name in SEED])
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_capacity', sa.Integer(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('presence', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('routing_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_agents_team_id_teams'), 'teams', ['team_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_agents_team_id'), ['team_id'], unique=False)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.String(length=16), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offered_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_in_line', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('triage', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_conversations_team_id_teams'), 'teams', ['team_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_conversations_offered_to_id_agents'), 'agents',
                                    ['offered_to_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_conversations_offered_to_id'), ['offered_to_id'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('triage', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_team_id_teams'), 'teams', ['team_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_tickets_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_team_id'))
        batch_op.drop_constraint(batch_op.f('fk_tickets_team_id_teams'), type_='foreignkey')
        batch_op.drop_column('triage')
        batch_op.drop_column('team_id')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('internal')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_offered_to_id'))
        batch_op.drop_constraint(batch_op.f('fk_conversations_offered_to_id_agents'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_conversations_team_id_teams'), type_='foreignkey')
        for column in ('triage', 'assigned_at', 'first_in_line', 'offered_at', 'offered_to_id', 'team_id', 'priority', 'topic'):
            batch_op.drop_column(column)
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_team_id'))
        batch_op.drop_constraint(batch_op.f('fk_agents_team_id_teams'), type_='foreignkey')
        for column in ('routing_version', 'last_assigned_at', 'last_seen_at', 'presence', 'team_id', 'ticket_capacity'):
            batch_op.drop_column(column)
    op.drop_table('categories')
    op.drop_table('teams')
