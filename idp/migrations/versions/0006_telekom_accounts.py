"""Telekom accounts: links to business users and phone lines, the snoozed offer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00

An identity (business user or phone line) is linked to at most one Telekom
account; "Később" snoozes the offer per identity; the account remembers when
its password last changed.
"""
from alembic import op
import sqlalchemy as sa



revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('principal_kind', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['telekom_accounts.id'],
                                name=op.f('fk_account_links_account_id_telekom_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_links')),
        sa.UniqueConstraint('principal_kind', 'subject', name='uq_account_links_identity'),
    )
    op.create_index(op.f('ix_account_links_account_id'), 'account_links', ['account_id'], unique=False)
    op.create_table(
        'account_offer_snoozes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('principal_kind', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=32), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_offer_snoozes')),
        sa.UniqueConstraint('principal_kind', 'subject', name='uq_account_offer_snoozes_identity'),
    )
    with op.batch_alter_table('telekom_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('telekom_accounts', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
    op.drop_table('account_offer_snoozes')
    op.drop_index(op.f('ix_account_links_account_id'), table_name='account_links')
    op.drop_table('account_links')
