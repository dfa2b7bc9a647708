"""Opaque page cursors: the sort key of a page's last row, signed together with the list it
came from (who asked, the sort and the filters), so a cursor cannot be forged, edited or used
on another list."""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

_SIGNATURE_BYTES = 16


class BadCursor(ValueError):
    """The cursor was not made by this server for this list."""


class CursorCodec:
    def __init__(self, secret: str) -> None:
        # A key of its own, so a cursor's signature is never a valid token signature.
        self._key = hmac.digest(secret.encode(), b"taskapi page cursor", hashlib.sha256)

    def _sign(self, scope: str, payload: bytes) -> bytes:
        message = scope.encode() + b"\0" + payload
        return hmac.digest(self._key, message, hashlib.sha256)[:_SIGNATURE_BYTES]

    def encode(self, scope: str, key: list[Any]) -> str:
        """A cursor for the rows after `key` (JSON values) in the list `scope` names."""
        payload = json.dumps(key, ensure_ascii=False, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._sign(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> list[Any]:
        """The key `encode` was given; BadCursor unless this server made `cursor` for `scope`."""
        encoded, _, signature = cursor.partition(".")
        try:
            payload, given = _unb64(encoded), _unb64(signature)
        except (binascii.Error, ValueError) as exc:
            raise BadCursor from exc
        if not hmac.compare_digest(given, self._sign(scope, payload)):
            raise BadCursor
        key = json.loads(payload)
        if not isinstance(key, list):
            raise BadCursor
        return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """The bytes `_b64` made `text` of; only its own spelling of them (base64's spare bits
    would let another string decode the same)."""
    if not text.isascii():
        raise ValueError("not base64")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data
