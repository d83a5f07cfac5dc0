"""The `[shopify]` section of seg.toml, typed; the access token comes from the environment.

```toml
[shopify]
shop = "my-store.myshopify.com"    # the shop's myshopify domain
api_version = "2025-01"            # Admin API version
token_env = "SHOPIFY_ACCESS_TOKEN" # NAME of the env var holding the Admin API access token
# batch_size = 25                  # mutations per request (aliases in one GraphQL document)
# timeout = 30                     # seconds per request
# bulk_threshold = 5000            # this many waiting operations go through a bulk mutation
# endpoint = "http://127.0.0.1:8787"  # only for the local fake (python -m segflow.runtime.shopify.fake)
```

The token itself never goes in a file: only the name of the variable holding it.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segflow.config import Config
from segflow.errors import SegflowError


class ShopifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: str
    api_version: str = "2025-01"
    token_env: str = "SHOPIFY_ACCESS_TOKEN"
    batch_size: int = Field(25, ge=1, le=100)
    timeout: float = Field(30.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    bulk_threshold: int = Field(5000, ge=0)  # waiting operations that switch to bulk (0: never)
    endpoint: str | None = None

    @field_validator("shop")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().removeprefix("https://").rstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", value):
            raise ValueError("expected the shop's domain, e.g. my-store.myshopify.com")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}|unstable", value):
            raise ValueError("expected an Admin API version such as 2025-01")
        return value

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("expected the NAME of an environment variable (the token itself "
                             "never goes in seg.toml)")
        return value

    @field_validator("endpoint")
    @classmethod
    def _local_only(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("plain http is only allowed to 127.0.0.1 (the local fake)")
        return value.rstrip("/")

    def url(self) -> str:
        base = self.endpoint or f"https://{self.shop}"
        return f"{base}/admin/api/{self.api_version}/graphql.json"

    def token(self) -> str:
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise SegflowError(
                f"the Shopify access token is not set: export it in the environment variable "
                f"{self.token_env} (named by [shopify] token_env in seg.toml)")
        return value


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
