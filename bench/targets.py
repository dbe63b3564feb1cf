"""The proxies under test: the reference proxy and Headwater (plain, with a policy, an OIDC token, Redis,
and the translated paths of issue 14: Messages and Responses in, chat out; chat in, Anthropic out)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from common import (
    API,
    API_PATHS,
    BENCH,
    BODIES,
    CHAT_MODEL,
    CLAUDE_MODEL,
    CLAUDE_STREAM_MODEL,
    HEADWATER,
    HOST,
    MODES,
    OIDC,
    POLICY_REDIS,
    PROXY_CPU,
    REQUESTS,
    STREAM_MODEL,
    TRANSLATED,
    UPSTREAM_PATHS,
    VENV_BIN,
    Failed,
    Processes,
    Started,
    free_port,
    pinned,
    wait_http,
    wait_listening,
)
from oidc import Issuer

#: The header that proves admission ran: Headwater sends it only when a request limit applied.
LIMIT_HEADER = "x-ratelimit-remaining-requests"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_USER = "bench-user"
#: The access token's user: a name of its own (a token never takes over a declared user) in a group
#: (from the token's groups claim) that the policy targets.
BENCH_TOKEN_USER = "bench-token-user"
BENCH_GROUP = "bench-team"
BENCH_POLICY = "bench-tier"
#: The anthropic deployments' credential variable (nginx ignores the key; Headwater must send one).
ANTHROPIC_KEY_ENV = "HEADWATER_UPSTREAM_BENCH_ANTHROPIC"

RESOURCES_YAML = """\
apiVersion: headwater/v1
kind: Model
metadata: {{name: {chat}}}
spec:
  kind: chat
  pricing: {{inputPerMillion: "0.20", outputPerMillion: "0.60", currency: USD}}
  deployments:
    - {{provider: openai, baseUrl: "{upstream}/v1", upstreamModel: {chat}}}
---
apiVersion: headwater/v1
kind: Model
metadata: {{name: {stream}}}
spec:
  kind: chat
  deployments:
    - {{provider: openai, baseUrl: "{upstream}/stream/v1", upstreamModel: {stream}}}
---
apiVersion: headwater/v1
kind: Model
metadata: {{name: {claude}}}
spec:
  kind: chat
  pricing: {{inputPerMillion: "3", outputPerMillion: "15", currency: USD}}
  deployments:
    - {{provider: anthropic, baseUrl: "{upstream}/anthropic/v1", upstreamModel: claude-bench,
        credentialEnv: {anthropic_key}}}
---
apiVersion: headwater/v1
kind: Model
metadata: {{name: {claude_stream}}}
spec:
  kind: chat
  deployments:
    - {{provider: anthropic, baseUrl: "{upstream}/anthropic-stream/v1", upstreamModel: claude-bench,
        credentialEnv: {anthropic_key}}}
---
apiVersion: headwater/v1
kind: User
metadata: {{name: {user}}}
spec: {{}}
---
apiVersion: headwater/v1
kind: Group
metadata: {{name: {group}}}
spec: {{description: "the access token's group (groups claim)"}}
---
apiVersion: headwater/v1
kind: Policy
metadata: {{name: {policy}}}
spec:
  description: "make bench: limits so large that they never refuse, so every call is admitted"
  assets: {{models: all}}
  targets: {{users: [{user}], groups: [{group}]}}
  limits:
    - {{requests: 100000000, window: 1h, scope: user}}
    - {{tokens: 100000000000, window: 1h, scope: user}}
