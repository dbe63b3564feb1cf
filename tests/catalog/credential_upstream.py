"""An OpenAI-compatible upstream that demands one bearer token and records every Authorization header.

``POST /v1/chat/completions`` and ``GET /v1/models`` answer 200 when the header is ``Bearer
<expected>``, else 401 in OpenAI's error shape (the gateway maps it to 502 upstream_auth_failed).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
UNAUTHORISED = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}


class Upstream:
    def __init__(self, expected: str) -> None:
        self.expected = expected
        self.seen: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, ok: Any) -> None:
                header = self.headers.get("Authorization", "")
                upstream.seen.append(header)
                authorised = header == f"Bearer {upstream.expected}"
                body = json.dumps(ok if authorised else UNAUTHORISED).encode()
                self.send_response(200 if authorised else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._answer(COMPLETION)

            def do_GET(self) -> None:
                self._answer({"object": "list", "data": [{"id": "m", "object": "model"}]})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
