"""Data the console tests show: made through the public admin API and the gateway (OpenAI SDK),
exactly as an operator and their users would make it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import openai
from playwright.sync_api import Cookie

from tests.support import Server, Sim, apply, doc, model_doc, usage_events, wait_for


def admin_call(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    """One admin API call with the admin token; raises on an error answer."""
    with server.admin() as admin:
        response = admin.request(method, path, **kwargs)
        if response.is_error:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


def ensure(server: Server, path: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create ``name`` under ``path`` (users, groups, service-accounts) unless it exists already."""
    with server.admin() as admin:
        found = admin.get(f"{path}/{name}")
        if found.status_code == 200:
            existing: dict[str, Any] = found.json()
            return existing
    created: dict[str, Any] = admin_call(server, "POST", path, json={"name": name, **body})
    return created


def create_key(server: Server, name: str, owner: str, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = admin_call(server, "POST", "/keys", json={"name": name, "owner": owner, **body})
    return created


def sdk(server: Server, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=secret, max_retries=0, timeout=20)


def chat(server: Server, secret: str, model: str, text: str = "Say hello") -> str:
    """One chat completion through the gateway with the OpenAI SDK; the answer's text."""
    with sdk(server, secret) as client:
        answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content or ""


def key_works(server: Server, secret: str, model: str) -> bool:
    """Whether the gateway serves ``secret`` (401 means it does not)."""
    try:
        chat(server, secret, model)
    except openai.AuthenticationError:
        return False
    return True


def wait_for_usage(server: Server, count: int, **filters: Any) -> None:
    """Until at least ``count`` usage events matching ``filters`` are stored (they are batched)."""
    wait_for(lambda: len(usage_events(server, **filters)) >= count, timeout=10)


#: The catalog the pages show: chat models and an embedding model, on the simulator.
SHOWCASE_MODELS = (
    ("granite-3.1-8b-instruct", "chat", "0.20", "0.60"),
    ("llama-3.1-70b-instruct", "chat", "0.90", "0.90"),
    ("nomic-embed-text-v1.5", "embedding", "0.02", "0.00"),
)


def seed_showcase(server: Server, sim: Sim) -> dict[str, Any]:
    """A small organisation with real traffic: models, a group with a cost center, two users, a
    service account, a policy, keys, and calls through the gateway. Idempotent per server."""
    documents = [
        model_doc(
            name,
            sim.url,
            kind=kind,
            description=f"{name} served by the in-house inference cluster",
            pricing={"input_per_million": price_in, "output_per_million": price_out, "currency": "USD"},
        )
        for name, kind, price_in, price_out in SHOWCASE_MODELS
    ]
    apply(server, *documents)
    ensure(server, "/groups", "data-science", {"description": "Data science team", "cost_center": "CC-4100"})
    ensure(
        server,
        "/users",
        "maria",
        {"email": "maria@example.com", "display_name": "Maria Rossi", "groups": ["data-science"]},
    )
    ensure(
        server,
        "/users",
        "sam",
        {"email": "sam@example.com", "display_name": "Sam Lee", "groups": ["data-science"]},
    )
    ensure(
        server,
        "/service-accounts",
        "nightly-eval",
        {"group": "data-science", "description": "Nightly evaluation jobs"},
    )
    apply(
        server,
        doc(
            "Policy",
            "data-science-standard",
            displayName="Data science standard tier",
            description="Standard limits for the data science team",
            assets={"models": "all"},
            targets={"groups": ["data-science"], "users": [], "serviceAccounts": []},
            limits=[
                {"requests": 600, "window": "1m", "scope": "user"},
                {"tokens": 2000000, "window": "1d", "scope": "user"},
            ],
            budget={"amount": "250.00", "currency": "USD", "period": "monthly", "scope": "group"},
            overLimit="hard",
            priority=10,
        ),
    )
    existing = {
        key["name"]: key for key in admin_call(server, "GET", "/keys", params={"limit": 200})["items"]
    }
    keys: dict[str, dict[str, Any]] = {}
    chat_models = [model for model, kind, _, _ in SHOWCASE_MODELS if kind == "chat"]
    for name, owner in (
        ("notebook", "user:maria"),
        ("ci-pipeline", "user:sam"),
        ("batch-eval", "serviceaccount:nightly-eval"),
    ):
        if name in existing:
            keys[name] = existing[name]
            continue
        keys[name] = create_key(server, name, owner, description=f"{name} key of {owner.split(':')[1]}")
        with sdk(server, keys[name]["key"]) as client:
            for turn in range(3):
                client.chat.completions.create(
                    model=chat_models[turn % 2],
                    messages=[{"role": "user", "content": f"Question {turn} from {name}"}],
                )
            client.embeddings.create(model="nomic-embed-text-v1.5", input=["a sentence to embed"])
    for key in keys.values():
        wait_for_usage(server, 4, key_id=key["id"])
    return {"keys": keys, "models": [name for name, _, _, _ in SHOWCASE_MODELS]}


def get(server: Server, path: str, **params: Any) -> Any:
    return admin_call(server, "GET", path, params=params)


def client_with_cookies(server: Server, cookies: Sequence[Cookie]) -> httpx.Client:
    """An HTTP client carrying a browser context's cookies for the server (to act in "another tab")."""
    client = httpx.Client(base_url=server.url, timeout=10)
    for cookie in cookies:
        if cookie.get("name", "").startswith("hw_"):
            client.cookies.set(cookie["name"], cookie.get("value", ""))
    return client
