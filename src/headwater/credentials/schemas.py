"""What the credentials API takes and answers. A value goes in; no read ever gives it back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from headwater.names import Name

#: The longest value accepted (a cloud provider's access key pair fits many times over).
MAX_VALUE_CHARS = 8192


class CredentialPut(BaseModel):
    """``PUT /api/v1/credentials/{name}``: create or replace a credential's value."""

    model_config = ConfigDict(extra="forbid")

    value: SecretStr = Field(
        description="The secret (an upstream API key): stored encrypted, never shown again.",
        min_length=1,
        max_length=MAX_VALUE_CHARS,
    )
    description: str = Field("", max_length=2000)

    @field_validator("value")
    @classmethod
    def _one_line(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if not (text.isascii() and text.isprintable()):
            raise ValueError("value must be one line of printable ASCII characters (it is sent in a header)")
        if text != text.strip():
            raise ValueError("value must not start or end with blanks")
        return value


class CredentialRead(BaseModel):
    """A credential as every read shows it: that it is set and when, never its value."""

    name: Name
    description: str
    set: bool = Field(True, description="Always true: a stored credential has a value.")
    created_at: datetime
    updated_at: datetime = Field(description="When the value (or description) was last replaced.")
    used_by: list[str] = Field(description="The models whose deployments name this credential.")


class CredentialPage(BaseModel):
    items: list[CredentialRead]
    next: str | None
