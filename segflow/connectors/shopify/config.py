"""The `[shopify]` section of seg.toml, typed; secrets come from the environment.

```toml
[shopify]
shop = "my-store.myshopify.com"    # the shop's myshopify domain
api_version = "2026-10"            # Admin API version (a supported one: docs/shopify.md)
# either a static Admin API token (custom apps made in the admin before 2026) ...
token_env = "SHOPIFY_ACCESS_TOKEN" # NAME of the env var holding the shpat_ token
# ... or an app of the Dev Dashboard: client id + secret, tokens by the client-credentials grant
# client_id = "0123abcd..."
# client_secret_env = "SHOPIFY_CLIENT_SECRET"  # NAME of the env var holding the secret
# batch_size = 25                  # mutations per request (aliases in one GraphQL document)
# timeout = 30                     # seconds per request
# bulk_threshold = 5000            # this many waiting operations go through a bulk mutation
# endpoint = "http://127.0.0.1:8787"  # only the local fake, with SEG_SHOPIFY_ALLOW_LOCAL=1
```

Secrets never go in a file: only the names of the variables holding them.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segflow.config import Config
from segflow.connectors.shopify.redact import looks_like_secret
from segflow.errors import SegflowError

DEFAULT_API_VERSION = "2026-10"  # newest stable on 2026-12-07; supported until 2027-10
ALLOW_LOCAL_ENV = "SEG_SHOPIFY_ALLOW_LOCAL"  # =1: `endpoint` may point at a loopback address
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SHOP = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")


class ShopifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: str
    api_version: str = DEFAULT_API_VERSION
    token_env: str = "SHOPIFY_ACCESS_TOKEN"
    client_id: str | None = None
    client_secret_env: str | None = None
    batch_size: int = Field(25, ge=1, le=100)
    timeout: float = Field(30.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    bulk_threshold: int = Field(5000, ge=0)  # waiting operations that switch to bulk (0: never)
    endpoint: str | None = None

    @field_validator("shop")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("https://").rstrip("/")
        if re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            value += ".myshopify.com"
        if not _SHOP.fullmatch(value):
            raise ValueError("expected the shop's myshopify domain, e.g. my-store.myshopify.com "
                             "(the token is only ever sent to *.myshopify.com)")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-(01|04|07|10)|unstable", value):
            raise ValueError(f"expected an Admin API version such as {DEFAULT_API_VERSION} "
                             "(Shopify releases one each quarter: YYYY-01, -04, -07, -10)")
        return value

    @field_validator("token_env", "client_secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if looks_like_secret(value):
            raise ValueError("this looks like a token or secret itself, not the NAME of an "
                             "environment variable: put the value in the environment (and "
                             "rotate it if this file was shared), then name the variable here")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("expected the NAME of an environment variable (the token itself "
                             "never goes in seg.toml)")
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", value.strip()):
            raise ValueError("expected the app's client id from the Dev Dashboard (Settings)")
        return value.strip() if value else value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected a URL such as http://127.0.0.1:8787 (the local fake)")
        return value.rstrip("/")

    def uses_client_credentials(self) -> bool:
        return self.client_id is not None or self.client_secret_env is not None

    def base_url(self) -> str:
        """Where requests go: the shop, or a loopback `endpoint` when explicitly allowed."""
        if self.endpoint is None:
            return f"https://{self.shop}"
        host = urlsplit(self.endpoint).hostname
        if host not in _LOOPBACK:
            raise SegflowError(
                "[shopify] endpoint may only point at this machine (127.0.0.1, localhost), for "
                "the local fake: requests with the token go to the shop's myshopify domain")
        if os.environ.get(ALLOW_LOCAL_ENV) != "1":
            raise SegflowError(
                f"[shopify] endpoint is set, which sends requests to the local fake instead of "
                f"{self.shop}: export {ALLOW_LOCAL_ENV}=1 to allow it (tests and local trials "
                "only), or remove `endpoint` from seg.toml")
        return self.endpoint

    def url(self) -> str:
        return f"{self.base_url()}/admin/api/{self.api_version}/graphql.json"

    def token_url(self) -> str:
        """The client-credentials grant's endpoint."""
        return f"{self.base_url()}/admin/oauth/access_token"

    def _env(self, name: str, what: str) -> str:
        value = os.environ.get(name, "").strip()
        if not value:
            raise SegflowError(f"the {what} is not set: export it in the environment variable "
                               f"{name} (named in [shopify] of seg.toml; see docs/shopify.md)")
        return value

    def token(self) -> str:
        return self._env(self.token_env, "Shopify access token")

    def client_secret(self) -> str:
        if not self.client_id or not self.client_secret_env:
            raise SegflowError("[shopify] needs both client_id and client_secret_env for the "
                               "client-credentials grant (see docs/shopify.md)")
        return self._env(self.client_secret_env, "Shopify app's client secret")


def is_configured(config: Config) -> bool:
    return bool(config.shopify)


def shopify_config(config: Config) -> ShopifyConfig:
    """The typed section; a clear error when it is missing or wrong."""
    if not config.shopify:
        raise SegflowError("Shopify is not configured: add a [shopify] section to seg.toml "
                           "(shop, api_version, token_env); see docs/shopify.md")
    try:
        return ShopifyConfig.model_validate(config.shopify)
    except ValidationError as exc:
        problems = "; ".join(f"shopify.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise SegflowError(f"{config.root / 'seg.toml'}: {problems}") from None
