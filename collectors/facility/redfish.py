"""Redfish power and energy discovery: walk a service and read every power and energy value it offers.

What is read (DMTF Redfish 2025.4 schemas), starting at the service root:

* ``Chassis/{id}/PowerSubsystem/PowerSupplies/{n}/Metrics``: ``InputPowerWatts``, ``EnergykWh`` (the
  IT-input metering point of a server);
* ``Chassis/{id}/EnvironmentMetrics``: ``PowerWatts``, ``EnergykWh``, ``EnergyJoules``;
* ``Chassis/{id}/Sensors/{s}`` with ``ReadingType`` Power, EnergykWh, EnergyJoules or EnergyWh: ``Reading``
  (aligned on ``ReadingTime`` unless the BMC clock is far off, with ``SensorResetTime``) and
  ``LifetimeReading`` (never reset);
* ``Chassis/{id}/Power`` (deprecated since 2020.4) only when none of the three above gave a value for that
  chassis: ``PowerControl[].PowerConsumedWatts`` and ``PowerSupplies[].PowerInputWatts``;
* ``PowerEquipment/{RackPDUs,FloorPDUs,PowerShelves}/{id}``: ``Metrics``, ``Mains``, ``Branches``,
  ``Feeders``, ``Subfeeds`` (circuits), ``Outlets`` and ``OutletGroups``: ``PowerWatts``, ``EnergykWh``,
  and per-line ``PolyPhasePowerWatts``/``PolyPhaseEnergykWh`` (summed when the circuit has no total);
* ``Facilities/{id}`` and their ``PowerDomains``: the PDUs they link to (read once even if linked twice),
  kept as context in the inventory.

Meter ids are ``<@odata.id of the resource>#<property>``, e.g.
``/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/A1#EnergykWh``; ``…#EnergykWh/LifetimeReading`` for a
lifetime register, ``…#PolyPhasePowerWatts/Line1ToNeutral`` for one line and ``…#PolyPhasePowerWatts`` for
their sum, ``/redfish/v1/Chassis/1U/Sensors/TotalPower#Reading`` for a sensor, and
``/redfish/v1/Chassis/1U/Power#/PowerControl/0/PowerConsumedWatts`` for the deprecated resource. Ids are
unique within one service only; a ``meter_prefix`` per service keeps several PDUs of a site apart.

A missing optional property is simply not read; a link that answers 404 (or any other error status) is a
problem recorded for the operator, never a failed collection. An energy excerpt without its own reset
time is completed from the sensor its ``DataSourceUri`` names, when that sensor exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from collectors.isotime import utc_or_none
from collectors.schemas import FACILITY_READING, conform

SOURCE = "redfish"
ROOT = "/redfish/v1/"

#: Sensor reading types that are power or energy, with their canonical unit and the factor to kWh or W.
_SENSOR_TYPES: dict[str, tuple[str, dict[str, float]]] = {
    "Power": ("power", {"W": 1.0, "kW": 1e3, "MW": 1e6}),
    "EnergykWh": ("energy", {"kW.h": 1.0, "kWh": 1.0}),
    "EnergyJoules": ("energy", {"J": 1 / 3.6e6}),
    "EnergyWh": ("energy", {"W.h": 1e-3, "Wh": 1e-3}),
}
_PDU_COLLECTIONS = ("RackPDUs", "FloorPDUs", "PowerShelves")
#: A sensor's ReadingTime further than this from the collector's clock is not trusted.
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
_CIRCUITS = {"Mains": "mains", "Branches": "branch", "Feeders": "feeder", "Subfeeds": "subfeed"}


class RedfishClient(Protocol):
    """What the walk needs: ``get(path)`` answering an object with ``status`` and ``dict`` (DMTF ``redfish``)."""

    def get(self, path: str) -> Any: ...


class SessionRejectedError(Exception):
    """The service answered 401 during a walk: the session expired or was deleted; log in again."""


@dataclass(frozen=True)
class Reading:
    """One value read, with where it came from."""

    meter_id: str
    ts: dt.datetime
    kind: str
    energy_kwh: float | None = None
    power_w: float | None = None
    register_reset_at: dt.datetime | None = None
    context: str = ""


@dataclass
class Walk:
    """Everything one walk found: readings, problems (404s, bad values) and how many resources it read."""

    readings: list[Reading] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resources: int = 0

    def frame(self, *, site: str, producer: str) -> pl.DataFrame:
        """The readings in the ``facility`` landing shape."""
        n = len(self.readings)
        frame = pl.DataFrame(
            {
                "ts": pl.Series([r.ts for r in self.readings], dtype=pl.Datetime("us", "UTC")),
                "site": [site] * n,
                "meter_id": pl.Series([r.meter_id for r in self.readings], dtype=pl.String),
                "energy_kwh": pl.Series([r.energy_kwh for r in self.readings], dtype=pl.Float64),
                "power_w": pl.Series([r.power_w for r in self.readings], dtype=pl.Float64),
                "register_reset_at": pl.Series(
                    [r.register_reset_at for r in self.readings], dtype=pl.Datetime("us", "UTC")
                ),
                "source": [SOURCE] * n,
                "producer": [producer] * n,
            }
        )
        return conform(frame, FACILITY_READING, origin=f"redfish walk for {site}")


def collect_once(
    client: RedfishClient,
    *,
    site: str,
    producer: str,
    clock: Callable[[], dt.datetime] | None = None,
    meter_prefix: str = "",
) -> pl.DataFrame:
    """Walk the service once and return its readings as ``facility`` rows (see the module doc for ids)."""
    return walk(client, clock=clock, meter_prefix=meter_prefix).frame(site=site, producer=producer)


def walk(
    client: RedfishClient,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    follow_sources: bool = True,
    meter_prefix: str = "",
    max_clock_skew: dt.timedelta = MAX_CLOCK_SKEW,
) -> Walk:
    """Discover and read every power and energy value of the service (see the module doc).

    ``meter_prefix`` is put in front of every meter id. Every rack PDU calls itself ``RackPDUs/1``, so when
    several services report for one site, give each its own prefix (``pdu-a1:``) or their ids collide.
    A sensor's ``ReadingTime`` is used as the reading's time unless it is further than ``max_clock_skew``
    from the collector's clock (BMC clocks drift or were never set); then the time of the GET is used
    and the skew is reported.
    """
    walker = _Walker(client, clock or (lambda: dt.datetime.now(dt.UTC)), follow_sources)
    walker.prefix = meter_prefix
    walker.max_skew = max_clock_skew
    walker.run()
    return walker.result


class _Walker:
    prefix = ""
    max_skew = MAX_CLOCK_SKEW

    def __init__(self, client: RedfishClient, clock: Callable[[], dt.datetime], follow_sources: bool) -> None:
        self.client = client
        self.clock = clock
        self.follow_sources = follow_sources
        self.result = Walk()
        self.cache: dict[str, tuple[dict[str, Any] | None, dt.datetime]] = {}

    # -- fetching --------------------------------------------------------------------------------------

    def fetch(self, uri: str, *, via: str = "") -> tuple[dict[str, Any] | None, dt.datetime]:
        """GET a resource once per walk; errors become problems and a None body."""
        uri = uri.split("#", 1)[0]
        key = uri.rstrip("/") or "/"
        if key in self.cache:
            return self.cache[key]
        body: dict[str, Any] | None = None
        response = self.client.get(uri)
        when = self.clock()
        status = int(getattr(response, "status", 0) or 0)
        if status == 401:
            raise SessionRejectedError(f"{uri}: HTTP 401 Unauthorized")
        if 200 <= status < 300:
            try:
                data = response.dict
            except Exception as exc:  # the library raises its own JsonDecodingError
                self.problem(f"{uri}: not valid JSON ({type(exc).__name__})", via)
            else:
                if isinstance(data, dict):
                    body = data
                    self.result.resources += 1
                else:
                    self.problem(f"{uri}: not a JSON object", via)
        else:
            self.problem(f"{uri}: HTTP {status}", via)
        self.cache[key] = (body, when)
        return body, when

    def problem(self, text: str, via: str = "") -> None:
        self.result.problems.append(f"{text} (linked from {via})" if via else text)

    def link(self, resource: dict[str, Any] | None, name: str) -> str | None:
        if resource is None:
            return None
        return _odata_id(resource.get(name))

    def members(self, uri: str | None, *, via: str) -> Iterator[tuple[str, dict[str, Any], dt.datetime]]:
        if uri is None:
            return
        collection, _ = self.fetch(uri, via=via)
        if collection is None:
            return
        for member in collection.get("Members") or []:
            member_uri = _odata_id(member)
            if member_uri is None:
                continue
            body, when = self.fetch(member_uri, via=uri)
            if body is not None:
                yield member_uri, body, when

    # -- the walk --------------------------------------------------------------------------------------

    def run(self) -> None:
        root, _ = self.fetch(ROOT)
        if root is None:
            return
        for uri, chassis, _ in self.members(self.link(root, "Chassis"), via=ROOT):
            self.chassis(uri, chassis)
        pdus: dict[str, str] = {}
        equipment_uri = self.link(root, "PowerEquipment")
        equipment = self.fetch(equipment_uri, via=ROOT)[0] if equipment_uri else None
        for name in _PDU_COLLECTIONS:
            for uri, _, _ in self.members(self.link(equipment, name), via=equipment_uri or ROOT):
                pdus.setdefault(uri, "")
        for uri, facility, _ in self.members(self.link(root, "Facilities"), via=ROOT):
            self.facility(uri, facility, pdus)
        for uri, context in pdus.items():
            body, _ = self.fetch(uri)
            if body is not None:
                self.pdu(uri, body, context or _name(body, uri))

    def facility(self, uri: str, facility: dict[str, Any], pdus: dict[str, str]) -> None:
        label = _name(facility, uri)
        for pdu_uri in _linked(facility, _PDU_COLLECTIONS):
            pdus[pdu_uri] = pdus.get(pdu_uri) or label
        for domain_uri, domain, _ in self.members(self.link(facility, "PowerDomains"), via=uri):
            domain_label = f"{label} / {_name(domain, domain_uri)}"
            for pdu_uri in _linked(domain, _PDU_COLLECTIONS):
                pdus[pdu_uri] = domain_label

    def pdu(self, uri: str, pdu: dict[str, Any], context: str) -> None:
        metrics_uri = self.link(pdu, "Metrics")
        if metrics_uri:
            metrics, when = self.fetch(metrics_uri, via=uri)
            if metrics is not None:
                self.excerpts(metrics_uri, metrics, when, "pdu_metrics", context)
        for collection, kind in _CIRCUITS.items():
            for circuit_uri, circuit, when in self.members(self.link(pdu, collection), via=uri):
                self.excerpts(circuit_uri, circuit, when, kind, context)
        for collection, kind in (("Outlets", "outlet"), ("OutletGroups", "outlet_group")):
            for item_uri, item, when in self.members(self.link(pdu, collection), via=uri):
                self.excerpts(item_uri, item, when, kind, context)

    def chassis(self, uri: str, chassis: dict[str, Any]) -> None:
        context = _name(chassis, uri)
        before = len(self.result.readings)
        subsystem_uri = self.link(chassis, "PowerSubsystem")
        if subsystem_uri:
            subsystem, _ = self.fetch(subsystem_uri, via=uri)
            for psu_uri, psu, _ in self.members(self.link(subsystem, "PowerSupplies"), via=subsystem_uri):
                metrics_uri = self.link(psu, "Metrics")
                if metrics_uri:
                    metrics, when = self.fetch(metrics_uri, via=psu_uri)
                    if metrics is not None:
                        self.excerpts(metrics_uri, metrics, when, "psu", f"{context} / {_name(psu, psu_uri)}")
        env_uri = self.link(chassis, "EnvironmentMetrics")
        if env_uri:
            env, when = self.fetch(env_uri, via=uri)
            if env is not None:
                self.excerpts(env_uri, env, when, "chassis_environment", context)
        for sensor_uri, sensor, when in self.members(self.link(chassis, "Sensors"), via=uri):
            self.sensor(sensor_uri, sensor, when, context)
        if len(self.result.readings) == before:
            power_uri = self.link(chassis, "Power")
            if power_uri:
                power, when = self.fetch(power_uri, via=uri)
                if power is not None:
                    self.deprecated_power(power_uri, power, when, context)

    # -- reading values --------------------------------------------------------------------------------

    def excerpts(self, uri: str, resource: dict[str, Any], when: dt.datetime, kind: str, context: str) -> None:
        """``PowerWatts``/``InputPowerWatts``/``EnergykWh``/``EnergyJoules`` excerpts, and poly-phase lines."""
        base = _odata_id(resource) or uri
        for prop in ("PowerWatts", "InputPowerWatts"):
            excerpt = resource.get(prop)
            value = self.number(excerpt.get("Reading"), f"{base}#{prop}") if isinstance(excerpt, dict) else None
            if value is not None:
                self.add(f"{base}#{prop}", when, kind, context, power_w=value)
        for prop, factor in (("EnergykWh", 1.0), ("EnergyJoules", 1 / 3.6e6)):
            excerpt = resource.get(prop)
            if isinstance(excerpt, dict):
                self.energy_excerpt(f"{base}#{prop}", excerpt, factor, when, kind, context, via=base)
        for prop, is_power in (("PolyPhasePowerWatts", True), ("PolyPhaseEnergykWh", False)):
            total_prop = "PowerWatts" if is_power else "EnergykWh"
            lines = resource.get(prop)
            if isinstance(lines, dict):
                self.poly_phase(base, prop, lines, when, kind, context, is_power, total_prop not in resource)

    def poly_phase(
        self,
        base: str,
        prop: str,
        lines: dict[str, Any],
        when: dt.datetime,
        kind: str,
        context: str,
        is_power: bool,
        add_total: bool,
    ) -> None:
        values: dict[str, float] = {}
        for line, excerpt in lines.items():
            value = self.number(excerpt.get("Reading"), f"{base}#{prop}/{line}") if isinstance(excerpt, dict) else None
            if value is None:
                continue
            values[line] = value
            key = "power_w" if is_power else "energy_kwh"
            self.add(f"{base}#{prop}/{line}", when, kind, context, **{key: value})
        # Wye circuits: the total is the sum of the line-to-neutral values; delta circuits: line-to-line.
        to_neutral = [v for k, v in values.items() if k.endswith("ToNeutral")]
        chosen = to_neutral or [v for k, v in values.items() if "ToLine" in k]
        if add_total and chosen:
            key = "power_w" if is_power else "energy_kwh"
            self.add(f"{base}#{prop}", when, kind, context, **{key: sum(chosen)})

    def energy_excerpt(
        self,
        meter_id: str,
        excerpt: dict[str, Any],
        factor: float,
        when: dt.datetime,
        kind: str,
        context: str,
        *,
        via: str,
    ) -> None:
        value = self.number(excerpt.get("Reading"), meter_id)
        reset = utc_or_none(excerpt.get("SensorResetTime"))
        lifetime = self.number(excerpt.get("LifetimeReading"), f"{meter_id}/LifetimeReading")
        source = excerpt.get("DataSourceUri")
        if self.follow_sources and reset is None and lifetime is None and isinstance(source, str):
            sensor, _ = self.fetch(source, via=via)
            if sensor is not None:
                reset = utc_or_none(sensor.get("SensorResetTime"))
                lifetime = _number(sensor.get("LifetimeReading"))
        if value is not None:
            self.add(meter_id, when, kind, context, energy_kwh=value * factor, register_reset_at=reset)
        if lifetime is not None:
            self.add(f"{meter_id}/LifetimeReading", when, kind, context, energy_kwh=lifetime * factor)

    def sensor(self, uri: str, sensor: dict[str, Any], when: dt.datetime, context: str) -> None:
        spec = _SENSOR_TYPES.get(str(sensor.get("ReadingType")))
        if spec is None:
            return
        quantity, units = spec
        unit = sensor.get("ReadingUnits")
        factor = units.get(str(unit)) if unit is not None else next(iter(units.values()))
        base = _odata_id(sensor) or uri
        if factor is None:
            self.problem(f"{base}: unexpected ReadingUnits {unit!r} for ReadingType {sensor.get('ReadingType')}")
            return
        ts = utc_or_none(sensor.get("ReadingTime")) or when
        if abs(ts - when) > self.max_skew:
            self.problem(
                f"{base}: ReadingTime {sensor.get('ReadingTime')} is {_skew(ts - when)} off; using the collector's time"
            )
            ts = when
        value = self.number(sensor.get("Reading"), f"{base}#Reading")
        if quantity == "power":
            if value is not None:
                self.add(f"{base}#Reading", ts, "sensor", context, power_w=value * factor)
            return
        reset = utc_or_none(sensor.get("SensorResetTime"))
        if value is not None:
            self.add(f"{base}#Reading", ts, "sensor", context, energy_kwh=value * factor, register_reset_at=reset)
        lifetime = self.number(sensor.get("LifetimeReading"), f"{base}#LifetimeReading")
        if lifetime is not None:
            self.add(f"{base}#LifetimeReading", ts, "sensor", context, energy_kwh=lifetime * factor)

    def deprecated_power(self, uri: str, power: dict[str, Any], when: dt.datetime, context: str) -> None:
        base = _odata_id(power) or uri
        for array, prop in (("PowerControl", "PowerConsumedWatts"), ("PowerSupplies", "PowerInputWatts")):
            for index, member in enumerate(power.get(array) or []):
                if not isinstance(member, dict):
                    continue
                member_id = _odata_id(member) or f"{base}#/{array}/{index}"
                value = self.number(member.get(prop), f"{member_id}/{prop}")
                if value is None:
                    continue
                member_id = _odata_id(member) or f"{base}#/{array}/{index}"
                if "#" not in member_id:
                    member_id = f"{member_id}#/{array}/{index}"
                self.add(f"{member_id}/{prop}", when, "chassis_power_deprecated", context, power_w=value)

    def number(self, raw: object, where: str) -> float | None:
        """A numeric reading; a present but non-numeric one is a device problem worth reporting."""
        value = _number(raw)
        if value is None and raw is not None:
            self.problem(f"{where}: reading {raw!r} is not a number")
        return value

    def add(self, meter_id: str, ts: dt.datetime, kind: str, context: str, **values: Any) -> None:
        self.result.readings.append(
            Reading(meter_id=f"{self.prefix}{meter_id}", ts=ts, kind=kind, context=context, **values)
        )


# -- helpers -------------------------------------------------------------------------------------------


def _odata_id(value: object) -> str | None:
    """The ``@odata.id`` of a link or resource, if it is a path on this service."""
    if isinstance(value, dict):
        uri = value.get("@odata.id")
        if isinstance(uri, str) and uri.startswith("/redfish/"):
            return uri.rstrip("/") if uri.rstrip("/") != "/redfish/v1" else ROOT
    return None


def _linked(resource: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    links = resource.get("Links")
    found: list[str] = []
    if isinstance(links, dict):
        for name in names:
            for item in links.get(name) or []:
                uri = _odata_id(item)
                if uri:
                    found.append(uri)
    return found


def _name(resource: dict[str, Any], uri: str) -> str:
    return str(resource.get("Name") or resource.get("Id") or uri.rsplit("/", 1)[-1])


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _skew(delta: dt.timedelta) -> str:
    seconds = abs(delta.total_seconds())
    ahead = "ahead" if delta.total_seconds() > 0 else "behind"
    if seconds >= 86400:
        return f"{seconds / 86400:.0f} days {ahead}"
    return f"{seconds / 60:.0f} min {ahead}"
