from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_request_form_grant_type import TokenRequestFormGrantType
from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenRequestForm")


@_attrs_define
class TokenRequestForm:
    """The OAuth2 password grant; `username` is the email.

    Attributes:
        username (str): An email address (ASCII, without quoted parts or address literals). Compared without
            regard to letter case.
        password (str): The user's password.
        grant_type (TokenRequestFormGrantType | Unset): Must be `password` when sent.
        scope (str | Unset): Ignored; this API has no scopes.
    """

    username: str
    password: str
    grant_type: TokenRequestFormGrantType | Unset = UNSET
    scope: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        username = self.username

        password = self.password

        grant_type: str | Unset = UNSET
        if not isinstance(self.grant_type, Unset):
            grant_type = self.grant_type.value

        scope = self.scope

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "username": username,
                "password": password,
            }
        )
        if grant_type is not UNSET:
            field_dict["grant_type"] = grant_type
        if scope is not UNSET:
            field_dict["scope"] = scope

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        username = d.pop("username")

        password = d.pop("password")

        _grant_type = d.pop("grant_type", UNSET)
        grant_type: TokenRequestFormGrantType | Unset
        if isinstance(_grant_type, Unset):
            grant_type = UNSET
        else:
            grant_type = TokenRequestFormGrantType(_grant_type)

        scope = d.pop("scope", UNSET)

        token_request_form = cls(
            username=username,
            password=password,
            grant_type=grant_type,
            scope=scope,
        )

        token_request_form.additional_properties = d
        return token_request_form

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
