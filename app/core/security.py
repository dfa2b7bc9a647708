"""Password hashing and JWTs. Pure functions of their inputs: no database, no HTTP.

Hashing costs hundreds of milliseconds of CPU, so the async helpers run it in the thread pool,
never on the event loop.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.domain.types import utcnow

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "ver"]
# Tokens whose signature was checked, kept to skip the check on their next use (about 200 bytes
# each). A token's claims never change; whether it is still current is the database's to say.
VERIFIED_TOKENS_KEPT = 10_000


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
        # Checking the signature costs more than the rest of an authenticated read.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

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
        claims, expires_at = self._verified(token)
        if time.time() >= expires_at:
            raise InvalidToken("Signature has expired")
        if claims.type is not expected:
            raise InvalidToken("wrong token type")
        return claims

    def _verify(self, token: str) -> tuple[TokenClaims, float]:
        """The claims of a token signed with our key, and when it expires. Raises (and so caches
        nothing) for anything else."""
        try:
            claims = self._jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
            user_id = uuid.UUID(claims["sub"])
            token_type = TokenType(claims["type"])
        except (jwt.InvalidTokenError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken(str(exc)) from exc
        version = claims["ver"]
        if type(version) is not int:
            raise InvalidToken("wrong token version")
        return TokenClaims(user_id=user_id, version=version, type=token_type), claims["exp"]
