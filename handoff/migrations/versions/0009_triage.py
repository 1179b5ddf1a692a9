"""triage corrections: agents' verdicts on predicted priorities and categories, which train the organisation's model

Revision ID: 0009_triage
Revises: 0008_chatfiles
Create Date: 2026-12-01 02:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_triage'
down_revision = '0009_sla'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'triage_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_kind', sa.String(length=8), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('predicted_priority', sa.String(length=16), nullable=False),
        sa.Column('predicted_category', sa.String(length=32), nullable=True),
        sa.Column('corrected_priority', sa.String(length=16), nullable=False),
        sa.Column('corrected_category', sa.String(length=32), nullable=True),
        sa.Column('cue_priority', sa.String(length=16), nullable=False),
        sa.Column('cue_category', sa.String(length=32), nullable=True),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_triage_corrections_agent_id_agents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_corrections')),
    )
    op.create_index(op.f('ix_triage_corrections_item_id'), 'triage_corrections', ['item_id'], unique=False)
    op.create_index(op.f('ix_triage_corrections_created_at'), 'triage_corrections', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_triage_corrections_created_at'), table_name='triage_corrections')
    op.drop_index(op.f('ix_triage_corrections_item_id'), table_name='triage_corrections')
    op.drop_table('triage_corrections')
