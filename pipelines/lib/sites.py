"""``sites.yaml``: the sites aigrid reports on, their local time zone and PUE target."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collectors.errors import ConfigError


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    name: str = ""
    timezone: str = "UTC"
    pue_target: float = Field(default=1.4, ge=1.0, le=3.0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Tokyo)") from None
        return value


class Sites(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    sites: list[Site]


def load_sites(path: Path) -> Sites:
    try:
        doc = yaml.safe_load(path.read_text())
        return Sites.model_validate(doc)
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(str(first["msg"]), file=path, field=field or None) from None


def site_timezones(path: Path) -> dict[str, str]:
    """Site → IANA zone; empty when there is no sites.yaml (timestamps without offset are then UTC)."""
    if not path.exists():
        return {}
    return {s.id: s.timezone for s in load_sites(path).sites}
