"""a subscription belongs to exactly one owner

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00

A subscription is a Telekom account's (``account_id``), a company's
(``company_id``) or a phone line's (``phone_line_id``): exactly one of the
three. Nothing wrote subscriptions before ``idp subscription add``; should a
database hold a row without an owner or with two, the upgrade stops and says
which, rather than guess whose it is.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ONE_OWNER = ("(CASE WHEN account_id IS NULL THEN 0 ELSE 1 END)"
             " + (CASE WHEN company_id IS NULL THEN 0 ELSE 1 END)"
             " + (CASE WHEN phone_line_id IS NULL THEN 0 ELSE 1 END) = 1")


def upgrade():
    query = sa.text(f"SELECT external_id FROM subscriptions WHERE NOT ({ONE_OWNER})")
    broken = op.get_bind().execute(query).scalars().all()
    if broken:
        raise RuntimeError("Subscriptions without exactly one owner (account, company or phone line): "
                           + ", ".join(broken) + ". Give each one owner, then upgrade again.")
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_subscriptions_one_owner'), sa.text(ONE_OWNER))


def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_subscriptions_one_owner'), type_='check')
