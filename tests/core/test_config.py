import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.config import DEVELOPMENT_SECRET_KEY, Settings
from app.main import create_app
from tests.conftest import API, make_settings


class TestSecretKey:
    def test_development_falls_back_to_the_built_in_secret(self) -> None:
        settings = make_settings("sqlite://", SECRET_KEY=None)
        assert settings.secret_key == DEVELOPMENT_SECRET_KEY

    @pytest.mark.parametrize(
        "secret", [None, "", DEVELOPMENT_SECRET_KEY, "changeme", "short-but-random-7f3a"]
    )
    def test_production_refuses_a_missing_default_or_short_secret(self, secret: str | None) -> None:
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            make_settings("sqlite://", ENVIRONMENT="production", SECRET_KEY=secret)

    def test_production_accepts_a_long_random_secret(self) -> None:
        settings = make_settings("sqlite://", ENVIRONMENT="production", SECRET_KEY="k" * 48)
        assert settings.secret_key == "k" * 48


def test_allowed_origins_come_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).ALLOWED_ORIGINS == [
        "https://a.example",
        "https://b.example",
    ]


def test_production_sends_hsts(tmp_path: object) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path}/hsts.db", ENVIRONMENT="production", SECRET_KEY="k" * 48
    )
    with TestClient(create_app(settings)) as client:
        response = client.get(f"{API}/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_short_secret_is_refused_in_development_too() -> None:
    # PyJWT refuses HS256 keys under 32 bytes when it signs: fail at startup, not on login.
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings("sqlite://", SECRET_KEY="short-dev-key")


def test_statement_parameters_never_reach_error_logs(tmp_path: object) -> None:
    from app.core.migrations import create_sync_engine

    settings = make_settings(f"sqlite:///{tmp_path}/params.db")
    assert create_sync_engine(settings).hide_parameters
