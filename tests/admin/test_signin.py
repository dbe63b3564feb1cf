"""Browser sign-in end to end: `headwater serve` against a real OIDC provider (code + PKCE), no browser."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.oidc_provider import OidcProvider, drive_login, follow_login, oidc_env
from tests.support import Server, output, start_server, stop, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, oidc: OidcProvider) -> Iterator[Server]:
    started = start_server(database_url, extra_env=oidc_env(oidc))
    oidc.add_redirect_uris([f"{started.url}/auth/callback"])
    yield started
    stop(started.process)


def sign_in(
    server: Server, username: str, password: str, **params: str
) -> tuple[httpx.Client, httpx.Response]:
    """A new 'browser' signed in as ``username``, and the callback's response."""
    client = httpx.Client(base_url=server.url, timeout=10)
    start = str(httpx.URL(f"{server.url}/auth/login", params=params))
    response = drive_login(client, start, username, password, stop_at=f"{server.url}/auth/callback")
    return client, response


def cookies_set(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.partition("=")[0]] = header
    return found


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().partition("=")[0].lower() for part in set_cookie.split(";")[1:]}


def audit(server: Server, **params: Any) -> list[dict[str, Any]]:
    with server.admin() as admin:
        response = admin.get("/audit/events", params={"limit": 500, **params})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def csrf_of(client: httpx.Client) -> str:
    return str(client.cookies["hw_csrf"])


