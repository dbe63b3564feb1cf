"""A small admin API client for the CLI (HEADWATER_URL, HEADWATER_TOKEN)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class CliError(Exception):
    """One clear line for the user, then a non-zero exit."""


def path_of(*parts: str) -> str:
    """An admin API path (``/models/meta-llama%2FLlama-3.1-8B-Instruct``) from its parts, each one
    percent-encoded as a single segment: a ``/``, ``?``, ``#`` or ``%`` in a name stays in the name,
    and a name of dots is sent encoded (a client would resolve ``..`` into another route)."""
    if not all(parts):
        raise CliError("a name cannot be empty")
    segments = ("%2E" * len(part) if part.strip(".") == "" else quote(part, safe="") for part in parts)
    return "/" + "/".join(segments)


def _describe(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
            parts.append(f"{'.'.join(loc) or 'request'}: {item.get('msg')}")
        return "; ".join(parts)
    if isinstance(detail, str):
        return detail
    return f"HTTP {response.status_code}"


class AdminClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = (url or os.environ.get("HEADWATER_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("HEADWATER_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # imported here: httpx (and the rich.progress, pygments and click it imports) would be
        # ~2.5 MB resident in `headwater serve`, which imports every command's module
        import httpx

        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response of a successful call (any content type); errors as :class:`CliError`."""
        import httpx  # imported here: see __init__

        try:
            response = self._http.request(method, "/api/v1" + path, **kwargs)
        except httpx.ConnectError:
            raise CliError(
                f"cannot reach Headwater at {self.url} (is `headwater serve` running? set HEADWATER_URL)"
            ) from None
        except httpx.TimeoutException:
            raise CliError(f"Headwater at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise CliError(f"request to {self.url} failed: {exc}") from None
        if response.status_code == 401:
            hint = "" if "Authorization" in self._http.headers else " (HEADWATER_TOKEN is not set)"
            raise CliError(f"not authorised: {_describe(response)}{hint}")
        if response.status_code >= 400:
            raise CliError(_describe(response))
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def get_text(self, path: str, accept: str, **params: Any) -> str:
        """A GET answered in another format than JSON (``accept``: e.g. ``text/csv``)."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.send("GET", path, params=query, headers={"Accept": accept}).text

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)
