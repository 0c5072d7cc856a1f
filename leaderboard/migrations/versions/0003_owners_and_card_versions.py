"""model owners, versioned lineage cards, the card version of each run

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 02:40:00

An existing database keeps its data: a model's owner becomes the user of the token of its first
run; a run stored without a token (a push into the database file) makes the user "local" the
owner (leaderboard.lineage.LOCAL_USER, what such pushes act as from now on); a model without runs
of its own (a base or teacher named by another push) gets the owner of the first run that named
it; a model with none of these has no owner (only an admin token may push to it). Every stored
card becomes version 1 (by the model's owner, at the model's creation time), and the runs of a
model with a card record version 1. A run stored as "verified" under the looser rules before
(some metric recomputed, not necessarily every one; leaderboard.verify states today's) becomes
"unverified", its detail saying so: its samples are not stored, so it cannot be checked again.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

LOCAL_USER = "local"  # the copy of leaderboard.lineage.LOCAL_USER this revision was written with


def upgrade() -> None:
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_models_owner_id', 'users', ['owner_id'], ['id'])
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_version', sa.Integer(), nullable=True))
    op.create_table('card_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('card', sa.JSON(), nullable=False),
    sa.Column('data_kind', sa.String(length=200), nullable=False),
    sa.Column('imitation_tokens', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkpoint_id', 'version', name='uq_card_version')
    )
    _backfill(op.get_bind())


def _owners(conn: sa.Connection) -> dict[int, int | None]:
    """model id -> user id (None: unknown), by the rules in the module's docstring."""
    first_runs = conn.execute(sa.text(
        "SELECT r.model_id, t.user_id, r.token_id FROM runs r LEFT JOIN tokens t "
        "ON t.id = r.token_id ORDER BY r.id")).all()
    owners: dict[int, int | None] = {}
    local_id: int | None = None
    for model_id, user_id, token_id in first_runs:
        if model_id in owners:
            continue
        if token_id is None:
            if local_id is None:
                local_id = _local_user(conn)
            user_id = local_id
        owners[model_id] = user_id
    refs = conn.execute(sa.text("SELECT id, base_id, teacher_id FROM models ORDER BY id")).all()
    for model_id, base_id, teacher_id in refs:
        for named in (base_id, teacher_id):
            if named is not None and named not in owners and owners.get(model_id) is not None:
                owners[named] = owners[model_id]
    return owners


def _local_user(conn: sa.Connection) -> int:
    found = conn.execute(sa.text("SELECT id FROM users WHERE name = :n"),
                         {"n": LOCAL_USER}).scalar()
    if found is not None:
        return int(found)
    conn.execute(sa.text("INSERT INTO users (name, created_at) VALUES (:n, CURRENT_TIMESTAMP)"),
                 {"n": LOCAL_USER})
    return int(conn.execute(sa.text("SELECT id FROM users WHERE name = :n"),
                            {"n": LOCAL_USER}).scalar_one())


def _backfill(conn: sa.Connection) -> None:
    conn.execute(sa.text(
        "UPDATE runs SET status = 'unverified', status_detail = :why || status_detail "
        "WHERE status = 'verified'"),
        {"why": "not verified: checked before migration 0003 under looser rules (not every "
                "reported metric need have been recomputed); then: "})
    owners = _owners(conn)
    for model_id, user_id in owners.items():
        if user_id is not None:
            conn.execute(sa.text("UPDATE models SET owner_id = :u WHERE id = :m"),
                         {"u": user_id, "m": model_id})
    cards = sa.table('card_versions', sa.column('checkpoint_id', sa.Integer),
                     sa.column('version', sa.Integer), sa.column('card', sa.JSON),
                     sa.column('data_kind', sa.String), sa.column('imitation_tokens',
                                                                  sa.BigInteger),
                     sa.column('user_id', sa.Integer),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    checkpoints = sa.table('checkpoints', sa.column('id', sa.Integer),
                           sa.column('model_id', sa.Integer), sa.column('card', sa.JSON),
                           sa.column('data_kind', sa.String),
                           sa.column('imitation_tokens', sa.BigInteger))
    models = sa.table('models', sa.column('id', sa.Integer),
                      sa.column('created_at', sa.DateTime(timezone=True)))
    rows = conn.execute(sa.select(checkpoints, models.c.created_at)
                        .join(models, models.c.id == checkpoints.c.model_id)).all()
    for row in rows:
        conn.execute(cards.insert().values(
            checkpoint_id=row.id, version=1, card=row.card, data_kind=row.data_kind,
            imitation_tokens=row.imitation_tokens, user_id=owners.get(row.model_id),
            created_at=row.created_at))
        conn.execute(sa.text("UPDATE runs SET card_version = 1 WHERE model_id = :m"),
                     {"m": row.model_id})


def downgrade() -> None:
    op.drop_table('card_versions')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('card_version')
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_constraint('fk_models_owner_id', type_='foreignkey')
        batch_op.drop_column('owner_id')
