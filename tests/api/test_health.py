from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import Database
from tests.conftest import API, app_of, assert_problem, run_on_app


class TestGetHealth:
    def test_reports_version_and_database(self, client: TestClient) -> None:
        response = client.get(f"{API}/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "version": "1.0.0", "database": "ok"}

    def test_needs_no_authentication(self, client: TestClient) -> None:
        response = client.get(f"{API}/health", headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 200

    @pytest.fixture
    def unreachable_database(self, client: TestClient) -> Iterator[None]:
        """Point the running app at a database file in a directory that does not exist."""
        state = app_of(client).state
        working = state.database
        state.database = Database(
            create_async_engine("sqlite+inline:////nonexistent-dir/taskapi/db.sqlite")
        )
        try:
            yield
        finally:
            run_on_app(client, state.database.dispose)
            state.database = working

    @pytest.mark.usefixtures("unreachable_database")
    def test_unreachable_database_is_503_problem(self, client: TestClient) -> None:
        response = client.get(f"{API}/health")
        body = assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert body["detail"] == "The database is unreachable."
