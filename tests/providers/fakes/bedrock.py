"""A local fake of the Bedrock runtime's Converse and ConverseStream APIs (test code, not product).

``POST /model/{model id}/converse`` answers JSON, ``POST /model/{model id}/converse-stream`` an
``application/vnd.amazon.eventstream`` body: binary frames (prelude, headers, payload, CRC32s) that
:func:`frame` encodes here, as Bedrock sends them (one frame per event, each payload padded with a
``"p"`` field). Shapes follow botocore's service model (``data/bedrock-runtime/*/service-2.json``)
and the Converse API reference; error bodies are ``{"message": ...}`` with the type in the
``x-amzn-ErrorType`` header (``Name:http://internal.amazon.com/coral/...``), as the service answers.

Each request is checked as Bedrock checks it, in its words:

- authentication: a SigV4 ``Authorization`` header is verified by recomputing the signature with
  botocore from the request as received (raw path, signed headers, body) and the fake's secret; a
  wrong key id, secret, region, service, date or session token is a 403 in the real error shapes
  (``UnrecognizedClientException``, ``InvalidSignatureException``...). ``Authorization: Bearer`` must
  carry :attr:`FakeBedrock.api_key` (a Bedrock API key);
- the body (:mod:`.bedrock_checks`): a JSON object of Converse's members; ``messages`` alternating
  from ``user``, no blank text, ``toolConfig`` present when tool blocks are, ``inferenceConfig`` in
  range.

Scenarios (``fake.next(...)``): ``text`` (default), ``tool`` (a call of the request's first tool, or
``get_weather``, with ``{"location": "Paris"}``), ``error:400|401|403|404|408|424|429|500|503``
(401: the ``UnrecognizedClientException`` 403 Bedrock gives a bad credential), ``hang`` (no
headers), ``stall`` (first frames, then silence), ``stream-error`` (first frames, then a
``throttlingException`` frame; a call that does not stream gets the 429), ``disconnect``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import struct
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from tests.providers.fakes.bedrock_checks import START_WITH_USER, check_body
from tests.providers.fakes.replay import Ending, ReplayServer, Reply, Request

EVENT_STREAM = "application/vnd.amazon.eventstream"
ERRORS: dict[int, tuple[str, str]] = {
    400: ("ValidationException", START_WITH_USER),
    401: ("UnrecognizedClientException", "The security token included in the request is invalid."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "Model not found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
    424: ("ModelErrorException", "The model returned an error. Try your request again."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error. Try your request again."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
STATUS = {name: 403 if code == 401 else code for code, (name, _) in ERRORS.items()}
SCENARIOS = frozenset(
    {"text", "tool", "hang", "stall", "stream-error", "disconnect", *(f"error:{c}" for c in ERRORS)}
)
#: Frames sent before a stall, a disconnect or an in-stream exception (messageStart, the first delta).
FIRST_FRAMES = 2
TEXT = ("Hello", "! How can I help", " you today?")
TOOL_INPUT = ('{"location":', ' "Paris"}')
USAGE = {"inputTokens": 21, "outputTokens": 9, "totalTokens": 30}
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
STREAM_THROTTLED = "Too many tokens, please wait before trying again."
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
_ROUTE = re.compile(r"/model/(?P<model>[^/]+)/(?P<operation>converse|converse-stream)")


# ---- the event stream encoding (test code: the product decodes with botocore) ---------------------
def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total length, headers length, CRC32), string headers
    (type 7), payload, CRC32 of everything before it."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _padded(body: dict[str, Any]) -> bytes:
    return json.dumps({**body, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[: 4 + len(body)]}).encode()


def event_frame(name: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, _padded(body))


def exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


def stream_frames(
    tool: str | None = None, *, tool_id: str = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
) -> tuple[bytes, ...]:
    """A whole ConverseStream answer: text, or a short text then a call of ``tool``."""
    frames = [event_frame("messageStart", {"role": "assistant"})]
    texts = ("I'll check the weather.",) if tool else TEXT
    frames += [
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in texts
    ]
    frames.append(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
    if tool:
        start = {"toolUse": {"toolUseId": tool_id, "name": tool}}
        frames.append(event_frame("contentBlockStart", {"contentBlockIndex": 1, "start": start}))
        frames += [
            event_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": piece}}})
            for piece in TOOL_INPUT
        ]
        frames.append(event_frame("contentBlockStop", {"contentBlockIndex": 1}))
    frames.append(event_frame("messageStop", {"stopReason": "tool_use" if tool else "end_turn"}))
    frames.append(event_frame("metadata", {"usage": dict(USAGE), "metrics": {"latencyMs": 412}}))
    return tuple(frames)


def converse_response(
    tool: str | None = None, *, tool_id: str = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
) -> dict[str, Any]:
    """A whole Converse answer (the same content as :func:`stream_frames`)."""
    content: list[dict[str, Any]] = [{"text": "I'll check the weather." if tool else "".join(TEXT)}]
    if tool:
        content.append({"toolUse": {"toolUseId": tool_id, "name": tool, "input": {"location": "Paris"}}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if tool else "end_turn",
        "usage": dict(USAGE),
        "metrics": {"latencyMs": 412},
    }


class FakeBedrock(ReplayServer):
    """``with FakeBedrock() as fake:`` a deployment's ``base_url`` is ``fake.base_url``, its
    credential ``fake.credential`` (SigV4) or ``fake.api_key`` (a Bedrock API key), its region
    ``fake.region``."""

    scenarios = SCENARIOS

    def __init__(
        self, *, region: str = "us-east-1", session_token: str | None = None, event_delay: float = 0.0
    ) -> None:
        super().__init__(event_delay=event_delay)
        self.region = region
        self.access_key_id = "AKIA" + secrets.token_hex(8).upper()
        self.secret_access_key = base64.b64encode(secrets.token_bytes(30)).decode()  # 40 chars, '/' and '+'
        self.session_token = session_token
        self.api_key = "ABSK" + base64.b64encode(secrets.token_bytes(48)).decode()

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def credential(self) -> str:
        parts = [self.access_key_id, self.secret_access_key] + (
            [self.session_token] if self.session_token else []
        )
        return ":".join(parts)

    def answer(self, request: Request) -> Reply:
        route = _ROUTE.fullmatch(request.path)
        if request.method != "POST" or route is None:
            return self.error(404, "UnknownOperationException", "")
        refused = self.authenticate(request)
        if refused is not None:
            return refused
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "SerializationException", "")
        problem = check_body(body)
        if problem is not None:
            return self.error(400, "ValidationException", problem)
        stream = route["operation"] == "converse-stream"
        tools = (body.get("toolConfig") or {}).get("tools") or []
        tool = tools[0].get("toolSpec", {}).get("name") if tools else None
        return self.reply(self.take_scenario(), stream, tool or "get_weather")

    # ---- authentication ------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization")
        if header is None:
            return self.error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if header.startswith("Bearer "):
            if secrets.compare_digest(header[7:].encode(), self.api_key.encode()):
                return None
            return self.error(
                403,
                "UnrecognizedClientException",
                "Invalid API Key format: Must start with pre-defined prefix",
            )
        auth = _AUTH.fullmatch(header)
        if auth is None:
            return self.error(
                403,
                "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                f"Authorization={header.split(' ')[0]}",
            )
        if auth["key"] != self.access_key_id:
            return self.error(403, "UnrecognizedClientException", ERRORS[401][1])
        if auth["service"] != "bedrock":
            return self.error(
                403,
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'bedrock'. ",
            )
        if auth["region"] != self.region:
            return self.error(
                403,
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region, not '{auth['region']}'. ",
            )
        if (
            self.session_token is not None
            and request.headers.get("x-amz-security-token") != self.session_token
        ):
            return self.error(403, "UnrecognizedClientException", ERRORS[401][1])
        signed = auth["signed"].split(";")
        stamp = request.headers.get("x-amz-date", "")
        if (
            "host" not in signed
            or "x-amz-date" not in signed
            or any(n not in request.headers for n in signed)
        ):
            return self.error(403, "InvalidSignatureException", BAD_SIGNATURE)
        try:
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self.error(403, "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'.")
        if stamp[:8] != auth["day"] or abs((datetime.now(UTC) - when).total_seconds()) > 300:
            return self.error(403, "InvalidSignatureException", "Signature expired or not yet current.")
        if not secrets.compare_digest(self.signature(request, signed, stamp), auth["signature"]):
            return self.error(403, "InvalidSignatureException", BAD_SIGNATURE)
        return None

    def signature(self, request: Request, signed: list[str], stamp: str) -> str:
        """The signature botocore computes for ``request`` as received, with the fake's secret."""
        query = f"?{urlencode(request.query)}" if request.query else ""
        url = f"http://{request.headers['host']}{request.path}{query}"
        headers = {name: request.headers[name] for name in signed}
        received = AWSRequest(method=request.method, url=url, data=request.body, headers=headers)
        received.context["timestamp"] = stamp
        credentials = Credentials(self.access_key_id, self.secret_access_key, self.session_token)
        signer = SigV4Auth(credentials, "bedrock", self.region)
        canonical = signer.canonical_request(received)
        return str(signer.signature(signer.string_to_sign(received, canonical), received))

    # ---- replies -------------------------------------------------------------------------------------
    def reply(self, scenario: str, stream: bool, tool: str) -> Reply:
        if scenario.startswith("error:"):
            code = int(scenario.removeprefix("error:"))
            return self.error(STATUS[ERRORS[code][0]], *ERRORS[code])
        if scenario == "hang":
            return Reply(200, ending="hang")
        if scenario == "stream-error" and not stream:
            return self.error(429, *ERRORS[429])
        named = tool if scenario == "tool" else None
        ending: Ending = (
            "stall" if scenario == "stall" else "disconnect" if scenario == "disconnect" else "end"
        )
        if not stream:
            body = json.dumps(converse_response(named)).encode()
            return Reply(200, (*self.headers(), ("content-type", "application/json")), body, ending=ending)
        frames = stream_frames(named)
        headers = (*self.headers(), ("content-type", EVENT_STREAM))
        if scenario == "stream-error":
            frames = (*frames[:FIRST_FRAMES], exception_frame("throttlingException", STREAM_THROTTLED))
        elif ending != "end":
            frames = frames[:FIRST_FRAMES]
        return Reply(200, headers, events=frames, ending=ending)

    def error(self, status: int, kind: str, message: str) -> Reply:
        """An error in Bedrock's shape: ``{"message": ...}`` and the type in ``x-amzn-ErrorType``."""
        headers = (
            *self.headers(),
            ("content-type", "application/json"),
            ("x-amzn-errortype", f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        body = {"message": message} if message else {}
        return Reply(status, headers, json.dumps(body).encode())

    def headers(self) -> tuple[tuple[str, str], ...]:
        return (("x-amzn-requestid", str(uuid.uuid4())),)

    def model_ids(self) -> list[str]:
        """The model id of each Converse request received, unquoted."""
        return [unquote(match["model"]) for r in self.requests if (match := _ROUTE.fullmatch(r.path))]
