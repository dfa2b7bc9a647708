import uuid
from dataclasses import dataclass

from generated.models import UserRole


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the request: a user whose access token was checked against the database on this
    request (active, and the token not revoked), and the role they have now."""

    id: uuid.UUID
    role: UserRole