"""


@dataclass
class Target:
    name: str
    base: str
    key: str | None = None
    pid: int | None = None  # whose RSS is reported
    paths: dict[str, str] = field(default_factory=lambda: dict(UPSTREAM_PATHS))
    #: True: every response must carry LIMIT_HEADER (admission on); False: none may; None: not checked.
    limited: bool | None = None
    #: Checks of this target beyond :func:`check`, run once before measuring (raise Failed).
    verify: Callable[[], None] | None = field(default=None, repr=False)
    #: The client API it speaks (chat, messages, responses) and the body it is sent per mode.
    api: str = "chat"
    bodies: dict[str, str] = field(default_factory=lambda: dict(REQUESTS))

    def url(self, mode: str) -> str:
        return self.base + self.paths[mode]


def answer_problem(api: str, mode: str, text: str) -> str | None:
    """Why a 200 answer is not a plausible answer of ``api`` in ``mode``, or None."""
    if mode == "stream":
        last = {
            "chat": "data: [DONE]",
            "messages": "event: message_stop",
            "responses": "event: response.completed",
        }
        if last[api] not in text:
            return f"the stream has no {last[api]!r}: {text[-300:]!r}"
        return None
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return f"not JSON: {text[:300]}"
    if not isinstance(body, dict):
        return f"not a JSON object: {text[:300]}"
    if api == "messages":
        fine = body.get("type") == "message" and bool(body.get("content"))
    elif api == "responses":
        fine = body.get("status") == "completed" and bool(body.get("output"))
    else:
        fine = bool(body.get("choices"))
    return None if fine else f"not a {api} answer: {text[:300]}"


def check(target: Target, mode: str, attempts: int = 1) -> None:
    """One request by hand: the right status, a plausible body and the rate-limit headers, or Failed."""
    headers = {"Content-Type": "application/json"}
    if target.key:
        headers["Authorization"] = f"Bearer {target.key}"
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.25)
        try:
            response = httpx.post(target.url(mode), content=target.bodies[mode], headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        text = response.text
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}: {text[:500]}"
        elif mode == "stream" and target.api == "chat" and not text.rstrip().endswith("data: [DONE]"):
            problem = f"the stream did not end with data: [DONE]: {text[-300:]!r}"
        elif (wrong := answer_problem(target.api, mode, text)) is not None:
            problem = wrong
        elif target.limited and LIMIT_HEADER not in response.headers:
            problem = f"no {LIMIT_HEADER} header: admission did not run (headers: {dict(response.headers)})"
        elif target.limited is False and LIMIT_HEADER in response.headers:
            problem = f"{LIMIT_HEADER} is set ({response.headers[LIMIT_HEADER]}) but no policy should apply"
        else:
            return
    raise Failed(f"{target.name} {mode}: {problem}")


def start_reference(
    procs: Processes, upstream: str, wrap: list[str] | None = None, ready_s: float = 30.0
) -> tuple[Started, Target]:
    """The reference proxy; ``wrap`` (bench/instructions.py: valgrind) goes before its command."""
    port = free_port()
    argv = [sys.executable, str(BENCH / "refproxy.py"), "--port", str(port), "--upstream", upstream]
    entry = procs.start("refproxy", pinned(PROXY_CPU, [*(wrap or []), *argv]))
    wait_listening(port, entry, ready_s)
    return entry, Target("reference", f"http://{HOST}:{port}", pid=entry.process.pid)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's HEADWATER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(extra)
    return env


@dataclass
class Headwater:
    """One ``headwater serve`` process and the targets (keys) measured through it."""

    entry: Started
    base: str
    token: str  # the admin token
    targets: dict[str, Target]
    redis_prefix: str | None = None


def redis_reachable(url: str = REDIS_URL) -> str | None:
    """None when Redis answers PING, else why not."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def redis_version(url: str = REDIS_URL) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return str(client.info("server").get("redis_version", "?"))
        finally:
            client.close()
    except Exception:
        return "?"