def execute(database_url: str, statement: str, **params: Any) -> None:
    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement), params)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(
    server: Server, oidc: OidcProvider
) -> None:
    response = httpx.get(f"{server.url}/auth/login")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(oidc.authorization_endpoint + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == oidc.client_id
    assert query["redirect_uri"] == f"{server.url}/auth/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert "openid" in query["scope"].split()
    assert oidc.client_secret not in location
    again = httpx.get(f"{server.url}/auth/login").headers["location"]
    assert parse_qs(urlsplit(again).query)["state"][0] != query["state"]


def test_alice_signs_in_with_the_browser_flow(server: Server) -> None:
    with server.admin() as admin:
        assert admin.get("/users/alice").status_code == 404  # created at first sign-in
    client = httpx.Client(base_url=server.url, timeout=10)
    callback = follow_login(
        client, f"{server.url}/auth/login", "alice", "alice-pw", f"{server.url}/auth/callback"
    )
    request_id = "signin-" + secrets.token_hex(6)
    response = client.get(callback, headers={"X-Request-Id": request_id})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    set_cookies = cookies_set(response)
    session, csrf = set_cookies["hw_session"], set_cookies["hw_csrf"]
    assert {"httponly", "samesite", "path", "max-age"} <= attributes(session)
    assert "samesite=lax" in session.lower()
    assert "secure" not in attributes(session)  # served over plain http
    assert "httponly" not in attributes(csrf)  # the UI reads it to echo it in X-CSRF-Token
    assert "secure" not in attributes(csrf) and "samesite=lax" in csrf.lower()

    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json() == {
        "actor": "user:alice",
        "name": "alice",
        "role": "user",
        "via": "session",
        "groups": ["engineering"],
        "admin_of": [],
        "viewing_as_by": None,
    }
    with server.admin() as admin:
        user = admin.get("/users/alice").json()
    assert user["groups"] == ["engineering"] and user["email"] == "alice@example.com"
    assert user["role"] == "user"

    events = [e for e in audit(server, action="user.sign_in") if e["request_id"] == request_id]
    assert len(events) == 1
    event = events[0]
    assert event["actor"] == "user:alice" and event["outcome"] == "success"
    assert event["target_type"] == "user" and event["target_id"] == "alice"
    assert event["source_ip"] == "127.0.0.1"
    # the user and the group were created by that very sign-in, on the record with it
    created = [e for e in audit(server, actor="user:alice") if e["request_id"] == request_id]
    assert {(e["action"], e["target_id"]) for e in created} >= {("user.create", "alice")}
    assert next(e for e in created if e["action"] == "user.create")["after"]["groups"] == ["engineering"]
    # no secrets in the trail nor in the server's log
    cookie = client.cookies["hw_session"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    for secret in (cookie, code, csrf_of(client)):
        assert secret not in str(events) and secret not in output(server.process)
    client.close()


def test_groups_are_created_at_first_sign_in_and_synced_at_every_sign_in(
    server: Server, oidc: OidcProvider
) -> None:
    name = f"erin{secrets.token_hex(3)}"
    oidc.set_user(name, password="erin-pw", groups=["sync-one", "sync-two"])
    with server.admin() as admin:
        assert admin.get(f"/users/{name}").status_code == 404
        client, response = sign_in(server, name, "erin-pw")
        assert response.status_code == 303, response.text
        assert admin.get(f"/users/{name}").json()["groups"] == ["sync-one", "sync-two"]
        assert admin.get("/groups/sync-one").json()["source"] == "oidc"
        # an admin adds the user to a local group: sign-ins leave that membership alone
        assert admin.post("/groups", json={"name": f"local-{name}"}).status_code == 201
        body = {"email": f"{name}@example.com", "groups": ["sync-one", "sync-two", f"local-{name}"]}
        assert admin.put(f"/users/{name}", json=body).status_code == 200, admin.put(f"/users/{name}").text

        oidc.set_user(name, groups=["sync-two", "sync-three"])
        assert client.get("/api/v1/me").json()["groups"] == sorted(["sync-one", "sync-two", f"local-{name}"])
        again, response = sign_in(server, name, "erin-pw")
        assert response.status_code == 303, response.text
        expected = sorted(["sync-two", "sync-three", f"local-{name}"])
        assert admin.get(f"/users/{name}").json()["groups"] == expected
        assert again.get("/api/v1/me").json()["groups"] == expected
    client.close()
    again.close()


def test_roles_come_from_groups_and_csrf_guards_changes(server: Server) -> None:
    carol, _ = sign_in(server, "carol", "carol-pw")
    me = carol.get("/api/v1/me").json()
    assert (me["name"], me["role"], me["groups"]) == ("carol", "admin", ["hw-admins"])
    body = {"name": f"team-{secrets.token_hex(3)}"}
    missing = carol.post("/api/v1/groups", json=body)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = carol.post("/api/v1/groups", json=body, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    created = carol.post("/api/v1/groups", json=body, headers={"X-CSRF-Token": csrf_of(carol)})
    assert created.status_code == 201, created.text

    dave, _ = sign_in(server, "dave", "dave-pw")
    me = dave.get("/api/v1/me").json()
    assert (me["name"], me["role"]) == ("dave", "auditor")
    assert dave.get("/api/v1/keys").status_code == 200
    assert dave.get("/api/v1/audit/events").status_code == 200
    denied = dave.post("/api/v1/groups", json={"name": "nope"}, headers={"X-CSRF-Token": csrf_of(dave)})
    assert denied.status_code == 403
    for client in (carol, dave):
        client.close()


def test_logout_ends_the_session_and_clears_the_cookies(server: Server) -> None:
    client, _ = sign_in(server, "bob", "bob-pw")
    session = client.cookies["hw_session"]
    assert client.post("/auth/logout").status_code == 403  # CSRF-checked
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/auth/logout", headers={"X-CSRF-Token": csrf_of(client)})
    assert response.status_code == 200, response.text
    cleared = cookies_set(response)
    for name in ("hw_session", "hw_csrf"):
        assert "max-age=0" in cleared[name].lower()
    assert "hw_session" not in client.cookies
    after = httpx.get(f"{server.url}/api/v1/me", cookies={"hw_session": session})
    assert after.status_code == 401 and after.headers["www-authenticate"] == "Bearer"
    assert after.json()["detail"]
    signed_out = [e for e in audit(server, action="user.sign_out") if e["actor"] == "user:bob"]
    assert signed_out and signed_out[0]["outcome"] == "success"
    client.close()


def test_the_session_lives_in_the_database(server: Server) -> None:
    client, _ = sign_in(server, "bob", "bob-pw")
    assert client.get("/api/v1/me").status_code == 200
    execute(server.database_url, "DELETE FROM sessions WHERE user_name = :user", user="bob")
    assert client.get("/api/v1/me").status_code == 401
    client.close()


def failures(server: Server) -> list[dict[str, Any]]:
    return [e for e in audit(server, action="user.sign_in") if e["outcome"] == "failure"]


def test_bad_callbacks_fail_clearly_and_are_audited(server: Server) -> None:
    before = len(failures(server))
    client = httpx.Client(base_url=server.url, timeout=10)
    callback = follow_login(
        client, f"{server.url}/auth/login", "alice", "alice-pw", f"{server.url}/auth/callback"
    )
    assert client.get(callback).status_code == 303
    code = parse_qs(urlsplit(callback).query)["code"][0]

    replayed = client.get(callback)  # the state is good for one callback
    assert replayed.status_code == 400
    assert "state" in replayed.json()["detail"]
    unknown = client.get("/auth/callback", params={"state": "forged", "code": "whatever"})
    assert unknown.status_code == 400 and "state" in unknown.json()["detail"]
    # an error from the provider, on a sign-in under way
    fresh = httpx.Client(base_url=server.url, timeout=10)
    state = parse_qs(urlsplit(fresh.get("/auth/login").headers["location"]).query)["state"][0]
    refused = fresh.get("/auth/callback", params={"state": state, "error": "access_denied"})
    assert refused.status_code == 400
    assert "access_denied" in refused.json()["detail"]
    for response in (replayed, unknown, refused):
        assert "hw_session" not in response.headers.get("set-cookie", "")
        assert code not in response.text
    events = wait_for(lambda: (found := failures(server)) and len(found) >= before + 3 and found)
    assert len(events) == before + 3
    assert {e["outcome"] for e in events} == {"failure"} and all(e["detail"] for e in events)
    assert all(e["source_ip"] == "127.0.0.1" and e["request_id"] for e in events)
    client.close()
    fresh.close()


def test_a_callback_from_another_browser_is_refused(server: Server) -> None:
    """The state is bound to the browser that started the sign-in (no login CSRF)."""
    attacker = httpx.Client(base_url=server.url, timeout=10)
    callback = follow_login(
        attacker, f"{server.url}/auth/login", "bob", "bob-pw", f"{server.url}/auth/callback"
    )
    victim = httpx.Client(base_url=server.url, timeout=10)
    response = victim.get(callback)
    assert response.status_code == 400
    assert "hw_session" not in victim.cookies
    attacker.close()
    victim.close()


@pytest.mark.parametrize(
    ("return_to", "location"),
    [
        ("/api/v1/me?x=1", "/api/v1/me?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/\t/evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_return_to_is_a_local_path_only(server: Server, return_to: str, location: str) -> None:
    client, response = sign_in(server, "bob", "bob-pw", return_to=return_to)
    assert response.status_code == 303
    assert response.headers["location"] == location
    client.close()


def test_over_https_the_cookies_are_secure_and_sessions_expire(database_url: str, oidc: OidcProvider) -> None:
    public = "https://headwater.example"
    env = {
        **oidc_env(oidc),
        "HEADWATER_PUBLIC_URL": public,
        "HEADWATER_SESSION_TTL_S": "3",
        "HEADWATER_LOG_LEVEL": "debug",  # even then, no secret reaches the log
    }
    https_server = start_server(database_url, extra_env=env)
    oidc.add_redirect_uris([f"{public}/auth/callback"])
    try:
        client = httpx.Client(timeout=10)
        start = client.get(f"{https_server.url}/auth/login")
        assert parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"] == [
            f"{public}/auth/callback"
        ]
        login_cookies = cookies_set(start)
        callback = follow_login(client, start.headers["location"], "bob", "bob-pw", f"{public}/auth/callback")
        # the TLS-terminating proxy would forward this to Headwater; the browser sends back its cookies
        bound = {name: header.split(";")[0].partition("=")[2] for name, header in login_cookies.items()}
        local = callback.replace(public, https_server.url, 1)
        response = httpx.get(local, cookies=bound)
        assert response.status_code == 303, response.text
        set_cookies = cookies_set(response)
        for name in ("hw_session", "hw_csrf"):
            assert "secure" in attributes(set_cookies[name]), set_cookies[name]
        assert "httponly" in attributes(set_cookies["hw_session"])
        session = set_cookies["hw_session"].split(";")[0].partition("=")[2]
        assert httpx.get(f"{https_server.url}/api/v1/me", cookies={"hw_session": session}).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            me = httpx.get(f"{https_server.url}/api/v1/me", cookies={"hw_session": session})
            if me.status_code == 401:
                break
            time.sleep(0.5)
        assert me.status_code == 401  # expired
        client.close()
        # uvicorn's access lines (the callback URL) are left aside: HEADWATER_ACCESS_LOG decides those
        log = "\n".join(
            line for line in output(https_server.process).splitlines() if "uvicorn.access" not in line
        )
        code = parse_qs(urlsplit(callback).query)["code"][0]
        for secret in (oidc.client_secret, code, session, *bound.values()):
            assert secret not in log
        assert "eyJ" not in log  # no JWT (ID or access token) either
    finally:
        stop(https_server.process)


def test_a_disabled_user_loses_the_session_and_cannot_sign_in(server: Server, oidc: OidcProvider) -> None:
    name = f"gina{secrets.token_hex(3)}"
    oidc.set_user(name, password="gina-pw", groups=["research"])
    client, response = sign_in(server, name, "gina-pw")
    assert response.status_code == 303
    with server.admin() as admin:
        body = {"email": f"{name}@example.com", "groups": ["research"], "status": "disabled"}
        assert admin.put(f"/users/{name}", json=body).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    again, refused = sign_in(server, name, "gina-pw")
    assert refused.status_code == 403
    assert "disabled" in refused.json()["detail"]
    assert "hw_session" not in again.cookies
    events = [e for e in failures(server) if e["actor"] == f"user:{name}"]
    assert len(events) == 1 and events[0]["target_id"] == name
    client.close()
    again.close()
