import pytest
from fastapi.testclient import TestClient

from app.api.contract import load_contract
from tests.conftest import API, UNREACHABLE_DATABASE_URLS, assert_problem, database_replaced


class TestGetHealth:
    def test_reports_version_and_database(self, client: TestClient) -> None:
        response = client.get(f"{API}/health")
        assert response.status_code == 200
        version = load_contract()["info"]["version"]
        assert response.json() == {"status": "ok", "version": version, "database": "ok"}

    def test_needs_no_authentication(self, client: TestClient) -> None:
        response = client.get(f"{API}/health", headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 200

    @pytest.mark.parametrize("url", UNREACHABLE_DATABASE_URLS)
    def test_unreachable_database_is_503_problem(self, client: TestClient, url: str) -> None:
        with database_replaced(client, url):
            response = client.get(f"{API}/health")
        body = assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert body["detail"] == "The database is unreachable."
