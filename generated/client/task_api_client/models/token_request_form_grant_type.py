from enum import StrEnum


class TokenRequestFormGrantType(StrEnum):
    PASSWORD = "password"

    def __str__(self) -> str:
        return str(self.value)
