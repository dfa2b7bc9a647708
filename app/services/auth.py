"""Registration, credentials and token lifecycle."""

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.security import InvalidToken, PasswordHasher, TokenClaims, TokenCodec, TokenType
from app.domain.caller import Caller
from app.domain.errors import BadRequest, Conflict, Unauthorized
from app.domain.models import User
from app.repositories import users as users_repo

BAD_CREDENTIALS = "Incorrect email or password."


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def issue_tokens(codec: TokenCodec, user: User) -> Tokens:
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
    session: AsyncSession, *, email: str, hashed_password: str, full_name: str | None
) -> User:
    if await users_repo.get_by_email(session, email) is not None:
        raise Conflict(users_repo.EMAIL_TAKEN)
    return await users_repo.save(
        session, User(email=email, full_name=full_name, hashed_password=hashed_password)
    )


async def authenticate(
    session: AsyncSession, hasher: PasswordHasher, *, email: str, password: str
) -> User:
    """The active user with these credentials; the same Unauthorized for every failure."""
    user = await users_repo.get_by_email(session, email)
    ok, new_hash = await hasher.verify(password, user.hashed_password if user else None)
    if user is None or not ok or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    if new_hash is not None:
        await _upgrade_hash(session, user, new_hash)
    return user


async def _upgrade_hash(session: AsyncSession, user: User, new_hash: str) -> None:
    """Re-hash an outdated (e.g. bcrypt) hash. Best effort: on a busy database, the next login
    tries again; the login itself must not fail for it."""
    try:
        async with session.begin_nested():
            user.hashed_password = new_hash
            await users_repo.save(session, user)
    except OperationalError:
        await session.refresh(user)


def decode_token(codec: TokenCodec, token: str, *, expected: TokenType) -> TokenClaims:
    """The token's claims, if it is well-formed, signed by us, unexpired and of that type."""
    try:
        return codec.decode(token, expected=expected)
    except InvalidToken as exc:
        raise Unauthorized() from exc


async def caller_for_claims(connection: AsyncConnection, claims: TokenClaims) -> Caller:
    """The caller of valid claims, if the token is still current and the user active."""
    role = await users_repo.current_role(connection, claims.user_id, claims.version)
    if role is None:
        raise Unauthorized()
    return Caller(id=claims.user_id, role=role)


async def user_for_claims(session: AsyncSession, claims: TokenClaims) -> User:
    """The user of valid claims, if the token is still current and the user active."""
    user = await users_repo.get_current(session, claims.user_id, claims.version)
    if user is None:
        raise Unauthorized()
    return user


async def refresh(session: AsyncSession, codec: TokenCodec, refresh_token: str) -> Tokens:
    claims = decode_token(codec, refresh_token, expected=TokenType.REFRESH)
    return issue_tokens(codec, await user_for_claims(session, claims))


async def logout(session: AsyncSession, caller: Caller) -> None:
    await users_repo.bump_token_version(session, caller.id)


async def new_password_hash(
    hasher: PasswordHasher, user: User, *, current_password: str, new_password: str
) -> str:
    """The new password's hash, once the current password is checked. No database work: both
    hashes take a few hundred milliseconds, which must not be spent inside a write transaction."""
    ok, _ = await hasher.verify(current_password, user.hashed_password)
    if not ok:
        raise BadRequest("The current password is wrong.")
    return await hasher.hash(new_password)


async def set_password(session: AsyncSession, caller: Caller, hashed_password: str) -> None:
    """Store the new hash and revoke every token issued so far."""
    await users_repo.bump_token_version(session, caller.id, hashed_password=hashed_password)
