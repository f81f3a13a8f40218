"""``tariff.yaml``: what a GPU-hour and a kWh cost, so tenant usage carries a price as well as a quantity.

::

    version: 1
    currency: JPY
    idle_policy: weighted          # separate | even | weighted: how statements share out idle capacity
    energy:                        # price of a facility kWh (GPU energy × PUE), first match wins
      - price_per_kwh: 31.0
        sites: [tyo1]              # optional globs, default every site
        from: 2026-10-01T00:00:00Z # optional validity window [from, until)
      - price_per_kwh: 27.5
    gpu_hour:                      # price of an allocated GPU-hour by GPU model (glob on the model name)
      - model: "NVIDIA H100*"
        price_per_gpu_hour: 420
      - model: "NVIDIA B200"
        price_per_gpu_hour: 880

Prices are looked up per site, GPU model and hour, first matching entry in file order. A missing file means
no prices: quantities are still reported, costs stay NULL. The idle policy follows OpenCost's vocabulary:
``separate`` keeps idle capacity as the operator's own line, ``even`` shares it equally among the tenants that
used the site's GPUs of that model in the month, ``weighted`` in proportion to their GPU-hours.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectors.errors import ConfigError
from pipelines.lib.tenancy import describe_location

IdlePolicy = Literal["separate", "even", "weighted"]


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sites: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    valid_from: dt.datetime | None = Field(default=None, alias="from")
    valid_until: dt.datetime | None = Field(default=None, alias="until")

    @model_validator(mode="after")
    def _utc(self) -> _Window:
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC))
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("'until' must be after 'from'")
        return self

    def applies(self, site: str, hour: dt.datetime) -> bool:
        if self.valid_from is not None and hour < self.valid_from:
            return False
        if self.valid_until is not None and hour >= self.valid_until:
            return False
        return any(fnmatch.fnmatchcase(site, pattern) for pattern in self.sites)


class EnergyPrice(_Window):
    price_per_kwh: float = Field(ge=0)


class GpuHourPrice(_Window):
    model: str = Field(min_length=1)
    price_per_gpu_hour: float = Field(ge=0)


class Tariff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    currency: str
    idle_policy: IdlePolicy = "separate"
    energy: list[EnergyPrice] = Field(default_factory=list)
    gpu_hour: list[GpuHourPrice] = Field(default_factory=list)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise ValueError("an ISO 4217 code such as JPY, EUR or USD")
        return value

    def energy_price(self, site: str, hour: dt.datetime) -> float | None:
        hour = _utc(hour)
        return next((e.price_per_kwh for e in self.energy if e.applies(site, hour)), None)

    def gpu_hour_price(self, site: str, model: str, hour: dt.datetime) -> float | None:
        hour = _utc(hour)
        return next(
            (
                g.price_per_gpu_hour
                for g in self.gpu_hour
                if fnmatch.fnmatchcase(model, g.model) and g.applies(site, hour)
            ),
            None,
        )

    def rows(self) -> list[dict[str, object]]:
        """The tariff as ``dim_tariff`` rows (published so that every cost can be traced to its price)."""
        out: list[dict[str, object]] = []
        for position, e in enumerate(self.energy):
            out.append(_row("energy", position, "*", e, e.price_per_kwh, "kWh", self))
        for position, g in enumerate(self.gpu_hour):
            out.append(_row("gpu_hour", position, g.model, g, g.price_per_gpu_hour, "GPU-hour", self))
        return out


def _row(item: str, position: int, model: str, w: _Window, price: float, unit: str, t: Tariff) -> dict[str, object]:
    return {
        "item": item,
        "position": position,
        "sites": ",".join(w.sites),
        "model": model,
        "price": price,
        "unit": unit,
        "currency": t.currency,
        "valid_from": None if w.valid_from is None else w.valid_from.replace(tzinfo=None),
        "valid_until": None if w.valid_until is None else w.valid_until.replace(tzinfo=None),
        "idle_policy": t.idle_policy,
    }


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def load_tariff(path: Path) -> Tariff | None:
    """Read ``tariff.yaml``; None if the file does not exist (no prices), a ConfigError naming the field if bad."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {exc}", file=path, line=mark.line + 1 if mark else None) from None
    try:
        return Tariff.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = describe_location(doc, first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(message, file=path, field=where or None) from None


def price_usage(usage: pl.DataFrame, tariff: Tariff | None, hour: dt.datetime) -> pl.DataFrame:
    """Add prices and costs to one hour of usage rows (site, model, gpu_hours, facility or GPU energy).

    Energy is priced on facility energy (GPU energy × PUE); where the hour has no PUE, on the GPU energy
    itself, and ``pue_basis`` says so.
    """
    if tariff is None or usage.is_empty():
        return usage.with_columns(
            pl.lit(None, pl.String).alias("currency"),
            pl.lit(None, pl.Float64).alias("gpu_hour_price"),
            pl.lit(None, pl.Float64).alias("energy_price"),
            pl.lit(None, pl.Float64).alias("gpu_hour_cost"),
            pl.lit(None, pl.Float64).alias("energy_cost"),
            pl.lit(None, pl.Float64).alias("cost"),
        )
    keys = usage.select("site", "model").unique(maintain_order=True)
    prices = keys.with_columns(
        pl.Series(
            "gpu_hour_price",
            [tariff.gpu_hour_price(s, m, hour) for s, m in keys.iter_rows()],
            dtype=pl.Float64,
        ),
        pl.Series("energy_price", [tariff.energy_price(s, hour) for s, _ in keys.iter_rows()], dtype=pl.Float64),
    )
    billed_kwh = pl.coalesce("facility_energy_kwh", "gpu_energy_kwh")
    return (
        usage.join(prices, on=["site", "model"], how="left", maintain_order="left")
        .with_columns(
            pl.lit(tariff.currency).alias("currency"),
            (pl.col("gpu_hours") * pl.col("gpu_hour_price")).alias("gpu_hour_cost"),
            (billed_kwh * pl.col("energy_price")).alias("energy_cost"),
        )
        .with_columns(
            pl.when(pl.col("gpu_hour_cost").is_null() & pl.col("energy_cost").is_null())
            .then(None)
            .otherwise(pl.col("gpu_hour_cost").fill_null(0.0) + pl.col("energy_cost").fill_null(0.0))
            .alias("cost")
        )
    )
