from enum import StrEnum


class TaskStatus(StrEnum):
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    TODO = "todo"

    def __str__(self) -> str:
        return str(self.value)
