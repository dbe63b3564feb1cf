"""A real OpenID Connect provider for tests: panva's `oidc-provider` (OpenID certified) run by node.

    provider = start_oidc_provider([OidcUser("alice", "pw", "alice@example.com", ["admins"])],
                                   redirect_uris=[f"{headwater}/auth/callback"])
    token = provider.access_token("alice", "pw")   # a JWT (RFC 9068) for provider.audience
    response = drive_login(client, f"{headwater}/auth/login", "alice", "pw",
                           stop_at=f"{headwater}/auth/callback")
    provider.rotate_keys()                         # new signing key, the old one stays published
    provider.stop()

Users' `sub` is ``sub-<username>`` (see :func:`subject_of`); ID and access tokens carry `email`,
`email_verified` (true unless a user is set otherwise), `preferred_username` and `groups`. Every
access token is a JWT whose `aud` is the audience, whether
or not the client sends a `resource` (the provider defaults it). Consent is granted automatically.
The node side is tests/oidc/provider.mjs; `make test` installs its node_modules.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support import free_port

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_SCRIPT = OIDC_DIR / "provider.mjs"
# The redirect URI the fixture itself uses for its own code flows: registered, never fetched.
INTERNAL_REDIRECT_URI = "http://127.0.0.1:1/cb"
DEFAULT_SCOPE = "openid email profile groups"

_FORM = re.compile(r"<form\b[^>]*\baction=\"([^\"]*)\"", re.IGNORECASE)
_ERROR = re.compile(r"id=\"error\"[^>]*>(.*?)</", re.IGNORECASE | re.DOTALL)


class OidcLoginError(RuntimeError):
    """The provider refused a login (wrong password) or a flow did not end where it should have."""


@dataclass
class OidcUser:
    username: str
    password: str
    email: str
    groups: list[str] = field(default_factory=list)


def subject_of(username: str) -> str:
    """The `sub` the provider gives a user (deliberately not the username)."""
    return f"sub-{username}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _follow(client: httpx.Client, start_url: str, username: str, password: str, stop_at: str) -> str:
    """Follow redirects (submitting the login form once) until a URL starting with `stop_at`."""
    url, method, data = start_url, "GET", None
    submitted = False
    for _ in range(30):
        if url.startswith(stop_at):
            return url
        response = client.request(method, url, data=data, follow_redirects=False)
        method, data = "GET", None
        if response.is_redirect:
            url = str(response.url.join(response.headers["location"]))
            continue
        form = _FORM.search(response.text) if response.status_code in (200, 401) else None
        if form is None:
            raise OidcLoginError(f"unexpected {response.status_code} from {url}:\n{response.text[:2000]}")
        if submitted:
            error = _ERROR.search(response.text)
            reason = html.unescape(error.group(1)).strip() if error else "login form shown again"
            raise OidcLoginError(f"login refused for {username!r}: {reason}")
        url = str(response.url.join(html.unescape(form.group(1))))
        method, data = "POST", {"username": username, "password": password}
        submitted = True
    raise OidcLoginError(f"no redirect to {stop_at} after 30 steps (last: {url})")


def follow_login(client: httpx.Client, start_url: str, username: str, password: str, stop_at: str) -> str:
    """Like :func:`drive_login`, but stops before fetching the callback: returns its full URL
    (with ``code`` and ``state``), e.g. to fetch it from another address or more than once."""
    return _follow(client, start_url, username, password, stop_at)


def drive_login(
    client: httpx.Client, start_url: str, username: str, password: str, stop_at: str
) -> httpx.Response:
    """Sign in through the provider like a browser would, without one.

    Starts at `start_url` (e.g. a relying party's login route that redirects to the provider),
    follows redirects one by one, submits the provider's login form, and follows redirects back
    until a URL starting with `stop_at` (the relying party's callback); it then GETs that URL
    with the same client (not following its redirects) and returns that response, so cookies the
    relying party sets land in `client.cookies`. Raises :class:`OidcLoginError` when the login is
    refused.
    """
    final_url = _follow(client, start_url, username, password, stop_at)
    return client.get(final_url, follow_redirects=False)


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    audience: str
    resource: str  # the resource indicator (an absolute URI) whose tokens have `aud` = audience
    redirect_uris: list[str]
    token_endpoint_auth_method: str
    users: dict[str, OidcUser]
    process: subprocess.Popen[bytes]
    log_path: Path
    metadata: dict[str, Any] = field(default_factory=dict)  # the discovery document

    @property
    def jwks_uri(self) -> str:
        return str(self.metadata["jwks_uri"])

    @property
    def token_endpoint(self) -> str:
        return str(self.metadata["token_endpoint"])

    @property
    def authorization_endpoint(self) -> str:
        return str(self.metadata["authorization_endpoint"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- test controls ---------------------------------------------------------------------------
    def rotate_keys(self, drop_old: bool = False) -> str:
        """Publish a new RSA signing key first and sign with it from now on; returns its `kid`.

        Older keys stay in the JWKS (tokens they signed still verify) unless `drop_old`."""
        params = {"drop_old": "1"} if drop_old else {}
        response = httpx.post(f"{self.issuer}/__test/rotate", params=params, timeout=10)
        response.raise_for_status()
        return str(response.json()["kid"])

    def kids(self) -> list[str]:
        """The ids of the published signing keys, newest first."""
        response = httpx.get(f"{self.issuer}/__test/keys", timeout=10)
        response.raise_for_status()
        return [str(kid) for kid in response.json()["kids"]]

    def set_redirect_uris(self, redirect_uris: Sequence[str]) -> None:
        """Replace the client's registered redirect URIs (the fixture's own one is kept)."""
        self.redirect_uris = [*redirect_uris, INTERNAL_REDIRECT_URI]
        body = {"client_id": self.client_id, "redirect_uris": self.redirect_uris}
        httpx.post(f"{self.issuer}/__test/redirect_uris", json=body, timeout=10).raise_for_status()

    def add_redirect_uris(self, redirect_uris: Sequence[str]) -> None:
        """Register more redirect URIs for the client, keeping those already registered."""
        more = [uri for uri in redirect_uris if uri not in self.redirect_uris]
        if more:
            self.redirect_uris = [*more, *self.redirect_uris]
            body = {"client_id": self.client_id, "redirect_uris": self.redirect_uris}
            httpx.post(f"{self.issuer}/__test/redirect_uris", json=body, timeout=10).raise_for_status()

    def set_user(
        self,
        username: str,
        *,
        password: str | None = None,
        email: str | None = None,
        groups: Sequence[str] | None = None,
        email_verified: bool | None = None,
    ) -> OidcUser:
        """Add a user, or change one (what is not given is kept); tokens issued from now on show it.
        ``email_verified`` (the provider says true unless told otherwise) is sent as given."""
        known = self.users.get(username)
        user = OidcUser(
            username,
            password if password is not None else (known.password if known else ""),
            email if email is not None else (known.email if known else f"{username}@example.com"),
            list(groups) if groups is not None else (list(known.groups) if known else []),
        )
        body: dict[str, Any] = {
            "username": username,
            "password": user.password,
            "email": user.email,
            "groups": user.groups,
        }
        if email_verified is not None:
            body["email_verified"] = email_verified
        httpx.post(f"{self.issuer}/__test/users", json=body, timeout=10).raise_for_status()
        self.users[username] = user
        return user

    # ---- tokens ----------------------------------------------------------------------------------
    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str, **extra: str) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": DEFAULT_SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return f"{self.authorization_endpoint}?{urlencode(params)}"

    def exchange_code(self, client: httpx.Client, code: str, *, redirect_uri: str, verifier: str) -> Any:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return self._token_request(client, data)

    def _token_request(self, client: httpx.Client, data: dict[str, str]) -> Any:
        if self.token_endpoint_auth_method == "client_secret_post":
            data = {**data, "client_id": self.client_id, "client_secret": self.client_secret}
            response = client.post(self.token_endpoint, data=data)
        else:
            auth = httpx.BasicAuth(self.client_id, self.client_secret)
            response = client.post(self.token_endpoint, data=data, auth=auth)
        if response.status_code != 200:
            raise OidcLoginError(f"token request failed ({response.status_code}): {response.text}")
        return response.json()

    def tokens(self, username: str, password: str, *, scope: str = DEFAULT_SCOPE, **extra: str) -> Any:
        """The whole token response (access_token, id_token, ...) of a code + PKCE flow."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        url = self.authorize_url(
            redirect_uri=INTERNAL_REDIRECT_URI, state=state, code_challenge=challenge, scope=scope, **extra
        )
        with httpx.Client(timeout=10) as client:
            final = _follow(client, url, username, password, INTERNAL_REDIRECT_URI)
            query = {k: v[0] for k, v in parse_qs(urlsplit(final).query).items()}
            if "code" not in query:
                raise OidcLoginError(f"no code in the redirect: {final}")
            if query.get("state") != state:
                raise OidcLoginError(f"state mismatch in the redirect: {final}")
            code = query["code"]
            return self.exchange_code(client, code, redirect_uri=INTERNAL_REDIRECT_URI, verifier=verifier)

    def access_token(self, username: str, password: str) -> str:
        """A JWT access token for `audience`, obtained through a full code + PKCE flow."""
        return str(self.tokens(username, password)["access_token"])

    def client_credentials_token(self, scope: str = "api") -> str:
        """A JWT access token for `audience` issued to the client itself (no user; `sub` = client id)."""
        with httpx.Client(timeout=10) as client:
            data = {"grant_type": "client_credentials", "scope": scope}
            return str(self._token_request(client, data)["access_token"])

    # ---- lifecycle -------------------------------------------------------------------------------
    def stop(self) -> str:
        """Stop the provider (SIGTERM, then SIGKILL) and return its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log()

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _node() -> str:
    node = shutil.which("node") or "/usr/bin/node"
    if not Path(node).exists():
        raise RuntimeError("node is needed for the OIDC provider used by the tests (install nodejs)")
    return node


def start_oidc_provider(
    users: Sequence[OidcUser],
    *,
    client_id: str = "headwater",
    client_secret: str | None = None,  # default: a random one
    redirect_uris: Sequence[str] = (),
    post_logout_redirect_uris: Sequence[str] = (),
    audience: str = "headwater-api",
    token_endpoint_auth_method: str = "client_secret_basic",  # noqa: S107 (not a password)
    access_token_ttl: int = 3600,
    timeout: float = 20.0,
) -> OidcProvider:
    """Start the provider on a free port and wait until its discovery document answers."""
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        raise RuntimeError(
            f"{OIDC_DIR / 'node_modules'} is missing: run `make test` (or "
            "`make tests/oidc/node_modules/.installed`), which installs the test OIDC provider with npm"
        )
    all_redirect_uris = [*redirect_uris, INTERNAL_REDIRECT_URI]
    client_secret = client_secret or secrets.token_urlsafe(24)
    config = {
        "users": [
            {"username": u.username, "password": u.password, "email": u.email, "groups": list(u.groups)}
            for u in users
        ],
        "clients": [
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": all_redirect_uris,
                "post_logout_redirect_uris": list(post_logout_redirect_uris),
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "token_endpoint_auth_method": token_endpoint_auth_method,
            }
        ],
        "audience": audience,
        "access_token_ttl": access_token_ttl,
    }
    directory = Path(tempfile.mkdtemp(prefix="headwater-oidc-"))
    config_path = directory / "config.json"
    config_path.write_text(json.dumps(config, indent=2))
    log_path = directory / "provider.log"
    for _attempt in range(3):  # a free port can be taken by someone else before node binds it
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [_node(), str(PROVIDER_SCRIPT), str(config_path), str(port)],
                cwd=OIDC_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        issuer = f"http://127.0.0.1:{port}"
        provider = OidcProvider(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            audience=audience,
            resource=audience if urlsplit(audience).scheme else f"urn:{audience}",
            redirect_uris=all_redirect_uris,
            token_endpoint_auth_method=token_endpoint_auth_method,
            users={u.username: u for u in users},
            process=process,
            log_path=log_path,
        )
        metadata = _wait_ready(provider, timeout)
        if metadata is not None:
            provider.metadata = metadata
            return provider
        if "EADDRINUSE" not in provider.log():
            break
    raise RuntimeError(f"the OIDC provider did not start (exit {process.poll()}):\n{provider.log()}")


def _wait_ready(provider: OidcProvider, timeout: float) -> dict[str, Any] | None:
    url = f"{provider.issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            return None
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                metadata: dict[str, Any] = response.json()
                return metadata
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    provider.stop()
    return None


#: The people of the shared test provider (the `oidc` fixture): two plain users in different groups,
#: an admin and an auditor by group membership.
TEST_USERS = (
    OidcUser("alice", "alice-pw", "alice@example.com", ["engineering"]),
    OidcUser("bob", "bob-pw", "bob@example.com", ["research"]),
    OidcUser("carol", "carol-pw", "carol@example.com", ["hw-admins"]),
    OidcUser("dave", "dave-pw", "dave@example.com", ["hw-auditors"]),
)


def oidc_env(provider: OidcProvider, *, sign_in: bool = True) -> dict[str, str]:
    """The HEADWATER_OIDC_* settings of a Headwater that trusts ``provider``."""
    env = {
        "HEADWATER_OIDC_ISSUER": provider.issuer,
        "HEADWATER_OIDC_AUDIENCE": provider.audience,
        "HEADWATER_OIDC_ADMIN_GROUPS": "hw-admins",
        "HEADWATER_OIDC_AUDITOR_GROUPS": "hw-auditors",
    }
    if sign_in:
        env["HEADWATER_OIDC_CLIENT_ID"] = provider.client_id
        env["HEADWATER_OIDC_CLIENT_SECRET"] = provider.client_secret
    return env
