"""the list's default order from the index

The task list's default order is `created_at DESC, id DESC`; on (user_id, created_at) the tie
break made every page sort all of the owner's tasks first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_task_user_id_created_at_id"), "task", ["user_id", "created_at", "id"], unique=False
    )
    op.drop_index(op.f("ix_task_user_id_created_at"), table_name="task")


def downgrade() -> None:
    op.create_index(
        op.f("ix_task_user_id_created_at"), "task", ["user_id", "created_at"], unique=False
    )
    op.drop_index(op.f("ix_task_user_id_created_at_id"), table_name="task")
