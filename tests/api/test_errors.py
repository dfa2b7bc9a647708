"""Every error is problem+json; every response carries a request id and the security headers."""

from fastapi import APIRouter
from fastapi.testclient import TestClient
from starlette.responses import Response

from app.core.config import Settings
from app.main import create_app
from tests.conftest import API, Account, assert_problem


class TestProblemShape:
    def test_unknown_path_is_404_problem(self, client: TestClient) -> None:
        assert_problem(client.get(f"{API}/nothing-here"), 404)

    def test_wrong_method_is_405_listing_every_method_of_the_path(self, client: TestClient) -> None:
        response = client.put(f"{API}/tasks")
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, POST"
        response = client.post(f"{API}/users/me")
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, PATCH"

    def test_malformed_json_is_422_not_500(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/tasks",
            content=b'{"title": ',
            headers={**user.headers, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["type"] == "json_invalid"
        assert body["errors"][0]["loc"] == ["body"]

    def test_undecodable_body_is_422(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/tasks",
            content=b'{"title": "\xff\xfe"}',
            headers={**user.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 422)

    def test_validation_errors_name_each_field(self, client: TestClient, user: Account) -> None:
        response = client.post(
            f"{API}/tasks", json={"title": "", "priority": "soon"}, headers=user.headers
        )
        body = assert_problem(response, 422)
        assert {tuple(e["loc"]) for e in body["errors"]} == {
            ("body", "title"),
            ("body", "priority"),
        }
        assert all(e["msg"] and e["type"] for e in body["errors"])


class TestUnexpectedErrors:
    def test_500_is_a_problem_without_internal_text(self, settings: Settings) -> None:
        app = create_app(settings)
        broken = APIRouter()

        @broken.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail: password=hunter2")

        app.include_router(broken)
        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/boom")
        body = assert_problem(response, 500)
        assert "secret" not in response.text and "hunter2" not in response.text
        assert body["detail"] == "An unexpected error occurred."
        assert response.headers.get_list("x-request-id") == [body["request_id"]]
        assert response.headers["connection"] == "close"


class TestRequestId:
    def test_generated_when_absent(self, client: TestClient) -> None:
        first = client.get(f"{API}/health").headers["x-request-id"]
        second = client.get(f"{API}/health").headers["x-request-id"]
        assert first and second and first != second

    def test_echoed_when_valid(self, client: TestClient) -> None:
        response = client.get(f"{API}/health", headers={"X-Request-ID": "abc-123.DEF"})
        assert response.headers["x-request-id"] == "abc-123.DEF"

    def test_replaced_when_unsafe(self, client: TestClient) -> None:
        for unsafe in ("x" * 129, "with space", "new\tline", ""):
            response = client.get(f"{API}/health", headers={"X-Request-ID": unsafe})
            assert response.headers["x-request-id"] != unsafe
            assert len(response.headers["x-request-id"]) == 32

    def test_in_problem_bodies(self, client: TestClient) -> None:
        response = client.get(f"{API}/users/me", headers={"X-Request-ID": "trace-me"})
        assert assert_problem(response, 401)["request_id"] == "trace-me"


class TestSecurityHeaders:
    def test_on_success_and_error_responses(self, client: TestClient) -> None:
        for response in (client.get(f"{API}/health"), client.get(f"{API}/users/me")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "strict-transport-security" not in response.headers

    def test_each_added_header_appears_once(self, client: TestClient) -> None:
        """Problem responses set X-Request-ID themselves; nothing is added twice."""
        added = ("x-request-id", "x-process-time", "x-content-type-options", "referrer-policy")
        for response in (client.get(f"{API}/health"), client.get(f"{API}/users/me")):
            for name in added:
                assert len(response.headers.get_list(name)) == 1, name

    def test_cors_allows_the_configured_origin_only(self, client: TestClient) -> None:
        allowed = client.options(
            f"{API}/tasks",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        denied = client.options(
            f"{API}/tasks",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in denied.headers

    def test_every_response_varies_by_origin_once(self, client: TestClient) -> None:
        """Caches must key responses by Origin, whether the request sent one or not; only the
        configured origin is allowed."""
        allowed_origin = "http://localhost:3000"
        for origin in (None, allowed_origin, "https://evil.example"):
            for path in (f"{API}/health", f"{API}/users/me"):  # a success and a problem
                response = client.get(path, headers={"Origin": origin} if origin else {})
                assert response.headers.get_list("vary") == ["Origin"], (origin, path)
                expected = origin if origin == allowed_origin else None
                assert response.headers.get("access-control-allow-origin") == expected

    def test_origin_joins_a_vary_the_response_set(self, settings: Settings) -> None:
        app = create_app(settings)

        @app.get("/negotiated")
        async def negotiated() -> Response:
            return Response(b"{}", headers={"Vary": "Accept-Encoding"})

        with TestClient(app) as client:
            for headers in ({}, {"Origin": "http://localhost:3000"}):
                response = client.get("/negotiated", headers=headers)
                assert response.headers.get_list("vary") == ["Accept-Encoding, Origin"], headers
