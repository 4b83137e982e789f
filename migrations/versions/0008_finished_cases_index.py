"""An agency's finished cases in index order (the "finished" tab and its count).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_DONE = "NOT (status IN ('submitted', 'accepted', 'in_progress', 'on_hold', 'reopened'))"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_done_lead_updated', ['lead_agency', 'updated_at'],
                              unique=False, sqlite_where=sa.text(_DONE),
                              postgresql_where=sa.text(_DONE))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_done_lead_updated', sqlite_where=sa.text(_DONE),
                            postgresql_where=sa.text(_DONE))
