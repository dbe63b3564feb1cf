"""Which model a call may use, and what a deployment is sent: the client's request untranslated,
or translated for its provider.

A deployment whose provider speaks the client's API natively gets the client's body (its model
name and, when admission reserved one, the output bound put in); any other gets the request as a
chat completion, translated to its provider's wire. A request that no deployment of the model can
serve (an API its providers do not take, a feature a translation cannot carry) is refused before
it is admitted, so it costs the caller nothing.
"""

from __future__ import annotations

import orjson

from headwater.errors import BadRequest, Forbidden, GatewayError, NotFound
from headwater.gateway.accounting import Call
from headwater.gateway.apis.base import ClientApi, Inbound, bad_request
from headwater.gateway.providers import PROVIDERS
from headwater.gateway.providers.base import Provider
from headwater.gateway.wire.base import WireError
from headwater.snapshot import DeploymentView, KeyView, ModelView, Snapshot

#: The client APIs a translation can carry (through chat completions).
TRANSLATABLE = frozenset({"chat", "responses", "messages"})


def _unsupported(api: ClientApi, model: str, deployment: DeploymentView, provider: Provider) -> BadRequest:
    return BadRequest(
        f"The model `{model}` cannot serve {api.operation} calls "
        f"(its deployment {deployment.id} is a {provider.name} deployment).",
        code="model_not_supported",
        param="model",
    )


def model_for(api: ClientApi, snapshot: Snapshot, key: KeyView, name: str) -> ModelView:
    """The model a call names, if the key may call it on this API (404, 403 or 400 otherwise)."""
    model = snapshot.models.get(name)
    if model is None or not model.enabled:
        raise NotFound(
            f"The model `{name}` does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    if not key.allows(model.name):
        raise Forbidden(
            f"This API key may not use the model `{model.name}`.", code="model_not_allowed", param="model"
        )
    if model.kind not in api.kinds:
        raise BadRequest(
            f"The model `{model.name}` is a {model.kind} model; it is not served on this endpoint.",
            code="model_not_supported",
            param="model",
        )
    return model


def refusal(api: ClientApi, inbound: Inbound, model: ModelView) -> GatewayError | None:
    """Why no deployment of ``model`` can serve the request, or None when one can."""
    error: GatewayError | None = None
    for deployment in model.deployments:
        provider = PROVIDERS[deployment.provider]
        if provider.natively(deployment, api.operation):
            return None
        if api.operation not in TRANSLATABLE:
            error = error or _unsupported(api, model.name, deployment, provider)
        elif inbound.untranslatable is not None:
            error = error or bad_request(inbound.untranslatable)
        else:
            return None
    return error


def body(
    api: ClientApi,
    inbound: Inbound,
    call: Call,
    deployment: DeploymentView,
    provider: Provider,
    default_max_tokens: int,
) -> tuple[bool, bytes]:
    """Whether ``deployment`` takes the call untranslated, and the body it gets."""
    max_tokens = call.ticket.max_tokens if call.ticket is not None else None
    if provider.natively(deployment, api.operation):
        return True, api.native_body(inbound, deployment, max_tokens)
    if api.operation not in TRANSLATABLE:
        raise _unsupported(api, call.model.name, deployment, provider)
    if inbound.untranslatable is not None:
        raise bad_request(inbound.untranslatable)
    chat = inbound.chat
    if max_tokens is not None:
        chat = {**chat, "max_tokens": max_tokens}
    default = call.model.max_output_tokens or default_max_tokens
    try:
        return False, orjson.dumps(provider.request_from_chat(chat, deployment, default))
    except WireError as error:
        raise bad_request(error) from None
