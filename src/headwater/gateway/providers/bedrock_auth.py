"""Where a Bedrock call goes, and the headers that authenticate it.

:func:`url` is ``{base}/model/{model id}/converse`` (or ``/converse-stream``), the model id quoted
whole (``:`` and ``/`` of a versioned id or an inference profile ARN included), as botocore sends
it. Send that URL byte for byte (``yarl.URL(url, encoded=True)``): the signature covers the path
as written, and a client that unquotes ``%3A`` breaks it.

:func:`sign` reads the deployment's credential:

- ``ACCESS_KEY_ID:SECRET_ACCESS_KEY`` or ``ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN``: the
  request is signed with Signature Version 4 for the ``bedrock`` service by botocore
  (``SigV4Auth``), over the method, URL, ``Content-Type`` and body; the headers returned
  (``Authorization``, ``X-Amz-Date``, ``X-Amz-Security-Token``, ``Content-Type``) must be sent as
  they are;
- anything else is a Bedrock API key, sent as ``Authorization: Bearer``.

Signing costs one SHA-256 of the body plus botocore's canonical request and HMAC chain; the
credential's parsed form and its signer are kept per (credential, region) so a call builds nothing
else. botocore logs the canonical request (which holds the session token) at DEBUG on the
``botocore.auth`` logger: the first signer made raises that logger to INFO, so no level set for
the gateway's own logs can write a credential.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]

SERVICE = "bedrock"
_ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}")
_JSON = "application/json"


def url(base_url: str, model_id: str, stream: bool) -> str:
    """The Converse (or ConverseStream) URL of ``model_id`` under the runtime endpoint ``base_url``."""
    operation = "converse-stream" if stream else "converse"
    return f"{base_url.rstrip('/')}/model/{quote(model_id, safe='')}/{operation}"


def is_sigv4(credential: str) -> bool:
    """Whether ``credential`` is AWS access keys (signed with SigV4) rather than a Bedrock API key."""
    parts = credential.split(":")
    return len(parts) in (2, 3) and bool(_ACCESS_KEY_ID.fullmatch(parts[0])) and all(parts[1:])


def sign(method: str, url: str, body: bytes, region: str, credential: str) -> dict[str, str]:
    """The headers that authenticate ``method url`` with ``body`` (raises ValueError for a bad region;
    the message never holds the credential)."""
    if not is_sigv4(credential):
        return {"Content-Type": _JSON, "Authorization": f"Bearer {credential}"}
    # imported here (as in _signer): botocore's signing, urllib3 and dateutil, ~4 MB resident in
    # every worker otherwise, for SigV4 deployments only
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]

    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": _JSON})
    _signer(credential, region).add_auth(request)
    return dict(request.headers.items())


@lru_cache(maxsize=64)
def _signer(credential: str, region: str) -> SigV4Auth:
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    if not _REGION.fullmatch(region):
        raise ValueError(f"{region[:40]!r} is not an AWS region name (such as us-east-1).")
    logging.getLogger("botocore.auth").setLevel(logging.INFO)
    access_key, secret_key, *token = credential.split(":")
    return SigV4Auth(Credentials(access_key, secret_key, token[0] if token else None), SERVICE, region)
