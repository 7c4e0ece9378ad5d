"""oauth_clients.resource_server: clients an operator lets introspect every token

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00

RFC 7662 §2.1 and §4: introspection must not let any client scan tokens.
A client sees its own tokens; a resource server (the operator's decision)
sees every token.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oauth_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_server', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('oauth_clients', schema=None) as batch_op:
        batch_op.drop_column('resource_server')
