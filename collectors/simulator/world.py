"""The static world of a simulated AI-grid site set: sites, nodes, GPUs, tenants, gNBs and cells, meters.

Everything here is derived from the seed and the size flags only, so the same flags always describe the same
world (same GPU UUIDs, same tenant names, same meter ids) whatever span is simulated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SimConfig:
    """Size, span and seed of a simulation; the CLI flags of ``aigrid simulate`` map one to one."""

    sites: int = 2
    nodes: int = 4
    cells: int = 6
    tenants: int = 5
    hours: int = 24
    start: dt.datetime | None = None
    seed: int = 7
    gpu_interval_s: int = 30
    meter_interval_s: int = 60
    pm_period_s: int = 900
    faults: bool = True

    def __post_init__(self) -> None:
        for name in ("sites", "nodes", "cells", "hours"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1")
        if not 1 <= self.sites <= len(SITE_CATALOGUE):
            raise ValueError(f"--sites must be between 1 and {len(SITE_CATALOGUE)}")
        if self.tenants < 1 or self.tenants > len(TENANT_CATALOGUE):
            raise ValueError(f"--tenants must be between 1 and {len(TENANT_CATALOGUE)}")
        if 60 % self.gpu_interval_s or self.meter_interval_s % 60 or self.pm_period_s % 60:
            raise ValueError("the GPU interval must divide 60 s; meter and PM periods must be whole minutes")

    @property
    def span_start(self) -> dt.datetime:
        """Start of the simulated span: the given start, or the last ``hours`` full hours before now (UTC)."""
        if self.start is not None:
            s = self.start if self.start.tzinfo else self.start.replace(tzinfo=dt.UTC)
            return s.astimezone(dt.UTC)
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        return now - dt.timedelta(hours=self.hours)

    @property
    def span_end(self) -> dt.datetime:
        return self.span_start + dt.timedelta(hours=self.hours)


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    timezone: str
    #: Mean outdoor temperature and day-night amplitude in °C: drives cooling energy and so PUE.
    temp_mean_c: float
    temp_amp_c: float
    gpu_model: str
    gpu_idle_w: float
    gpu_max_w: float
    gpu_mem_bytes: int


SITE_CATALOGUE: tuple[SiteSpec, ...] = (
    SiteSpec("tyo1", "Tokyo Koto AI factory", "Asia/Tokyo", 13.0, 4.5, "NVIDIA H100 80GB HBM3", 72.0, 700.0, 80 << 30),
    SiteSpec("hkd1", "Hokkaido Tomakomai AI grid", "Asia/Tokyo", 4.0, 3.5, "NVIDIA B200", 88.0, 1000.0, 180 << 30),
    SiteSpec("osa1", "Osaka Sakai AI factory", "Asia/Tokyo", 15.0, 4.0, "NVIDIA H100 80GB HBM3", 74.0, 700.0, 80 << 30),
    SiteSpec("fuk1", "Fukuoka AI edge", "Asia/Tokyo", 16.0, 4.0, "NVIDIA H200", 76.0, 700.0, 141 << 30),
)


@dataclass(frozen=True)
class TenantSpec:
    id: str
    name: str
    namespace_prefix: str
    #: Mean new jobs per hour across all sites, and whether jobs are long inference services.
    jobs_per_hour: float
    inference_share: float


TENANT_CATALOGUE: tuple[TenantSpec, ...] = (
    TenantSpec("sakura-ai", "Sakura AI K.K.", "sakura-ai", 1.6, 0.3),
    TenantSpec("kyoto-univ", "Kyoto University AI Lab", "kyoto-univ", 0.8, 0.0),
    TenantSpec("tsubame-llm", "Tsubame LLM Inc.", "tsubame", 1.2, 0.6),
    TenantSpec("nihon-robotics", "Nihon Robotics", "nrobo", 0.9, 0.2),
    TenantSpec("shinkai-bio", "Shinkai Bio", "shinkai", 0.6, 0.1),
    TenantSpec("minato-media", "Minato Media Lab", "minato", 0.7, 0.5),
    TenantSpec("hoshi-finance", "Hoshi Finance AI", "hoshi", 0.5, 0.4),
    TenantSpec("umi-climate", "Umi Climate Research", "umi", 0.4, 0.0),
)

#: The operator's own AI-RAN workload (DU/L1 on GPUs) and a sandbox namespace no tenant rule matches.
RAN_TENANT = TenantSpec("ai-ran", "AI-RAN (operator DU/L1)", "ran-du", 0.0, 0.0)
SANDBOX_NAMESPACE = "ops-sandbox"
#: The tenant that holds a bare-metal reservation (GPUs leased whole, used or not) on the first site.
RESERVATION_TENANT = "kyoto-univ"
RAN_GPUS_PER_SITE = 2
GPUS_PER_NODE = 8
NODES_PER_RACK = 2


@dataclass(frozen=True)
class Gpu:
    site: str
    node: str
    index: int
    uuid: str
    model: str
    pci_bus_id: str


@dataclass(frozen=True)
class Node:
    site: str
    name: str
    rack: str
    gpus: tuple[Gpu, ...]


@dataclass(frozen=True)
class Cell:
    site: str
    gnb: str
    local_id: int
    #: Relative size of the cell's traffic (busy city cell vs quiet suburb).
    traffic_scale: float


@dataclass(frozen=True)
class Meter:
    id: str
    site: str
    role: str
    quantity: str
    unit: str
    rating_kw: float
    rack: str | None = None


@dataclass(frozen=True)
class Site:
    spec: SiteSpec
    nodes: tuple[Node, ...]
    cells: tuple[Cell, ...]
    meters: tuple[Meter, ...]

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.spec.timezone)

    @property
    def gpus(self) -> list[Gpu]:
        return [g for n in self.nodes for g in n.gpus]

    @property
    def racks(self) -> list[str]:
        return sorted({n.rack for n in self.nodes})

    @property
    def gnbs(self) -> list[str]:
        return sorted({c.gnb for c in self.cells})


@dataclass(frozen=True)
class World:
    config: SimConfig
    sites: tuple[Site, ...]
    tenants: tuple[TenantSpec, ...]
    extra: dict[str, str] = field(default_factory=dict)

    def site(self, code: str) -> Site:
        for s in self.sites:
            if s.code == code:
                return s
        raise KeyError(code)


def stable_uuid(seed: int, *parts: object) -> uuid.UUID:
    """A UUID that depends only on the seed and the parts (so GPU UUIDs survive re-runs)."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def stable_unit(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) for per-entity constants (cell size, rack layout …)."""
    digest = hashlib.sha256(repr((seed, "unit", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def build_world(config: SimConfig) -> World:
    sites = []
    for spec in SITE_CATALOGUE[: config.sites]:
        nodes = []
        for n in range(config.nodes):
            name = f"{spec.code}-gpu{n + 1:02d}"
            rack = f"{spec.code}-r{n // NODES_PER_RACK + 1:02d}"
            gpus = tuple(
                Gpu(
                    site=spec.code,
                    node=name,
                    index=i,
                    uuid=f"GPU-{stable_uuid(config.seed, spec.code, n, i)}",
                    model=spec.gpu_model,
                    pci_bus_id=f"00000000:{0x18 + 0x10 * i:02X}:00.0",
                )
                for i in range(GPUS_PER_NODE)
            )
            nodes.append(Node(spec.code, name, rack, gpus))
        cells = tuple(
            Cell(
                site=spec.code,
                gnb=f"gnb-{spec.code}-{c // 3 + 1:02d}",
                local_id=c % 3 + 1,
                traffic_scale=0.55 + 0.6 * stable_unit(config.seed, spec.code, "cell", c),
            )
            for c in range(config.cells)
        )
        sites.append(Site(spec, tuple(nodes), cells, _meters(spec, nodes)))
    tenants = TENANT_CATALOGUE[: config.tenants]
    return World(config, tuple(sites), tenants)


def _meters(spec: SiteSpec, nodes: list[Node]) -> tuple[Meter, ...]:
    """The site's metering: utility (facility total), UPS output, one PDU output per rack, cooling, lighting."""
    racks = sorted({n.rack for n in nodes})
    per_rack_kw = 2 * (8 * spec.gpu_max_w / 1000 + 3.0)
    it_kw = len(racks) * per_rack_kw + 12.0
    meters = [
        Meter(f"{spec.code}-utility-kwh", spec.code, "facility_total", "energy_register", "kWh", round(it_kw * 2.2)),
        Meter(f"{spec.code}-ups-out-kwh", spec.code, "ups_output", "energy_register", "kWh", round(it_kw * 1.3)),
        *(
            Meter(f"{rack}-pdu-kwh", spec.code, "pdu_output", "energy_register", "kWh", round(per_rack_kw * 1.25), rack)
            for rack in racks
        ),
        Meter(f"{spec.code}-infra-pdu-kwh", spec.code, "pdu_output", "energy_register", "kWh", 20.0, "infra"),
        Meter(f"{spec.code}-chiller-kwh", spec.code, "cooling", "energy_register", "kWh", round(it_kw)),
        Meter(f"{spec.code}-lighting-kw", spec.code, "lighting", "power", "kW", 10.0),
    ]
    return tuple(meters)
