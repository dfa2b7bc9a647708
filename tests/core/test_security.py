"""Token checks stay exact when verified tokens are kept (TokenCodec skips re-checking the
signature of a token it has seen): expiry and type are checked on every use."""

import time
import uuid

import pytest

from app.core.security import InvalidToken, TokenCodec, TokenType
from tests.conftest import make_settings


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec(make_settings("sqlite://"))


def test_a_kept_token_is_refused_once_it_expires(
    codec: TokenCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = uuid.uuid4()
    token = codec.encode(user_id=user_id, version=3, type=TokenType.ACCESS)
    claims = codec.decode(token, expected=TokenType.ACCESS)
    assert (claims.user_id, claims.version, claims.type) == (user_id, 3, TokenType.ACCESS)
    after_expiry = time.time() + codec.access_ttl.total_seconds() + 1
    monkeypatch.setattr(time, "time", lambda: after_expiry)
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode(token, expected=TokenType.ACCESS)


def test_a_kept_token_is_still_refused_as_the_other_type(codec: TokenCodec) -> None:
    refresh = codec.encode(user_id=uuid.uuid4(), version=0, type=TokenType.REFRESH)
    assert codec.decode(refresh, expected=TokenType.REFRESH).type is TokenType.REFRESH
    with pytest.raises(InvalidToken, match="type"):
        codec.decode(refresh, expected=TokenType.ACCESS)


def test_a_token_signed_with_another_key_is_refused_every_time(codec: TokenCodec) -> None:
    other = TokenCodec(
        make_settings("sqlite://", SECRET_KEY="another-secret-key-long-enough-for-hs256")
    )
    forged = other.encode(user_id=uuid.uuid4(), version=0, type=TokenType.ACCESS)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="Signature verification failed"):
            codec.decode(forged, expected=TokenType.ACCESS)
