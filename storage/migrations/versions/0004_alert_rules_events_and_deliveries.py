"""alert_rules, alert_events (one per event key) and alert_deliveries (one per event and channel,
with status, attempts and next retry)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=10), nullable=False),
    sa.Column('max_per_hour', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_version_id', sa.Integer(), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_alert_rules_name'))
    )
    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alert_events_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events')),
    sa.UniqueConstraint('event_key', name=op.f('uq_alert_events_event_key'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index('ix_alert_events_rule_created', ['rule_id', 'created_at'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('channel_key', sa.String(length=64), nullable=False),
    sa.Column('channel_shown', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=True),
    sa.Column('claimed_host', sa.String(length=255), nullable=True),
    sa.Column('claimed_pid', sa.Integer(), nullable=True),
    sa.Column('claimed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['alert_events.id'], name=op.f('fk_alert_deliveries_event_id_alert_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alert_deliveries_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries')),
    sa.UniqueConstraint('event_id', 'channel_key', name=op.f('uq_alert_deliveries_event_id'))
    )
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_deliveries_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_deliveries_message_key'), ['message_key'], unique=False)
        batch_op.create_index('ix_alert_deliveries_rule_sent', ['rule_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_alert_deliveries_status_due', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_deliveries_status_due')
        batch_op.drop_index('ix_alert_deliveries_rule_sent')
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_message_key'))
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_event_id'))

    op.drop_table('alert_deliveries')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_events_rule_created')

    op.drop_table('alert_events')
    op.drop_table('alert_rules')
