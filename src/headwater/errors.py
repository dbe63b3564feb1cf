"""The gateway's error tree, mapped once to OpenAI's error JSON.

    GatewayError                      {"error": {"message", "type", "param", "code"}}
    ├── BadRequest            400     invalid_request_error  (invalid_json, missing/invalid parameter)
    ├── Unauthorized          401     authentication_error   (missing_api_key, invalid_api_key)
    ├── Forbidden             403     permission_error       (model_not_allowed, key_disabled …)
    ├── NotFound              404     invalid_request_error  (model_not_found, unknown_url)
    ├── MethodNotAllowed      405     invalid_request_error  (method_not_allowed)
    ├── RequestTimeout        408     invalid_request_error  (request_timeout: a body part came too late)
    ├── PayloadTooLarge       413     invalid_request_error  (request_too_large)
    ├── RateLimited           429     requests | tokens | insufficient_quota
    │                                 (rate_limit_exceeded, insufficient_quota)
    ├── UpstreamUnavailable   502     api_error              (upstream_unreachable, bad_upstream_response,
    │                                 upstream_auth_failed, upstream_redirect, upstream_response_too_large)
    ├── LimitsUnavailable     503     api_error              (limits_unavailable)
    └── UpstreamTimeout       504     api_error              (upstream_timeout, upstream_deadline_exceeded)

Upstream 4xx (but 401, 403 and 407, which are the deployment's problem: 502 upstream_auth_failed)
and 429 responses are not GatewayErrors: the proxy relays them with their status, their text
scrubbed (``gateway.scrub``). Messages never contain a key, a hash or a provider credential.
"""

from __future__ import annotations

from typing import ClassVar

import orjson


class GatewayError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        type_: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers
        self.error_type = type_ or self.type

    def body(self) -> bytes:
        return error_body(self.message, self.error_type, self.code, self.param)


class BadRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class Unauthorized(GatewayError):
    status = 401
    type = "authentication_error"


class Forbidden(GatewayError):
    status = 403
    type = "permission_error"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"


class RateLimited(GatewayError):
    status = 429
    type = "requests"


class LimitsUnavailable(GatewayError):
    status = 503
    type = "api_error"


class UpstreamUnavailable(GatewayError):
    status = 502
    type = "api_error"


class UpstreamTimeout(GatewayError):
    status = 504
    type = "api_error"


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


class MethodNotAllowed(GatewayError):
    status = 405
    type = "invalid_request_error"


class RequestTimeout(GatewayError):
    status = 408
    type = "invalid_request_error"
