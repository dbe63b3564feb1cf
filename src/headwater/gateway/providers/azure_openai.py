"""``azure-openai``: an Azure OpenAI resource.

``base_url`` is the resource endpoint (``https://NAME.openai.azure.com``), ``upstream_model`` the
Azure deployment's name, ``api_version`` the ``api-version`` query parameter; the credential is sent
as the ``api-key`` header. The wire is OpenAI's: bodies and answers pass through as for ``openai``
(Azure adds content-filter fields, which are relayed as they come).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from yarl import URL

from headwater.gateway.providers.base import RESPONSES
from headwater.gateway.providers.openai import PATHS, OpenAIWire
from headwater.snapshot import DeploymentView

_BASE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


class AzureOpenAI(OpenAIWire):
    name = "azure-openai"

    def _url(self, deployment: DeploymentView, operation: str) -> URL:
        base = deployment.base_url
        if base.endswith("/openai"):
            base = base[: -len("/openai")]
        if operation == RESPONSES:
            path = "/openai/responses"
        else:
            path = f"/openai/deployments/{quote(deployment.upstream_model, safe='')}{PATHS[operation]}"
        return URL(base + path, encoded=False).with_query({"api-version": deployment.api_version or ""})

    def _headers(self, deployment: DeploymentView) -> Mapping[str, str]:
        if deployment.credential:
            return {**_BASE_HEADERS, "api-key": deployment.credential}
        return _BASE_HEADERS
