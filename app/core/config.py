"""Settings, read once from the environment (and `.env`); each is listed in `.env.example`."""

import logging
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger(__name__)

# Used only outside production, so that `make run` needs no setup; production refuses it.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105
KNOWN_WEAK_SECRETS = frozenset({DEVELOPMENT_SECRET_KEY, "changeme", "secret", "change-me"})
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    ENVIRONMENT: Environment = Environment.DEVELOPMENT
    SECRET_KEY: SecretStr | None = None
    DATABASE_URL: str = "sqlite:///./data/app.db"
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0)
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=10_000, ge=0)
    SQLITE_BUSY_TIMEOUT_MS: int = Field(default=15_000, ge=0)

    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=30, ge=1)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=7, ge=1)
    # argon2id cost; the defaults follow RFC 9106's second recommended option.
    ARGON2_TIME_COST: int = Field(default=3, ge=1)
    ARGON2_MEMORY_COST_KIB: int = Field(default=65_536, ge=8)

    FIRST_ADMIN_EMAIL: str | None = None
    FIRST_ADMIN_PASSWORD: SecretStr | None = None

    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_LOGIN: str = "10/minute"
    RATE_LIMIT_DEFAULT: str = "600/minute"
    # Unset: budgets live in this process. Set (redis://host:6379/0): shared by every process.
    REDIS_URL: str | None = None
    RATE_LIMIT_KEY_PREFIX: str = "taskapi"
    # How long a request waits for Redis; then it is served unlimited, or refused with a 503.
    RATE_LIMIT_TIMEOUT_MS: int = Field(default=250, ge=1)
    RATE_LIMIT_FAIL_OPEN: bool = True
    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1)
    # Request framing (app.api.server): the request line and headers, in bytes and in count, and
    # how long they, and each part of a body, may take to arrive.
    MAX_HEADER_BYTES: int = Field(default=32_768, ge=1024)
    MAX_HEADER_COUNT: int = Field(default=100, ge=8)
    REQUEST_HEADER_TIMEOUT_S: float = Field(default=10.0, gt=0)
    REQUEST_BODY_TIMEOUT_S: float = Field(default=10.0, gt=0)

    ALLOWED_ORIGINS: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    METRICS_ENABLED: bool = False

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: dict[str, object]) -> dict[str, object]:
        origins = data.get("ALLOWED_ORIGINS")
        if isinstance(origins, str):
            data["ALLOWED_ORIGINS"] = [o.strip() for o in origins.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _check_secret(self) -> Self:
        secret = self.SECRET_KEY.get_secret_value() if self.SECRET_KEY else ""
        # HS256 keys shorter than this are refused when tokens are made, in every environment.
        if secret and len(secret.encode()) < MIN_SECRET_LENGTH:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        if self.ENVIRONMENT is Environment.PRODUCTION:
            if not secret:
                raise ValueError("SECRET_KEY must be set when ENVIRONMENT=production")
            if secret in KNOWN_WEAK_SECRETS:
                raise ValueError("SECRET_KEY is a known default; set a random one")
        return self

    @property
    def secret_key(self) -> str:
        if self.SECRET_KEY is not None:
            return self.SECRET_KEY.get_secret_value()
        return DEVELOPMENT_SECRET_KEY

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    def ensure_sqlite_directory(self) -> None:
        """Create the directory of a file-based SQLite database, so a fresh clone just runs."""
        if self.is_sqlite and ":memory:" not in self.DATABASE_URL:
            path = self.DATABASE_URL.split("///", 1)[1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    if settings.SECRET_KEY is None:
        logger.warning("SECRET_KEY is not set: using the built-in development secret")
    return settings
