"""The web console, served by the real Headwater ASGI app from a (tiny, fake) Vite build.

Files, the client-side routes' fallback to index.html, caching, gzip, the security headers, methods,
path traversal in every spelling, and the page shown when the console was not built (the APIs keep
working).
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from headwater.main import Headwater
from headwater.settings import Settings

INDEX = (
    b'<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head></html>\n'
)
SCRIPT = b"console.log('headwater console');\n" * 40  # large enough to be compressed
SECRET = b"not for the console's visitors\n"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Site:
    app: Headwater
    dist: Path
    token: str

    async def request(self, method: str, path: str, **headers: str) -> httpx.Response:
        """``path`` exactly as given: httpx would normalise ``..`` and encodings in a URL."""
        return await call(self.app, method, path, headers)


def build(dist: Path, *, index: bool = True) -> None:
    (dist / "assets").mkdir(parents=True)
    (dist / "assets" / "app-abc123.js").write_bytes(SCRIPT)
    (dist / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (dist / ".vite").mkdir()
    (dist / ".vite" / "manifest.json").write_text("{}")
    if index:
        (dist / "index.html").write_bytes(INDEX)


async def call(app: Any, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """One request through the app's ASGI interface, its path handed over as a server decodes it."""
    raw = path.encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),  # as uvicorn decodes it
        "raw_path": raw,
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "hw", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("hw", 80),
    }
    sent: list[dict[str, Any]] = []
    asked = False
    answered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()  # the client goes away once it has the whole answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return httpx.Response(
        start["status"],
        headers=[(k.decode(), v.decode()) for k, v in start["headers"]],
        content=body,
        extensions={"sent": body},  # as sent, before httpx decodes a Content-Encoding
    )


async def started(tmp_path: Path, dist: Path) -> AsyncIterator[Site]:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}", admin_token="console-t"
    )
    app = Headwater(settings, console=dist)
    await app.start()
    try:
        yield Site(app, dist, "console-t")
    finally:
        await app.stop()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    dist = tmp_path / "dist"
    build(dist)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (dist / "assets" / "leak.js").symlink_to(tmp_path / "secret.txt")
    async for made in started(tmp_path, dist):
        yield made


@pytest.fixture
async def unbuilt(tmp_path: Path) -> AsyncIterator[Site]:
    dist = tmp_path / "dist"
    build(dist, index=False)
    async for made in started(tmp_path, dist):
        yield made


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_root_and_client_routes_get_index_html(site: Site) -> None:
    for path in ("/", "/settings/api-keys/abc/details", "/keys", "/index.html", "/models/meta-llama/x"):
        response = await site.request("GET", path)
        assert response.status_code == 200, path
        assert response.content == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert_secured(response)


async def test_hashed_assets_are_cached_for_good(site: Site) -> None:
    response = await site.request("GET", "/assets/app-abc123.js")
    assert response.status_code == 200 and response.content == SCRIPT
    assert response.headers["cache-control"] == IMMUTABLE
    assert "javascript" in response.headers["content-type"]
    assert_secured(response)
    icon = await site.request("GET", "/favicon.svg")
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"
    assert icon.headers["content-type"] == "image/svg+xml"


async def test_a_missing_asset_is_404_not_the_page(site: Site) -> None:
    for path in ("/assets/app-old999.js", "/assets/", "/assets/nested/x.css"):
        response = await site.request("GET", path)
        assert response.status_code == 404, path
        assert response.content != INDEX
        assert_secured(response)


async def test_revalidation_answers_304(site: Site) -> None:
    first = await site.request("GET", "/")
    again = await site.request("GET", "/", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert_secured(again)
    (site.dist / "index.html").write_bytes(INDEX + b"<!-- a new build -->\n")
    rebuilt = await site.request("GET", "/", **{"If-None-Match": first.headers["etag"]})
    assert rebuilt.status_code == 200 and rebuilt.content.endswith(b"<!-- a new build -->\n")


async def test_gzip_when_the_client_accepts_it(site: Site) -> None:
    packed = await site.request("GET", "/assets/app-abc123.js", **{"Accept-Encoding": "gzip, br"})
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.extensions["sent"]) == SCRIPT
    assert len(packed.extensions["sent"]) < len(SCRIPT) / 4
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert_secured(packed)
    plain = await site.request("GET", "/assets/app-abc123.js")
    assert "content-encoding" not in plain.headers and plain.extensions["sent"] == SCRIPT


async def test_only_get_and_head(site: Site) -> None:
    head = await site.request("HEAD", "/assets/app-abc123.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(SCRIPT))
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = await site.request(method, "/settings")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"
        assert_secured(response)


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/..%2fsecret.txt",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..\\secret.txt",
        "/assets\\..\\..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//etc/passwd",
        "/assets/leak.js",  # a link inside the directory to a file outside it
        "/.vite/manifest.json",  # hidden files are not served
        "/favicon.svg%00.html",
    ],
)
async def test_no_path_escapes_the_directory(site: Site, path: str) -> None:
    response = await site.request("GET", path)
    assert SECRET not in response.content and b"root:" not in response.content
    assert response.content in (INDEX, b"Not found"), response.content[:80]
    assert_secured(response)


async def test_the_apis_are_not_the_console(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.token}"}
    assert (await site.request("GET", "/api/v1/me", **headers)).json()["actor"] == "admin:bootstrap"
    assert (await site.request("GET", "/api/v1/nothing-here", **headers)).status_code == 404
    assert (await site.request("GET", "/api/docs")).status_code == 200
    assert (await site.request("GET", "/v1/models")).status_code == 401
    assert (await site.request("GET", "/healthz")).status_code == 200
    login = await site.request("GET", "/auth/login")
    assert login.status_code == 404 and "sign-in is not configured" in login.json()["detail"]
    assert "content-security-policy" not in login.headers


async def test_an_unbuilt_console_says_how_to_build_it(unbuilt: Site) -> None:
    for path in ("/", "/settings/api-keys"):
        response = await unbuilt.request("GET", path)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert b"make console" in response.content
        assert_secured(response)
    assert (await unbuilt.request("GET", "/assets/app-abc123.js")).status_code == 200
    headers = {"Authorization": f"Bearer {unbuilt.token}"}
    assert (await unbuilt.request("GET", "/api/v1/info")).status_code == 200
    assert (await unbuilt.request("GET", "/api/v1/keys", **headers)).status_code == 200
    assert (await unbuilt.request("GET", "/v1/models")).status_code == 401
