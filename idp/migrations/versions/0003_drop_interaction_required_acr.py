"""drop the unused interactions.required_acr

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:15:00

The acr a relying party asks for is read from the paused request's own
``acr_values``; the column was never written.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('required_acr')


def downgrade():
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_acr', sa.String(length=64), nullable=True))
