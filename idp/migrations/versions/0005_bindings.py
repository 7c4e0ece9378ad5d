"""journeys and login sessions are bound to a browser or an OAuth client

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00

The login journeys serve the pages, the first-party grants and the
authorization challenge endpoint alike: ``flow_states.browser_id`` and
``login_sessions.browser_id`` become ``binding`` ("browser:<id>" or
"client:<client_id>"), and ``flow_states.interaction_id`` becomes
``return_to``, which only the channel reads. Rows in flight are journeys and
sessions of browsers, so their values get the "browser:" prefix.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flow_states', schema=None) as batch_op:
        batch_op.alter_column('browser_id', new_column_name='binding', existing_type=sa.String(length=64),
                              type_=sa.String(length=96), existing_nullable=False)
        batch_op.alter_column('interaction_id', new_column_name='return_to', existing_type=sa.String(length=64),
                              type_=sa.String(length=600), existing_nullable=True)
    op.drop_index('ix_login_sessions_browser_id', table_name='login_sessions')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('browser_id', new_column_name='binding', existing_type=sa.String(length=64),
                              type_=sa.String(length=96), existing_nullable=False)
    op.create_index('ix_login_sessions_binding', 'login_sessions', ['binding'], unique=False)
    op.execute("UPDATE flow_states SET binding = 'browser:' || binding")
    op.execute("UPDATE flow_states SET return_to = 'interaction:' || return_to WHERE return_to IS NOT NULL")
    op.execute("UPDATE login_sessions SET binding = 'browser:' || binding")


def downgrade():
    op.execute("UPDATE login_sessions SET binding = substr(binding, 9) WHERE binding LIKE 'browser:%'")
    op.execute("UPDATE flow_states SET return_to = NULL WHERE return_to NOT LIKE 'interaction:%'")
    op.execute("UPDATE flow_states SET return_to = substr(return_to, 13) WHERE return_to LIKE 'interaction:%'")
    op.execute("UPDATE flow_states SET binding = substr(binding, 9) WHERE binding LIKE 'browser:%'")
    op.drop_index('ix_login_sessions_binding', table_name='login_sessions')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('binding', new_column_name='browser_id', existing_type=sa.String(length=96),
                              type_=sa.String(length=64), existing_nullable=False)
    op.create_index('ix_login_sessions_browser_id', 'login_sessions', ['browser_id'], unique=False)
    with op.batch_alter_table('flow_states', schema=None) as batch_op:
        batch_op.alter_column('return_to', new_column_name='interaction_id', existing_type=sa.String(length=600),
                              type_=sa.String(length=64), existing_nullable=True)
        batch_op.alter_column('binding', new_column_name='browser_id', existing_type=sa.String(length=96),
                              type_=sa.String(length=64), existing_nullable=False)
