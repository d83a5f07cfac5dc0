"""Project configuration: `seg.toml` at the root of a segments repository.

```toml
[project]
segments = "segments"          # where segment files live

[store]
timezone = "America/Toronto"   # the store's time zone: what "today" and a day mean

[database]
url = "postgresql://..."        # optional; SEG_DATABASE_URL overrides; none: embedded cluster
```
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from segflow.errors import SegflowError

CONFIG_FILE = "seg.toml"
DATABASE_URL_ENV = "SEG_DATABASE_URL"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectSection(_Section):
    segments: str = "segments"


class StoreSection(_Section):
    timezone: str = "UTC"
    currency: str = "USD"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from segflow.compiler.evaluation import zone

        try:
            zone(value)
        except SegflowError as exc:
            raise ValueError(exc.message) from None
        return value


class DatabaseSection(_Section):
    url: str | None = None


class Config(_Section):
    project: ProjectSection = ProjectSection()
    store: StoreSection = StoreSection()
    database: DatabaseSection = DatabaseSection()
    # sections owned by later features are accepted as free-form tables
    shopify: dict = {}
    sync: dict = {}
    run: dict = {}

    root: Path = Path(".")

    @property
    def segments_dir(self) -> Path:
        return self.root / self.project.segments

    def database_url(self) -> str | None:
        """The configured database, if any: the env var wins over the file."""
        return os.environ.get(DATABASE_URL_ENV) or self.database.url


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding seg.toml; `start` itself when none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SegflowError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate({**data, "root": root})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SegflowError(f"{path}: {problems}") from None
    return config
