"""The web console: the files Vite built (``make console``), served at every path the APIs do not take.

:mod:`headwater.main` hands this app every HTTP path that is not ``/v1/*``, a probe, ``/api/*`` or
``/auth/*``. It serves the directory given (by default ``headwater/console`` inside the package,
where ``make console`` builds the React app):

- GET and HEAD only (anything else: 405 with ``Allow: GET, HEAD``);
- a path naming a file of the directory serves it (ETag, ``If-None-Match`` → 304, ranges);
  ``/assets/*`` (Vite's content-hashed files) with ``Cache-Control: public, max-age=31536000,
  immutable``, anything else with ``no-cache`` (revalidated, so a new build shows at once);
- a missing ``/assets/*`` file is 404 (an old page asking for a file of a build gone must not get
  HTML as a script); every other path (the console's own routes, ``/settings/api-keys/abc``) gets
  ``index.html``, ``no-cache``, and the React router takes it from there;
- no ``index.html`` (the console was not built): 503 with a short page saying how to build it; the
  APIs are not affected;
- compressed with gzip when the client accepts it;
- every answer carries a strict Content-Security-Policy (scripts and everything else from this origin
  only, no framing), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and
  ``X-Frame-Options: DENY``.

A path is looked up only if each of its segments is a plain name: none empty, none starting with a
dot (``..``, hidden files), no backslash or NUL. The file found must resolve (symbolic links
followed) inside the directory. So no spelling of a path (``/..%2f..``, encoded, backslashes) reads
anything outside it: such a path is simply one no file answers to.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

import headwater

DEFAULT_DIRECTORY = Path(headwater.__file__).parent / "console"
ASSETS = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
METHODS = ("GET", "HEAD")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Headwater: console not built</title></head>
<body><h1>The Headwater console is not built</h1>
<p>Build it with <code>make console</code> (Node.js and npm needed) and reload this page.</p>
<p>The APIs work without it: the gateway at <code>/v1</code>, the admin API at <code>/api/v1</code>
(documented at <a href="/api/docs">/api/docs</a>).</p></body></html>
"""


def find(root: Path, path: str) -> Path | None:
    """The file of ``root`` (resolved) that ``path`` names, or None: see the module's rules."""
    parts = path.split("/")[1:]
    for part in parts:
        if not part or part.startswith(".") or "\\" in part or "\x00" in part:
            return None
    if not parts:
        return None
    try:
        found = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not found.is_relative_to(root) or not found.is_file():
        return None
    return found


def _not_modified(request: Request, response: Response) -> bool:
    asked = request.headers.get("if-none-match")
    if asked is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in asked.split(",")}
    return "*" in tags or response.headers.get("etag") in tags


class Console:
    """An ASGI app serving the built console from ``directory``."""

    def __init__(self, directory: Path = DEFAULT_DIRECTORY) -> None:
        self.directory = directory
        self._app = GZipMiddleware(self._serve)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_security_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self._app(scope, receive, with_security_headers)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.response(Request(scope))
        await response(scope, receive, send)

    def response(self, request: Request) -> Response:
        if request.method not in METHODS:
            return PlainTextResponse("Method not allowed", 405, headers={"Allow": ", ".join(METHODS)})
        path: str = request.scope["path"]
        root = self.directory.resolve()
        found = find(root, path)
        in_assets = path.startswith(f"/{ASSETS}/")
        if found is not None:
            return self._file(request, found, IMMUTABLE if in_assets else REVALIDATE)
        if in_assets:
            return PlainTextResponse("Not found", 404, headers={"Cache-Control": REVALIDATE})
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, 503, headers={"Cache-Control": "no-store"})
        return self._file(request, index, REVALIDATE)

    def _file(self, request: Request, path: Path, cache_control: str) -> Response:
        try:
            stat_result = os.stat(path)
        except OSError:
            return PlainTextResponse("Not found", 404, headers={"Cache-Control": REVALIDATE})
        response = FileResponse(path, headers={"Cache-Control": cache_control}, stat_result=stat_result)
        if _not_modified(request, response):
            kept = {name: response.headers[name] for name in ("etag", "last-modified", "cache-control")}
            return Response(status_code=304, headers=kept)
        return response
