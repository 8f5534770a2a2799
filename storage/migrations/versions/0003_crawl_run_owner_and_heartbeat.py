"""crawl_runs.owner_host, owner_pid and heartbeat_at: who runs a crawl run and when it last said so,
so a run whose process died can be ended by whoever comes next (and an index on status to find
the running ones)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('owner_pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', UTCDateTime(timezone=True), nullable=True))
    # Runs recorded before: their last sign of life is when they ended, or else when they started.
    op.execute("UPDATE crawl_runs SET heartbeat_at = COALESCE(finished_at, started_at)")
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.alter_column('heartbeat_at', existing_type=UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index('ix_crawl_runs_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_crawl_runs_status')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner_pid')
        batch_op.drop_column('owner_host')
