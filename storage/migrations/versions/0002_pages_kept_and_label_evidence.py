"""crawl_runs.pages_kept (pages stored below the relevance gate because they name MS and a cell
treatment) and labels.evidence (the sentences an analyst marked for each signal)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pages_kept', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('pages_kept')
