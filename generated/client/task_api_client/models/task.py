from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.task_priority import TaskPriority
from ..models.task_status import TaskStatus

T = TypeVar("T", bound="Task")


@_attrs_define
class Task:
    """A task owned by one user.

    Attributes:
        id (UUID): The task's id.
        title (str): A short title; one line of text.
        description (None | str): Free text; tabs and line breaks allowed.
        priority (TaskPriority): How important the task is. An `urgent` task created without a due date is due 24 hours
            after creation.
        status (TaskStatus): Where the task stands.
        due_date (datetime.datetime | None): When the task is due, with a UTC offset.
        user_id (UUID): The owner's id.
        created_at (datetime.datetime): When the task was created.
        updated_at (datetime.datetime): When the task last changed.
    """

    id: UUID
    title: str
    description: None | str
    priority: TaskPriority
    status: TaskStatus
    due_date: datetime.datetime | None
    user_id: UUID
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        title = self.title

        description: None | str
        description = self.description

        priority = self.priority.value

        status = self.status.value

        due_date: None | str
        if isinstance(self.due_date, datetime.datetime):
            due_date = self.due_date.isoformat()
        else:
            due_date = self.due_date

        user_id = str(self.user_id)

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "title": title,
                "description": description,
                "priority": priority,
                "status": status,
                "due_date": due_date,
                "user_id": user_id,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        title = d.pop("title")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        priority = TaskPriority(d.pop("priority"))

        status = TaskStatus(d.pop("status"))

        def _parse_due_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_due_date_type_0 = datetime.datetime.fromisoformat(data)

                return componentsschemas_due_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        due_date = _parse_due_date(d.pop("due_date"))

        user_id = UUID(d.pop("user_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        task = cls(
            id=id,
            title=title,
            description=description,
            priority=priority,
            status=status,
            due_date=due_date,
            user_id=user_id,
            created_at=created_at,
            updated_at=updated_at,
        )

        task.additional_properties = d
        return task

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
