"""Tenants and the attribution of GPU time and energy to them.

``tenants.yaml`` lists tenants and how their GPU use is recognised. For every GPU sample the holder is
decided in this order (documented in the file the simulator writes, and in docs):

1. a **reservation** of that GPU (UUID, validity window): the reserving tenant holds the whole sample,
   whether anything runs on it or not (a bare-metal lease is billed when idle);
2. each process / pod holding the GPU is matched to a tenant: first by **HPC job prefix** (Slurm or
   dcgm-exporter ``hpc_job``), then by **Kubernetes namespace** pattern; no match → ``unattributed``;
3. nobody holds it → ``idle``.

Several holders on one GPU (time-slicing) share the sample by their own utilisation where the source knows
it, else equally. Each sample's duration, busy time (utilisation × duration) and energy are split by share,
so tenants + unattributed + idle add up to exactly the metered GPU time and energy.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectors.errors import ConfigError

IDLE = "idle"
UNATTRIBUTED = "unattributed"
RESERVED_IDS = {IDLE, UNATTRIBUTED}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class Reservation(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    gpus: list[str] = Field(min_length=1)
    valid_from: dt.datetime = Field(alias="from")
    valid_until: dt.datetime = Field(alias="until")

    @model_validator(mode="after")
    def _window(self) -> Reservation:
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=dt.UTC))
        if self.valid_until <= self.valid_from:
            raise ValueError("'until' must be after 'from'")
        return self


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    kind: Literal["ai", "ran"] = "ai"
    namespaces: list[str] = Field(default_factory=list)
    hpc_job_prefixes: list[str] = Field(default_factory=list)
    reservations: list[Reservation] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits, '-', '_' or '.' (at most 63)")
        if value in RESERVED_IDS:
            raise ValueError(f"'{value}' is reserved for the line aigrid adds itself")
        return value


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    tenants: list[Tenant]

    @model_validator(mode="after")
    def _consistent(self) -> TenantConfig:
        seen: set[str] = set()
        for t in self.tenants:
            if t.id in seen:
                raise ValueError(f"tenant id '{t.id}' appears twice")
            seen.add(t.id)
        windows: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = {}
        for t in self.tenants:
            for r in t.reservations:
                for gpu in r.gpus:
                    for lo, hi, other in windows.get(gpu, []):
                        if r.valid_from < hi and lo < r.valid_until:
                            raise ValueError(f"GPU {gpu} is reserved by both '{other}' and '{t.id}' at the same time")
                    windows.setdefault(gpu, []).append((r.valid_from, r.valid_until, t.id))
        return self

    def kind_of(self, tenant: str) -> str:
        if tenant in RESERVED_IDS:
            return tenant
        return next((t.kind for t in self.tenants if t.id == tenant), "ai")


def load_tenants(path: Path) -> TenantConfig:
    """Read and validate ``tenants.yaml``; every problem names the tenant and field."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError("file not found; write tenants.yaml (see docs/tenancy.md)", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {exc}", file=path, line=mark.line + 1 if mark else None) from None
    try:
        return TenantConfig.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        where = _describe(doc, loc)
        raise ConfigError(str(first["msg"]), file=path, field=where or None) from None


