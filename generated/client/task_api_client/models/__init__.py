"""Contains all the data models used in inputs/outputs"""

from .field_error import FieldError
from .health import Health
from .health_database import HealthDatabase
from .health_redis import HealthRedis
from .health_status import HealthStatus
from .login_request import LoginRequest
from .password_change import PasswordChange
from .problem import Problem
from .refresh_request import RefreshRequest
from .task import Task
from .task_create import TaskCreate
from .task_list import TaskList
from .task_priority import TaskPriority
from .task_replace import TaskReplace
from .task_sort import TaskSort
from .task_status import TaskStatus
from .task_update import TaskUpdate
from .token_pair import TokenPair
from .token_pair_token_type import TokenPairTokenType
from .token_request_form import TokenRequestForm
from .token_request_form_grant_type import TokenRequestFormGrantType
from .user import User
from .user_admin_update import UserAdminUpdate
from .user_list import UserList
from .user_register import UserRegister
from .user_role import UserRole
from .user_update_me import UserUpdateMe

__all__ = (
    "FieldError",
    "Health",
    "HealthDatabase",
    "HealthRedis",
    "HealthStatus",
    "LoginRequest",
    "PasswordChange",
    "Problem",
    "RefreshRequest",
    "Task",
    "TaskCreate",
    "TaskList",
    "TaskPriority",
    "TaskReplace",
    "TaskSort",
    "TaskStatus",
    "TaskUpdate",
    "TokenPair",
    "TokenPairTokenType",
    "TokenRequestForm",
    "TokenRequestFormGrantType",
    "User",
    "UserAdminUpdate",
    "UserList",
    "UserRegister",
    "UserRole",
    "UserUpdateMe",
)
