"""trial_records (registry records cached: the essentials the trial judgements read) and
cited_references (the registry ids, named trials, DOIs and PMIDs each document version cites, with
their offsets)

Revision ID: 0005
Revises: 0003 (the alerts' 0004 is chained in at merge)
"""
import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trial_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('found', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=1000), nullable=True),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('interventions', sa.JSON(), nullable=False),
    sa.Column('phase', sa.String(length=100), nullable=True),
    sa.Column('overall_status', sa.String(length=50), nullable=True),
    sa.Column('start_date', sa.String(length=10), nullable=True),
    sa.Column('completion_date', sa.String(length=10), nullable=True),
    sa.Column('enrollment', sa.Integer(), nullable=True),
    sa.Column('sponsor', sa.String(length=500), nullable=True),
    sa.Column('sponsor_class', sa.String(length=50), nullable=True),
    sa.Column('results_posted', sa.Boolean(), nullable=False),
    sa.Column('last_update', sa.String(length=10), nullable=True),
    sa.Column('fetched_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trial_records')),
    sa.UniqueConstraint('kind', 'identifier', name=op.f('uq_trial_records_kind'))
    )
    with op.batch_alter_table('trial_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trial_records_fetched_at'), ['fetched_at'], unique=False)

    op.create_table('cited_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('identifier', sa.String(length=300), nullable=False),
    sa.Column('start_offset', sa.Integer(), nullable=False),
    sa.Column('end_offset', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['document_versions.id'], name=op.f('fk_cited_references_version_id_document_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cited_references')),
    sa.UniqueConstraint('version_id', 'start_offset', name=op.f('uq_cited_references_version_id'))
    )
    with op.batch_alter_table('cited_references', schema=None) as batch_op:
        batch_op.create_index('ix_cited_references_kind_identifier', ['kind', 'identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_cited_references_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cited_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cited_references_version_id'))
        batch_op.drop_index('ix_cited_references_kind_identifier')

    op.drop_table('cited_references')
    with op.batch_alter_table('trial_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trial_records_fetched_at'))

    op.drop_table('trial_records')
