"""Facility power of a simulated site, minute by minute, and the meters that register it.

IT power is what the GPU servers draw (from the GPU model) plus network, storage and RAN fronthaul gear.
Upstream of the IT load sit distribution losses, the UPS and the cooling plant, whose share grows with the
outdoor temperature, so PUE moves through the day (≈1.1 on a cold night in Hokkaido, ≈1.4 on a Tokyo
afternoon). Cumulative registers integrate the power exactly, so facility ≥ IT and PUE ≥ 1 hold by
construction, and the energy truth is known for the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from collectors.simulator.gpu_model import GpuSeries
from collectors.simulator.ran_model import local_hours
from collectors.simulator.world import Meter, SimConfig, Site

DISTRIBUTION_LOSS = 0.012  # UPS output → PDU outputs
UPS_EFFICIENCY = 0.955
OFFICE_SHARE = 0.015  # offices, security, BMS: a small share of the site's load


@dataclass
class FacilitySeries:
    """Per-minute average power (kW) of every meter point, registers at minute marks, and the outdoor temperature."""

    site: Site
    minutes: np.ndarray  # epoch seconds of each minute start; registers have one more mark (the span end)
    power_kw: dict[str, np.ndarray]
    registers_kwh: dict[str, np.ndarray]
    outdoor_c: np.ndarray
    it_kw: np.ndarray
    facility_kw: np.ndarray


def outdoor_temperature(site: Site, epochs: np.ndarray) -> np.ndarray:
    """Daily cycle: coldest around 04:00 local, warmest around 15:00."""
    hours = local_hours(epochs, site.tz)
    return np.asarray(site.spec.temp_mean_c + site.spec.temp_amp_c * np.sin(2 * math.pi * (hours - 9.5) / 24))


def build_facility_series(config: SimConfig, site: Site, gpus: GpuSeries, site_no: int) -> FacilitySeries:
    per_minute = 60 // config.gpu_interval_s
    n_min = gpus.ticks.size // per_minute
    minutes = gpus.ticks[::per_minute][:n_min]
    rng = np.random.default_rng([config.seed, site_no, 7])
    node_kw = {
        n.name: gpus.node_power_w(n.name)[: n_min * per_minute].reshape(n_min, per_minute).mean(axis=1) / 1000
        for n in site.nodes
    }
    power: dict[str, np.ndarray] = {}
    for rack in site.racks:
        power[f"{rack}-pdu-kwh"] = sum((node_kw[n.name] for n in site.nodes if n.rack == rack), np.zeros(n_min))
    infra = (4.0 + 0.5 * len(site.nodes)) * (1 + rng.normal(0, 0.015, n_min))
    power[f"{site.code}-infra-pdu-kwh"] = infra
    it_kw = sum((power[m.id] for m in site.meters if m.role == "pdu_output"), np.zeros(n_min))
    ups_out = it_kw * (1 + DISTRIBUTION_LOSS)
    outdoor = outdoor_temperature(site, minutes + 30)
    cooling_share = 0.06 + 0.019 * np.maximum(0.0, outdoor - 4.0) + rng.normal(0, 0.004, n_min)
    cooling = it_kw * cooling_share
    lighting = 0.2 + 0.008 * it_kw
    facility = ups_out / UPS_EFFICIENCY + cooling + lighting + OFFICE_SHARE * it_kw
    power[f"{site.code}-ups-out-kwh"] = ups_out
    power[f"{site.code}-chiller-kwh"] = cooling
    power[f"{site.code}-lighting-kw"] = lighting
    power[f"{site.code}-utility-kwh"] = facility
    registers: dict[str, np.ndarray] = {}
    for m in site.meters:
        if m.quantity != "energy_register":
            continue
        start = 1000.0 + 1e6 * _unit(config.seed, m)
        steps = power[m.id] / 60.0
        registers[m.id] = np.round(start + np.concatenate([[0.0], np.cumsum(steps)]), 3)
    return FacilitySeries(site, minutes, power, registers, outdoor, it_kw, facility)


def meter_rows(series: FacilitySeries, meter: Meter) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, value) of every reading of a meter: registers at each minute mark incl. the span end,
    power meters as the reading at each minute mark."""
    marks = np.append(series.minutes, series.minutes[-1] + 60)
    if meter.quantity == "energy_register":
        return marks, series.registers_kwh[meter.id]
    p = series.power_kw[meter.id]
    return marks, np.round(np.append(p, p[-1]), 3)


def _unit(seed: int, meter: Meter) -> float:
    digest = sum(ord(c) * (i + 1) for i, c in enumerate(meter.id)) + seed * 7919
    return (digest % 10007) / 10007
