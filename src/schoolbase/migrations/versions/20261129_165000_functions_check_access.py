"""Functions end users may execute check that the caller may see what they are asked about.

Revision ID: 20261129_165000
Revises: 20250925_120000
Create Date: 2026-11-29 16:50:00
"""

from alembic import op  # noqa: F401 - filled in by the revision's work

revision = "20261129_165000"
down_revision = "20250925_120000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
