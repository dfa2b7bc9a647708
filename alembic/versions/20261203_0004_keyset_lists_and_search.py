"""keyset lists and word search

An index per sort and filter of the task list, each ending in id (the tie break), replaces the
two that served offset pages; the user list gets its own. Tasks gain `search_text`, the words
of the title as app.domain.search folds them, indexed word by word (split at the spaces only):
on SQLite an FTS5 table over it (the `ascii` tokenizer, rowids only), kept in sync by triggers;
on PostgreSQL a GIN index of its words as a tsvector.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRIORITY_RANK = (
    "(CASE WHEN (priority = 'low') THEN 0 WHEN (priority = 'medium') THEN 1"
    " WHEN (priority = 'high') THEN 2 WHEN (priority = 'urgent') THEN 3 END)"
)
_INDEXES: dict[str, list[str]] = {
    "ix_task_user_id_title_id": ["user_id", "title", "id"],
    "ix_task_user_id_priority_rank_id": ["user_id", _PRIORITY_RANK, "id"],
    "ix_task_user_id_due_date_id": ["user_id", "(due_date IS NULL)", "due_date", "id"],
    "ix_task_user_id_due_date_present_id": ["user_id", "(due_date IS NOT NULL)", "due_date", "id"],
    "ix_task_user_id_status_created_at_id": ["user_id", "status", "created_at", "id"],
    "ix_task_user_id_priority_created_at_id": ["user_id", "priority", "created_at", "id"],
}
_WORD = re.compile(r"[^\W_]+")

# SQLite: the title's words in an FTS5 table whose content is the task table's search_text.
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE task_search USING fts5("
    "search_text, content='task', content_rowid='rowid', tokenize='ascii', detail='none')",
    "CREATE TRIGGER task_search_insert AFTER INSERT ON task BEGIN"
    " INSERT INTO task_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER task_search_delete AFTER DELETE ON task BEGIN"
    " INSERT INTO task_search(task_search, rowid, search_text)"
    " VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER task_search_update AFTER UPDATE OF search_text ON task BEGIN"
    " INSERT INTO task_search(task_search, rowid, search_text)"
    " VALUES ('delete', old.rowid, old.search_text);"
    " INSERT INTO task_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO task_search(task_search) VALUES ('rebuild')",
]
_POSTGRES_SEARCH = [
    "CREATE INDEX ix_task_search_text ON task"
    " USING gin (array_to_tsvector(string_to_array(btrim(search_text), ' ')))",
]


def _search_text(title: str) -> str:
    """app.domain.search.search_text as of this revision."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", title).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(f" {word}" for word in _WORD.findall(folded))


def upgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    task = sa.table(
        "task", sa.column("id", sa.Uuid()), sa.column("title"), sa.column("search_text")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(task.c.id, task.c.title)).all()
    if rows:
        connection.execute(
            task.update().where(task.c.id == sa.bindparam("task_id")),
            [{"task_id": id_, "search_text": _search_text(title)} for id_, title in rows],
        )
    op.drop_index("ix_task_user_id_status", table_name="task")
    op.drop_index("ix_task_user_id_due_date", table_name="task")
    for name, columns in _INDEXES.items():
        op.create_index(name, "task", [sa.text(c) for c in columns])
    op.create_index("ix_user_created_at_id", "user", ["created_at", "id"])
    for statement in _SQLITE_SEARCH if connection.dialect.name == "sqlite" else _POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER task_search_{trigger}")
        op.execute("DROP TABLE task_search")
    else:
        op.drop_index("ix_task_search_text", table_name="task")
    op.drop_index("ix_user_created_at_id", table_name="user")
    for name in _INDEXES:
        op.drop_index(name, table_name="task")
    op.create_index("ix_task_user_id_due_date", "task", ["user_id", "due_date"])
    op.create_index("ix_task_user_id_status", "task", ["user_id", "status"])
    with op.batch_alter_table("task") as batch:
        batch.drop_column("search_text")
