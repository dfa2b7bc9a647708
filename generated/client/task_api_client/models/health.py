from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.health_database import HealthDatabase
from ..models.health_redis import HealthRedis
from ..models.health_status import HealthStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Health")


@_attrs_define
class Health:
    """The service's health.

    Attributes:
        status (HealthStatus): `ok` when every component answers; `degraded` when only the rate limiter's store
            (Redis) does not: requests are still served (without rate limits, or refused with
            503 when the server is set to fail closed).
        version (str): The running service version.
        database (HealthDatabase): Whether the database answered a query.
        redis (HealthRedis | Unset): Whether Redis, which holds the shared rate-limit budgets, answered a ping in time.
            Absent when the server keeps its budgets in memory (no Redis configured).
    """

    status: HealthStatus
    version: str
    database: HealthDatabase
    redis: HealthRedis | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        version = self.version

        database = self.database.value

        redis: str | Unset = UNSET
        if not isinstance(self.redis, Unset):
            redis = self.redis.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "version": version,
                "database": database,
            }
        )
        if redis is not UNSET:
            field_dict["redis"] = redis

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = HealthStatus(d.pop("status"))

        version = d.pop("version")

        database = HealthDatabase(d.pop("database"))

        _redis = d.pop("redis", UNSET)
        redis: HealthRedis | Unset
        if isinstance(_redis, Unset):
            redis = UNSET
        else:
            redis = HealthRedis(_redis)

        health = cls(
            status=status,
            version=version,
            database=database,
            redis=redis,
        )

        health.additional_properties = d
        return health

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