def redis_keys(prefix: str, delete: bool = False, url: str = REDIS_URL) -> int:
    """How many keys start with ``prefix`` (SCAN); with ``delete``, delete them too."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    found = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=prefix + "*", count=1000):
            found += 1
            batch.append(key)
            if delete and len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if delete and batch:
            client.delete(*batch)
    finally:
        client.close()
    return found


def _cli(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Failed(f"`{' '.join(argv[1:3])}` failed (code {done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def start_headwater(
    procs: Processes,
    upstream: str,
    names: list[str] | None = None,
    redis: bool = False,
    issuer: Issuer | None = None,
    workers: int = 1,
    pin: bool = True,
    label: str | None = None,
    wrap: list[str] | None = None,
    ready_s: float = 60.0,
    more_settings: dict[str, str] | None = None,
) -> Headwater:
    """``headwater serve`` (1 worker, its own SQLite file) with the models, the user, the policy and keys.

    One credential per target in ``names``: ``headwater`` gets a key without an owner (no policy
    applies); ``headwater+policy`` and ``headwater+policy+redis`` a key owned by the policy's user;
    ``headwater+oidc`` (needs ``issuer``: the process then trusts it, HEADWATER_OIDC_ISSUER and
    HEADWATER_OIDC_AUDIENCE) an RS256 access token naming that user. With ``redis``, the process
    uses the Redis limiter under a random key prefix, deleted again when the run ends. Each key is
    tried until the gateway knows it; the caller checks the rate-limit headers and runs the token
    target's ``verify``. ``workers`` > 1 (``--workers``, needs ``redis``), ``pin=False`` (not on
    PROXY_CPU) and ``label`` (the name of its log, database and YAML files) are for bench/scaling.py;
    ``wrap`` (a command put before ``headwater serve``: valgrind), ``ready_s`` and ``more_settings``
    (``HEADWATER_*`` settings) for bench/instructions.py.
    """
    name = label or ("headwater-redis" if redis else "headwater")
    port = free_port()
    token = "hwadm_" + secrets.token_urlsafe(32)
    settings = {
        "HEADWATER_DATABASE_URL": f"sqlite+aiosqlite:///{procs.directory / f'{name}.db'}",
        "HEADWATER_DATA_DIR": str(procs.directory / f"{name}-data"),
        "HEADWATER_ADMIN_TOKEN": token,
        "HEADWATER_LOG_LEVEL": "warning",
        ANTHROPIC_KEY_ENV: "sk-ant-bench-" + secrets.token_hex(8),
    }
    settings |= more_settings or {}
    if names is None:
        names = [POLICY_REDIS] if redis else [HEADWATER]
    if OIDC in names:
        if issuer is None:
            raise Failed(f"{OIDC} needs the bench's OIDC issuer")
        settings |= {"HEADWATER_OIDC_ISSUER": issuer.url, "HEADWATER_OIDC_AUDIENCE": issuer.audience}
    prefix = None
    if redis:
        if (why := redis_reachable()) is not None:
            raise Failed(f"Redis at {REDIS_URL} is unreachable ({why}); set BENCH_REDIS_URL")
        prefix = f"hwbench:{secrets.token_hex(6)}:"
        settings |= {
            "HEADWATER_REDIS_URL": REDIS_URL,
            "HEADWATER_REDIS_PREFIX": prefix,
            "HEADWATER_LIMITS_FAIL": "closed",  # never fall back to per-process counters unnoticed
        }

        def forget(prefix: str = prefix) -> None:
            print(f"deleted {redis_keys(prefix, delete=True)} Redis keys {prefix}*", flush=True)

        procs.cleanups.append(forget)
    headwater = str(VENV_BIN / "headwater")
    argv = [*(wrap or []), headwater, "serve", "--host", HOST, "--port", str(port)]
    argv += ["--workers", str(workers)] if workers > 1 else []
    entry = procs.start(name, pinned(PROXY_CPU, argv) if pin else argv, clean_env(**settings))
    base = f"http://{HOST}:{port}"
    wait_http(f"{base}/readyz", entry, timeout=ready_s)

    cli_env = clean_env(HEADWATER_URL=base, HEADWATER_TOKEN=token)
    resources = procs.directory / f"{name}.yaml"
    resources.write_text(
        RESOURCES_YAML.format(
            chat=CHAT_MODEL,
            stream=STREAM_MODEL,
            claude=CLAUDE_MODEL,
            claude_stream=CLAUDE_STREAM_MODEL,
            anthropic_key=ANTHROPIC_KEY_ENV,
            upstream=upstream,
            user=BENCH_USER,
            group=BENCH_GROUP,
            policy=BENCH_POLICY,
        )
    )
    _cli([headwater, "apply", "-f", str(resources)], cli_env)
    gateway_paths = {"non-stream": "/v1/chat/completions", "stream": "/v1/chat/completions"}
    targets = {}
    for target_name in names:
        if target_name == OIDC and issuer is not None:
            targets[OIDC] = token_target(issuer, base, token, entry.process.pid)
            continue
        owned = target_name not in (HEADWATER, *TRANSLATED)  # the translated paths: no policy, as headwater
        key_name = {HEADWATER: "bench"}.get(
            target_name, "bench-policy" if owned else "bench-" + target_name.replace("→", "-")
        )
        argv = [headwater, "keys", "create", "--name", key_name, "--json"]
        if owned:
            argv += ["--owner", f"user:{BENCH_USER}"]
        key = orjson.loads(_cli(argv, cli_env))["key"]
        target = Target(target_name, base, key=key, pid=entry.process.pid, limited=owned)
        target.paths = dict(gateway_paths)
        if target_name in TRANSLATED:
            target.api = API[target_name]
            target.bodies = dict(BODIES[target_name])
            target.paths = dict.fromkeys(MODES, API_PATHS[target.api])
        for mode in MODES:  # the new resources and keys reach the gateway within a snapshot poll
            check(dataclasses.replace(target, limited=None), mode, attempts=40)
        targets[target_name] = target
    owned_any = any(t.limited for t in targets.values())
    if prefix is not None and owned_any and not redis_keys(prefix):
        raise Failed(f"{name}: answered calls but wrote no Redis keys under {prefix}: no admission on Redis?")
    return Headwater(entry, base, token, targets, prefix)


def token_target(issuer: Issuer, base: str, admin_token: str, pid: int) -> Target:
    """``headwater+oidc``: one access token of a user in the policy's group, and the checks that it is
    used as such.

    ``verify`` (run before measuring): the token answers 200 with the rate-limit headers in both
    modes (retried until the user and policy reach the gateway), a token with a forged signature is
    refused with 401, and the newest usage event of a token call (``key_id=oidc``) names
    ``user:bench-token-user``.
    """
    paths = {"non-stream": "/v1/chat/completions", "stream": "/v1/chat/completions"}
    token = issuer.token(BENCH_TOKEN_USER, groups=(BENCH_GROUP,))
    target = Target(OIDC, base, key=token, pid=pid, paths=paths, limited=True)

    def verify() -> None:
        for mode in MODES:
            check(target, mode, attempts=40)
        forged_token = issuer.token(BENCH_TOKEN_USER, groups=(BENCH_GROUP,), foreign=True)
        forged = dataclasses.replace(target, key=forged_token)
        response = httpx.post(
            forged.url("non-stream"),
            content=REQUESTS["non-stream"],
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {forged.key}"},
            timeout=10,
        )
        if response.status_code != 401:
            raise Failed(f"{OIDC}: a token with a forged signature got HTTP {response.status_code}, not 401")
        principal = None
        for _ in range(40):  # the usage writer flushes about once a second
            time.sleep(0.25)
            try:
                answer = httpx.get(
                    f"{base}/api/v1/usage/events",
                    params={"key_id": "oidc", "limit": 1, "order": "desc"},
                    headers={"Authorization": f"Bearer {admin_token}"},
                    timeout=10,
                )
                items = answer.json()["items"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                continue
            if items:
                principal = items[0].get("principal")
                break
        if principal != f"user:{BENCH_TOKEN_USER}":
            raise Failed(
                f"{OIDC}: the usage event of a token call names {principal!r}, not user:{BENCH_TOKEN_USER}"
                if principal
                else f"{OIDC}: no usage event with key_id=oidc within 10 s of the token calls"
            )

    target.verify = verify
    return target


def usage_events(base: str, token: str) -> int | None:
    """The id of the newest usage event (ids count up from 1): how many calls were accounted."""
    try:
        response = httpx.get(
            f"{base}/api/v1/usage/events",
            params={"limit": 1, "order": "desc"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        items = response.json()["items"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return int(items[0]["id"]) if items else 0
