"""Access tokens for the Admin API: a static token, or the client-credentials grant.

A static token (`shpat_…`, custom apps created in the Shopify admin before 2026) never expires.
Apps of the Dev Dashboard exchange their client id and secret for a token that expires after
about 24 hours (`POST https://{shop}.myshopify.com/admin/oauth/access_token`, form fields
`grant_type=client_credentials`, `client_id`, `client_secret`; answer `access_token`, `scope`,
`expires_in` seconds). The client asks for a new one shortly before it expires and once when
the API answers 401. Secrets live in `Secret`s, which never print.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from segflow.errors import SegflowError

REFRESH_MARGIN = 300.0  # seconds before expiry when a new token is asked for


class Secret:
    """A value that never prints: repr / str show `***` (debuggers, locals in tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class StaticToken:
    """A token that does not expire (or whose renewal is the merchant's business)."""

    refreshable = False

    def __init__(self, token: str):
        self._token = Secret(token)

    def token(self, http: httpx.Client) -> str:
        del http
        return self._token.reveal()

    def invalidate(self) -> None:
        pass

    def secrets(self) -> list[str]:
        return [self._token.reveal()]

    def __repr__(self) -> str:
        return "StaticToken(***)"


class ClientCredentials:
    """Tokens from the client-credentials grant, asked for again before they expire."""

    refreshable = True

    def __init__(self, token_url: str, client_id: str, client_secret: str, *,
                 clock: Callable[[], float] = time.monotonic):
        self.token_url = token_url
        self.client_id = client_id
        self._secret = Secret(client_secret)
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.clock = clock
        self.grants = 0
        self.scopes: set[str] = set()

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r})"

    def secrets(self) -> list[str]:
        return [self._secret.reveal()] + ([self._token.reveal()] if self._token else [])

    def invalidate(self) -> None:
        self._token = None

    def token(self, http: httpx.Client) -> str:
        if self._token is None or self.clock() >= self._expires_at - REFRESH_MARGIN:
            self._grant(http)
        assert self._token is not None
        return self._token.reveal()

    def _grant(self, http: httpx.Client) -> None:
        try:
            response = http.post(self.token_url, data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret.reveal()},
                headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SegflowError(f"could not reach Shopify for an access token "
                               f"({type(exc).__name__})") from None
        if response.status_code != 200:
            raise SegflowError(
                f"Shopify refused the app's client credentials (HTTP {response.status_code}): "
                "check client_id and the secret in the variable named by client_secret_env, "
                "and that the app is installed on the shop")
        try:
            body = response.json()
            token, expires_in = str(body["access_token"]), float(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError):
            raise SegflowError("Shopify's access-token answer has no access_token") from None
        self.grants += 1
        self._token = Secret(token)
        self._expires_at = self.clock() + (expires_in or 86_399)
        self.scopes = {s.strip() for s in str(body.get("scope") or "").split(",") if s.strip()}
