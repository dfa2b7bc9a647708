from enum import StrEnum


class TaskSort(StrEnum):
    CREATED_AT = "created_at"
    DUE_DATE = "due_date"
    PRIORITY = "priority"
    TITLE = "title"
    VALUE_1 = "-created_at"
    VALUE_3 = "-due_date"
    VALUE_5 = "-priority"
    VALUE_7 = "-title"

    def __str__(self) -> str:
        return str(self.value)
