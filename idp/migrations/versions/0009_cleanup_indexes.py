"""indexes for idp cleanup

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

``idp cleanup`` finds spent rows by when they expire (the tokens by when they were
issued): without these indexes every batch of a big table would be a full scan.
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INDEXES = [
    ('authorization_codes', 'expires_at'),
    ('tokens', 'issued_at'),
    ('interactions', 'expires_at'),
    ('login_sessions', 'expires_at'),
    ('flow_states', 'expires_at'),
    ('otp_challenges', 'expires_at'),
]


def upgrade():
    for table, column in INDEXES:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def downgrade():
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
