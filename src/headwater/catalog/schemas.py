"""Model and deployment schemas, shared by the admin API and ``kind: Model`` documents."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.names import NAME_PATTERN, Amount, ModelName

ModelKind = Literal["chat", "completion", "embedding"]
Provider = Literal["openai", "azure-openai", "anthropic", "bedrock"]
#: Providers whose servers speak OpenAI's API (and may declare the Responses API).
OPENAI_WIRE = frozenset({"openai", "azure-openai"})
Access = Literal["open", "restricted"]
ModelStatus = Literal["active", "disabled"]
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,255}$"
#: Bounds that keep every figure exact in the database, in Redis (int64) and in JSON.
MAX_COUNT = 1_000_000_000_000  # requests or tokens in a limit
MAX_TOKENS_PER_CALL = 100_000_000  # a context window or an output cap


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pricing(_Strict):
    input_per_million: Amount = Field(Decimal(0), ge=0, max_digits=24, decimal_places=12)
    output_per_million: Amount = Field(Decimal(0), ge=0, max_digits=24, decimal_places=12)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")


class UpstreamSpec(_Strict):
    """Where a deployment's server is and how it is called: shared by deployments and connection tests."""

    provider: Provider = Field(
        "openai",
        description="openai: any OpenAI-compatible server (vLLM, TGI, Ollama, LM Studio, OpenAI, the "
        "simulator); azure-openai: an Azure OpenAI resource; anthropic: Anthropic's Messages API; "
        "bedrock: AWS Bedrock's Converse API.",
    )
    base_url: AnyHttpUrl = Field(
        description="openai and anthropic: up to and including /v1 (http://vllm:8000/v1, "
        "https://api.anthropic.com/v1); azure-openai: the resource endpoint "
        "(https://NAME.openai.azure.com); bedrock: the runtime endpoint "
        "(https://bedrock-runtime.us-east-1.amazonaws.com)."
    )
    upstream_model: str = Field(
        min_length=1,
        max_length=256,
        description="The model as the upstream names it; for azure-openai the deployment name, for "
        "bedrock the model or inference profile id.",
    )
    credential_env: str | None = Field(
        None, pattern=ENV_NAME, description="Environment variable holding the upstream API key."
    )
    credential: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        max_length=128,
        description="A stored credential (/api/v1/credentials/{name}) holding the upstream API key; "
        "not with credential_env.",
    )
    api_version: str | None = Field(
        None,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$",
        description="azure-openai only (required there): the api-version, e.g. 2024-10-21.",
    )
    region: str | None = Field(
        None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$",
        description="bedrock only (required there): the AWS region the request is signed for.",
    )
    responses_api: bool = Field(
        False,
        description="openai and azure-openai only: the server implements POST /responses, so Responses "
        "API calls are passed through to it instead of being translated to chat completions.",
    )

    @field_validator("api_version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        # YAML reads an unquoted 2024-10-21 as a date: it means the version
        return value.isoformat() if isinstance(value, date) else value

    @model_validator(mode="after")
    def _provider_fields(self) -> UpstreamSpec:
        if self.provider == "azure-openai" and self.api_version is None:
            raise ValueError("an azure-openai deployment needs api_version (e.g. 2024-10-21)")
        if self.provider != "azure-openai" and self.api_version is not None:
            raise ValueError("api_version is for azure-openai deployments only")
        if self.provider == "bedrock" and self.region is None:
            raise ValueError("a bedrock deployment needs region (e.g. us-east-1)")
        if self.provider != "bedrock" and self.region is not None:
            raise ValueError("region is for bedrock deployments only")
        if self.responses_api and self.provider not in OPENAI_WIRE:
            raise ValueError("responses_api is for openai and azure-openai deployments only")
        return self

    @model_validator(mode="after")
    def _one_credential(self) -> UpstreamSpec:
        if self.credential is not None and self.credential_env is not None:
            raise ValueError("give credential (a stored credential) or credential_env, not both")
        return self

    @field_validator("base_url")
    @classmethod
    def _no_query(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.query or value.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value

    def url(self) -> str:
        return str(self.base_url).rstrip("/")


class DeploymentSpec(UpstreamSpec):
    timeout: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="Seconds until the response starts and between two chunks; default from settings.",
    )
    deadline: float | None = Field(
        None,
        gt=0,
        le=86_400,
        description="Seconds a whole call (a stream included) may take; "
        "default HEADWATER_UPSTREAM_DEADLINE_S.",
    )
    weight: int = Field(1, ge=1, le=1000)


class ConnectionTest(UpstreamSpec):
    """A deployment's server to try (``POST /models/test-connection``): its ``GET {base_url}/models``."""


class ConnectionResult(BaseModel):
    ok: bool = Field(description="The server answered its model list (HTTP 200, OpenAI's JSON shape).")
    status: int | None = Field(description="The HTTP status it answered; null when it did not answer.")
    latency_ms: float = Field(description="Milliseconds until the answer was read, or the attempt failed.")
    upstream_model_listed: bool | None = Field(
        description="Whether upstream_model is in the list; null when no list was read."
    )
    models: list[str] = Field(description="The model ids listed (the first 100).")
    error: str | None = Field(description="What went wrong, when ok is false.")


class ModelLimit(_Strict):
    """A model-wide capacity limit, shared by every caller (protects a shared deployment)."""

    requests: int | None = Field(None, ge=1, le=MAX_COUNT)
    tokens: int | None = Field(None, ge=1, le=MAX_COUNT)
    window: str = Field(pattern=r"^[1-9][0-9]{0,5}[smhd]$", description="Rolling window: 30s, 1m, 1h, 1d.")


class ModelSpec(_Strict):
    kind: ModelKind = "chat"
    access: Access = "open"
    description: str = Field("", max_length=2000)
    context_window: int | None = Field(None, ge=1, le=MAX_TOKENS_PER_CALL)
    max_output_tokens: int | None = Field(
        None,
        ge=1,
        le=MAX_TOKENS_PER_CALL,
        description="The most output tokens one choice may generate: the maximum given to calls that "
        "set none, and a larger max_tokens is refused. Default: HEADWATER_DEFAULT_MAX_TOKENS.",
    )
    pricing: Pricing = Field(default_factory=Pricing)
    status: ModelStatus = "active"
    deployments: list[DeploymentSpec] = Field(min_length=1, max_length=64)
    limits: list[ModelLimit] = Field(default_factory=list, max_length=16)


class ModelCreate(ModelSpec):
    name: ModelName = Field(
        description="The public name callers use: segments of letters, digits and ._:@+- separated by "
        "single slashes, each starting with a letter or digit, at most 128 characters "
        "(granite-3.1-8b, meta-llama/Llama-3.1-8B-Instruct, llama3.1:8b)."
    )


class ModelRead(ModelSpec):
    name: str
    created_at: datetime
    updated_at: datetime
    deployments: list[DeploymentSpec] = Field(
        description="Where the model runs: shown to admins and auditors only (empty for everyone else)."
    )


def _without_userinfo(url: str, replacement: str | None) -> str:
    """``url`` with its userinfo (``user:password@``, a credential) replaced, or dropped for None."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host if replacement is None else f"{replacement}@{host}"))


def audit_state(model: ModelRead) -> dict[str, Any]:
    """A model as the audit trail keeps it: credentials in a deployment's URL are redacted. A stored
    credential's name is kept as ``credential_name``: the trail redacts every field named like a
    secret (``credential``), and this one is only a reference."""
    state = model.model_dump(mode="json")
    for deployment in state["deployments"]:
        deployment["base_url"] = _without_userinfo(deployment["base_url"], "[redacted]")
        deployment["credential_name"] = deployment.pop("credential", None)
    return state


def public_view(model: ModelRead) -> ModelRead:
    """A model as callers who are not admins or auditors see it: without its deployments (where it
    runs, with which credential variable, are internals)."""
    return model.model_copy(update={"deployments": []})


class ModelPage(BaseModel):
    items: list[ModelRead]
    next: str | None
