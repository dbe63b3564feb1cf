"""OpenAI's Responses API (``POST /v1/responses``; ``GET``/``DELETE /v1/responses/{id}``).

A deployment that declares ``responses_api`` gets the request untranslated (its own ``store`` off:
the gateway keeps the conversation); any other chat deployment gets it translated to chat
completions (:mod:`headwater.gateway.wire.responses`). ``previous_response_id`` is expanded by the
gateway from its own store into the earlier conversation's items, on both paths, so a conversation
may move between deployments. A response is stored (unless ``store`` is false) for its caller's
principal only: anyone else is told it does not exist.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from headwater.errors import BadRequest, GatewayError, NotFound, error_body
from headwater.gateway import bodies, sse
from headwater.gateway.apis.base import Inbound, bad_request
from headwater.gateway.response_store import ResponseStore, StoredResponse
from headwater.gateway.wire import responses as wire
from headwater.gateway.wire.base import EventEncoder, Json, UsageSniffer, WireError
from headwater.gateway.wire.responses_output import new_id as output_ids
from headwater.snapshot import DeploymentView, KeyView

if TYPE_CHECKING:
    from headwater.gateway.accounting import Call

#: What the gateway does itself, never sent to an upstream that implements the API.
_GATEWAY_FIELDS = ("previous_response_id", "store")


def new_id() -> str:
    return output_ids("resp")


class ResponsesApi:
    operation = "responses"
    kinds = frozenset({"chat"})

    def __init__(self, store: ResponseStore) -> None:
        self.store = store

    def parse(self, raw: bytes) -> Inbound:
        payload = _json(raw)
        try:
            wire.parse(payload)
        except WireError as error:
            raise bad_request(error) from None
        stream = payload.get("stream") is True
        inbound = Inbound(payload, raw, payload["model"], stream, {"model": payload["model"], "messages": []})
        inbound.extra["id"] = new_id()
        inbound.extra["created_at"] = int(time.time())
        return inbound

    def error_body(self, error: GatewayError) -> bytes:
        return error.body()

    def relayed_error(
        self, status: int, message: str, type_: str | None, code: str | None, param: str | None
    ) -> bytes:
        return error_body(message, type_ or "invalid_request_error", code, param)

    async def prepare(self, inbound: Inbound, key: KeyView) -> None:
        previous = inbound.native.get("previous_response_id")
        if isinstance(previous, str):
            record = await self.store.load(key.principal, previous)
            if record is None:
                raise NotFound(
                    f"Previous response with id '{previous}' not found.",
                    code="previous_response_not_found",
                    param="previous_response_id",
                )
            output = record.response.get("output")
            inbound.history = [*record.input_items, *(output if isinstance(output, list) else [])]
        try:
            inbound.chat = wire.request_to_chat(inbound.native, inbound.history)
        except WireError as error:
            inbound.untranslatable = error
            # only an upstream that implements the API can serve it; the estimate still counts it all
            text = orjson.dumps([*inbound.history, inbound.native.get("input")]).decode()
            inbound.chat = {"model": inbound.model, "messages": [{"role": "user", "content": text}]}

    def native_body(self, inbound: Inbound, deployment: DeploymentView, max_tokens: int | None) -> bytes:
        payload = {k: v for k, v in inbound.native.items() if k not in _GATEWAY_FIELDS}
        payload["model"] = deployment.upstream_model
        payload["store"] = False
        if inbound.history:
            payload["input"] = [*inbound.history, *wire.input_items(inbound.native)]
        if max_tokens is not None and payload.get("max_output_tokens") is None:
            payload["max_output_tokens"] = max_tokens
        return orjson.dumps(payload)

    def native_usage(self, data: Json) -> Json | None:
        return wire.usage_of_response(data)

    def sniffer(self) -> UsageSniffer | None:
        return wire.ResponsesUsage()

    def from_chat(self, chat: Json, inbound: Inbound, model: str) -> Json:
        extra = inbound.extra
        return wire.response_from_chat(chat, inbound.native, extra["id"], extra["created_at"], model)

    def encoder(self, inbound: Inbound, model: str) -> EventEncoder:
        extra = inbound.extra
        return wire.ResponsesEncoder(inbound.native, extra["id"], extra["created_at"], model)

    def cut(self, message: str, code: str) -> bytes:
        return sse.terminal_event(sse.Cut(message, code))

    async def finish(self, inbound: Inbound, call: Call, answer: Json | None) -> None:
        if answer is None or inbound.native.get("store") is False:
            return
        response_id = answer.get("id")
        if not isinstance(response_id, str):
            return
        answer = {**answer, "model": call.model.name}
        items = [*inbound.history, *wire.input_items(inbound.native)]
        record = StoredResponse(
            response_id, call.key.principal, call.model.name, int(time.time()), items, answer
        )
        await self.store.save(record)

    async def read(self, owner: str, response_id: str) -> bytes:
        """``GET /v1/responses/{id}``: the stored response, if it is the caller's."""
        record = await self.store.load(owner, response_id)
        if record is None:
            raise _not_found(response_id)
        return orjson.dumps(record.response)

    async def remove(self, owner: str, response_id: str) -> bytes:
        """``DELETE /v1/responses/{id}``."""
        if not await self.store.delete(owner, response_id):
            raise _not_found(response_id)
        return orjson.dumps({"id": response_id, "object": "response.deleted", "deleted": True})

    async def input_items(self, owner: str, response_id: str) -> bytes:
        """``GET /v1/responses/{id}/input_items``: the conversation's input, as stored."""
        record = await self.store.load(owner, response_id)
        if record is None:
            raise _not_found(response_id)
        data: list[Any] = []
        for index, item in enumerate(record.input_items):
            data.append({"id": item.get("id") or f"msg_{response_id[5:29]}{index:04d}", **item})
        first = data[0]["id"] if data else None
        last = data[-1]["id"] if data else None
        return orjson.dumps(
            {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": False}
        )


def _not_found(response_id: str) -> NotFound:
    safe = response_id if len(response_id) <= 128 and response_id.isascii() else "…"
    return NotFound(f"Response with id '{safe}' not found.", code="not_found", param="response_id")


def _json(raw: bytes) -> Json:
    if not raw:
        raise BadRequest("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(
            "We could not parse the JSON body of your request: it is not valid JSON.", code="invalid_json"
        ) from None
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    if bodies.too_deep(raw, payload):
        raise BadRequest(
            f"The JSON body is nested more than {bodies.MAX_DEPTH} levels deep.", code="nesting_too_deep"
        )
    return payload
