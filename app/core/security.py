"""Password hashing and JWTs. Pure functions of their inputs: no database, no HTTP.

Hashing costs hundreds of milliseconds of CPU, so the async helpers run it in the thread pool,
never on the event loop.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.domain.types import utcnow

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "ver"]


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired or of the wrong type."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    version: int
    type: TokenType


class PasswordHasher:
    """argon2id for new hashes; bcrypt still verifies and is re-hashed on the next login."""

    def __init__(self, settings: Settings) -> None:
        self._context = CryptContext(
            schemes=["argon2", "bcrypt"],
            deprecated=["bcrypt"],
            argon2__type="ID",
            argon2__time_cost=settings.ARGON2_TIME_COST,
            argon2__memory_cost=settings.ARGON2_MEMORY_COST_KIB,
            argon2__parallelism=1,
        )

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self._context.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the stored one is outdated.

        With no stored hash (an unknown email) a dummy verification still runs, so the answer
        takes as long as for a real user.
        """
        if hashed is None:
            await run_in_threadpool(self._context.dummy_verify)
            return False, None
        ok, new_hash = await run_in_threadpool(self._context.verify_and_update, password, hashed)
        return bool(ok), new_hash


class TokenCodec:
    """Issues and checks HS256 JWTs. The algorithm is pinned; `type` is checked on every decode."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.secret_key
        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})
        self.access_ttl = timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
        self.refresh_ttl = timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)

    def encode(self, *, user_id: uuid.UUID, version: int, type: TokenType) -> str:
        now: datetime = utcnow()
        ttl = self.access_ttl if type is TokenType.ACCESS else self.refresh_ttl
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "type": type.value,
            "ver": version,
        }
        return self._jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, *, expected: TokenType) -> TokenClaims:
        try:
            claims = self._jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
            user_id = uuid.UUID(claims["sub"])
        except (jwt.InvalidTokenError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken(str(exc)) from exc
        version = claims["ver"]
        if claims["type"] != expected.value or type(version) is not int:
            raise InvalidToken("wrong token type")
        return TokenClaims(user_id=user_id, version=version, type=expected)
