"""Registration, credentials and token lifecycle."""

import logging
from dataclasses import dataclass

from app.core.db import Database, Run
from app.core.security import InvalidToken, PasswordHasher, TokenClaims, TokenCodec, TokenType
from app.domain.caller import Caller
from app.domain.errors import BadRequest, ServiceUnavailable, Unauthorized
from app.domain.models import UserRecord
from app.repositories import users as users_repo

logger = logging.getLogger(__name__)

BAD_CREDENTIALS = "Incorrect email or password."


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def issue_tokens(codec: TokenCodec, user: UserRecord) -> Tokens:
    return Tokens(
        access_token=codec.encode(
            user_id=user.id, version=user.token_version, type=TokenType.ACCESS
        ),
        refresh_token=codec.encode(
            user_id=user.id, version=user.token_version, type=TokenType.REFRESH
        ),
        expires_in=int(codec.access_ttl.total_seconds()),
    )


async def register(
    database: Database, *, email: str, hashed_password: str, full_name: str | None
) -> UserRecord:
    """A new user; an email that is registered already (in any letter case) is a Conflict."""
    return await users_repo.add(
        database.write, email=email, hashed_password=hashed_password, full_name=full_name
    )


async def authenticate(
    database: Database, hasher: PasswordHasher, *, email: str, password: str
) -> UserRecord:
    """The active user with these credentials; the same Unauthorized for every failure."""
    user = await users_repo.get_by_email(database.read, email)
    ok, new_hash = await hasher.verify(password, user.hashed_password if user else None)
    if user is None or not ok or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    if new_hash is not None:
        await _upgrade_hash(database, user, new_hash)
    return user


async def _upgrade_hash(database: Database, user: UserRecord, new_hash: str) -> None:
    """Re-hash an outdated (e.g. bcrypt) hash. Best effort: on a busy database, the next login
    tries again; the login itself must not fail for it."""
    try:
        await users_repo.update_user(database.write, user.id, {"hashed_password": new_hash})
    except ServiceUnavailable:
        logger.info("an outdated password hash stays until the next login")


def decode_token(codec: TokenCodec, token: str, *, expected: TokenType) -> TokenClaims:
    """The token's claims, if it is well-formed, signed by us, unexpired and of that type."""
    try:
        return codec.decode(token, expected=expected)
    except InvalidToken as exc:
        raise Unauthorized() from exc


async def caller_for_claims(run: Run, claims: TokenClaims) -> Caller:
    """The caller of valid claims, if the token is still current and the user active."""
    role = await users_repo.current_role(run, claims.user_id, claims.version)
    if role is None:
        raise Unauthorized()
    return Caller(id=claims.user_id, role=role)


async def user_for_claims(run: Run, claims: TokenClaims) -> UserRecord:
    """The user of valid claims, if the token is still current and the user active."""
    user = await users_repo.get_current(run, claims.user_id, claims.version)
    if user is None:
        raise Unauthorized()
    return user


async def refresh(database: Database, codec: TokenCodec, refresh_token: str) -> Tokens:
    claims = decode_token(codec, refresh_token, expected=TokenType.REFRESH)
    return issue_tokens(codec, await user_for_claims(database.read, claims))


async def logout(database: Database, caller: Caller) -> None:
    """Revoke every token issued to the caller so far."""
    await users_repo.update_user(database.write, caller.id, {}, bump_token_version=True)


async def new_password_hash(
    hasher: PasswordHasher, user: UserRecord, *, current_password: str, new_password: str
) -> str:
    """The new password's hash, once the current password is checked. No database work: both
    hashes take a few hundred milliseconds, which must not be spent inside a write transaction."""
    ok, _ = await hasher.verify(current_password, user.hashed_password)
    if not ok:
        raise BadRequest("The current password is wrong.")
    return await hasher.hash(new_password)


async def set_password(database: Database, caller: Caller, hashed_password: str) -> None:
    """Store the new hash and revoke every token issued so far."""
    await users_repo.update_user(
        database.write, caller.id, {"hashed_password": hashed_password}, bump_token_version=True
    )