def _describe(doc: object, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node = doc
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            label = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{label or item}]")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def attribute(samples: pl.DataFrame, config: TenantConfig) -> pl.DataFrame:
    """Split whole-GPU samples among tenants.

    Input: ``gpu_sample`` rows (ts, site, gpu_uuid, gpu_instance_id, interval_s, util_ratio, energy_j, holders).
    Output: one row per sample and tenant: ts, site, gpu_uuid, tenant, gpu_s, busy_s, energy_j.
    """
    whole = samples.filter(pl.col("gpu_instance_id").is_null()).with_row_index("__sample")
    ts_type = whole.schema["ts"]
    if isinstance(ts_type, pl.Datetime) and ts_type.time_zone is not None:
        whole = whole.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    if whole.is_empty():
        return pl.DataFrame(
            schema={
                "ts": pl.Datetime("us"),
                "site": pl.String,
                "gpu_uuid": pl.String,
                "tenant": pl.String,
                "gpu_s": pl.Float64,
                "busy_s": pl.Float64,
                "energy_j": pl.Float64,
            }
        )
    reserved = _reservations(whole, config)
    rest = whole.join(reserved.select("__sample"), on="__sample", how="anti")
    held = rest.filter(pl.col("holders").list.len() > 0)
    idle = rest.filter(pl.col("holders").list.len() == 0).with_columns(
        pl.lit(IDLE).alias("tenant"), pl.lit(1.0).alias("__share"), pl.lit(None, pl.Float64).alias("__holder_util")
    )
    exploded = (
        held.explode("holders")
        .with_columns(pl.col("holders").struct.unnest().name.prefix("h_"))
        .with_columns(_match_expr(config).alias("tenant"))
    )
    n = pl.len().over("__sample")
    util_sum = pl.col("h_util_ratio").sum().over("__sample")
    all_known = pl.col("h_util_ratio").is_not_null().all().over("__sample")
    shared = exploded.with_columns(
        pl.when(all_known & (util_sum > 0)).then(pl.col("h_util_ratio") / util_sum).otherwise(1.0 / n).alias("__share"),
        pl.when(n > 1).then(pl.col("h_util_ratio")).otherwise(None).alias("__holder_util"),
    )
    cols = [
        "__sample",
        "ts",
        "site",
        "gpu_uuid",
        "interval_s",
        "util_ratio",
        "energy_j",
        "tenant",
        "__share",
        "__holder_util",
    ]
    parts = [
        reserved.with_columns(pl.lit(1.0).alias("__share"), pl.lit(None, pl.Float64).alias("__holder_util")).select(
            cols
        ),
        idle.select(cols),
        shared.select(cols),
    ]
    allocated = pl.concat(parts, how="vertical_relaxed")
    busy = (
        pl.when(pl.col("__holder_util").is_not_null())
        .then(pl.col("__holder_util") * pl.col("interval_s"))
        .otherwise(pl.col("util_ratio").fill_null(0.0) * pl.col("interval_s") * pl.col("__share"))
    )
    return (
        allocated.with_columns(
            (pl.col("interval_s") * pl.col("__share")).alias("gpu_s"),
            busy.alias("busy_s"),
            (pl.col("energy_j") * pl.col("__share")).alias("energy_j"),
        )
        .group_by("__sample", "ts", "site", "gpu_uuid", "tenant", maintain_order=True)
        .agg(pl.col("gpu_s").sum(), pl.col("busy_s").sum(), pl.col("energy_j").sum())
        .drop("__sample")
    )


def _reservations(whole: pl.DataFrame, config: TenantConfig) -> pl.DataFrame:
    rows = [
        {"gpu_uuid": gpu, "tenant": t.id, "__from": r.valid_from, "__until": r.valid_until}
        for t in config.tenants
        for r in t.reservations
        for gpu in r.gpus
    ]
    if not rows:
        return whole.head(0).with_columns(pl.lit(None, pl.String).alias("tenant"))
    windows = pl.DataFrame(rows).with_columns(
        pl.col("__from").dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us"),
        pl.col("__until").dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us"),
    )
    return (
        whole.join(windows, on="gpu_uuid", how="inner")
        .filter((pl.col("ts") >= pl.col("__from")) & (pl.col("ts") < pl.col("__until")))
        .drop("__from", "__until")
    )


def glob_regex(pattern: str) -> str:
    """A shell-style glob (``*``, ``?``) as an anchored regex both Python and Polars (Rust) accept."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "^" + "".join(out) + "$"


def _match_expr(config: TenantConfig) -> pl.Expr:
    """Holder → tenant: HPC job prefixes first, then namespace globs, in file order; else unattributed."""
    expr: pl.Expr = pl.lit(UNATTRIBUTED)
    rules: list[tuple[pl.Expr, str]] = []
    for t in config.tenants:
        for prefix in t.hpc_job_prefixes:
            rules.append((pl.col("h_hpc_job").str.starts_with(prefix), t.id))
    for t in config.tenants:
        for pattern in t.namespaces:
            regex = glob_regex(pattern)
            rules.append((pl.col("h_namespace").str.contains(regex), t.id))
    for condition, tenant in reversed(rules):
        expr = pl.when(condition.fill_null(False)).then(pl.lit(tenant)).otherwise(expr)
    return expr
