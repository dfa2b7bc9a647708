"""Paging shared by the list queries."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size
