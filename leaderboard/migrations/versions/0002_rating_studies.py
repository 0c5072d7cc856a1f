"""rating studies: blind pairwise human ratings (issue #17)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 02:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('studies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raters_per_pair', sa.Integer(), nullable=False),
    sa.Column('per_rater', sa.Integer(), nullable=False),
    sa.Column('hold_minutes', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('answers_file', sa.Text(), nullable=False),
    sa.Column('reference_file', sa.Text(), nullable=False),
    sa.Column('answers_sha256', sa.String(length=64), nullable=False),
    sa.Column('reference_sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('code')
    )
    op.create_table('study_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('study_id', 'position', name='uq_study_pair_position')
    )
    with op.batch_alter_table('study_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_study_pairs_study', ['study_id', 'kind'], unique=False)
    op.create_table('study_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('rater', sa.String(length=120), nullable=False),
    sa.Column('reference_left', sa.Boolean(), nullable=False),
    sa.Column('verdict', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pair_id'], ['study_pairs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pair_id', 'rater', name='uq_assignment_pair_rater'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('study_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_study_rater', ['study_id', 'rater'], unique=False)
        batch_op.create_index(batch_op.f('ix_study_assignments_pair_id'), ['pair_id'],
                              unique=False)
    op.create_table('study_judge_verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('judge', sa.String(length=300), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['pair_id'], ['study_pairs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pair_id', 'judge', name='uq_judge_verdict_pair')
    )
    with op.batch_alter_table('study_judge_verdicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_judge_verdicts_study_id'), ['study_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('study_judge_verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_judge_verdicts_study_id'))
    op.drop_table('study_judge_verdicts')
    with op.batch_alter_table('study_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_assignments_pair_id'))
        batch_op.drop_index('ix_assignments_study_rater')
    op.drop_table('study_assignments')
    with op.batch_alter_table('study_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_study_pairs_study')
    op.drop_table('study_pairs')
    op.drop_table('studies')
