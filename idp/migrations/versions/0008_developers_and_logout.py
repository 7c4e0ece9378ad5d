"""developers' clients, dynamic registration, back-channel logout

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:00:00

Clients get the metadata the consent page shows (logo, homepage, policy,
terms), the developer who registered them in the portal, and a previous
secret that keeps working during a rotation's grace period. Initial access
tokens of RFC 7591 and the queue of back-channel logout tokens get tables.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CLIENT_COLUMNS = [
    ('logo_uri', sa.String(length=2048)), ('client_uri', sa.String(length=2048)),
    ('policy_uri', sa.String(length=2048)), ('tos_uri', sa.String(length=2048)),
    ('owner_kind', sa.String(length=16)), ('owner_sub', sa.String(length=32)),
    ('previous_secret_hash', sa.String(length=64)), ('previous_secret_expires_at', sa.DateTime()),
]


def upgrade():
    with op.batch_alter_table('oauth_clients', schema=None) as batch_op:
        for name, type_ in CLIENT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.create_index(op.f('ix_oauth_clients_owner_sub'), 'oauth_clients', ['owner_sub'], unique=False)
    op.create_table(
        'registration_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=True),
        sa.Column('uses_left', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_registration_tokens_token_hash')),
    )
    op.create_table(
        'logout_notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('uri', sa.String(length=2048), nullable=False),
        sa.Column('logout_token', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('given_up_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_logout_notifications')),
    )
    op.create_index(op.f('ix_logout_notifications_client_id'), 'logout_notifications', ['client_id'], unique=False)
    op.create_index(op.f('ix_logout_notifications_next_attempt_at'), 'logout_notifications', ['next_attempt_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_logout_notifications_next_attempt_at'), table_name='logout_notifications')
    op.drop_index(op.f('ix_logout_notifications_client_id'), table_name='logout_notifications')
    op.drop_table('logout_notifications')
    op.drop_table('registration_tokens')
    op.drop_index(op.f('ix_oauth_clients_owner_sub'), table_name='oauth_clients')
    with op.batch_alter_table('oauth_clients', schema=None) as batch_op:
        for name, _ in reversed(CLIENT_COLUMNS):
            batch_op.drop_column(name)
