"""A static OIDC issuer for ``headwater+oidc``: a discovery document and a JWKS that nginx serves.

The bench generates an RSA key at start, writes ``<tmp>/oidc/.well-known/openid-configuration``
and ``<tmp>/oidc/jwks.json`` (nginx.conf.template serves ``/oidc/`` from the temporary directory),
and signs RS256 access tokens with it. The issuer is ``http://127.0.0.1:<nginx port>/oidc``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from common import Failed

AUDIENCE = "headwater-bench"
KID = "bench-1"
ALGORITHM = "RS256"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    url: str  # the issuer, as HEADWATER_OIDC_ISSUER and the tokens' ``iss``
    audience: str
    private_key: rsa.RSAPrivateKey

    def token(
        self, username: str, lifetime_s: int = 3600, *, groups: tuple[str, ...] = (), foreign: bool = False
    ) -> str:
        """An RS256 access token for ``username`` in ``groups``; ``foreign``: signed by a key the JWKS
        lacks (same kid)."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": self.audience,
            "sub": f"bench-subject-{username}",
            "preferred_username": username,
            "groups": list(groups),
            "iat": now,
            "exp": now + lifetime_s,
        }
        key = _rsa_key() if foreign else self.private_key
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": KID})


def start_issuer(directory: Path, upstream: str) -> Issuer:
    """Write the issuer's documents to ``directory/oidc``; check that nginx (``upstream``) serves them."""
    url = f"{upstream}/oidc"
    private_key = _rsa_key()
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk |= {"kid": KID, "use": "sig", "alg": ALGORITHM}
    discovery = {
        "issuer": url,
        "jwks_uri": f"{url}/jwks.json",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
    }
    root = directory / "oidc"
    (root / ".well-known").mkdir(parents=True, exist_ok=True)
    (root / ".well-known" / "openid-configuration").write_bytes(orjson.dumps(discovery))
    (root / "jwks.json").write_bytes(orjson.dumps({"keys": [jwk]}))
    documents = {f"{url}/.well-known/openid-configuration": "issuer", f"{url}/jwks.json": "keys"}
    for path, expected in documents.items():
        try:
            response = httpx.get(path, timeout=5)
            served = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            raise Failed(f"nginx does not serve {path}: {type(exc).__name__}: {exc}") from None
        if expected not in served:
            raise Failed(f"nginx does not serve {path}: HTTP {response.status_code} {response.text[:200]}")
    return Issuer(url, AUDIENCE, private_key)
