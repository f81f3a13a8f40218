"""The simulator: deterministic, physically consistent, native formats."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from lxml import etree

from collectors.landing import LandingZone
from collectors.layout import DataRoot
from collectors.simulator.facility_model import build_facility_series
from collectors.simulator.gpu_model import build_gpu_series
from collectors.simulator.run import simulate
from collectors.simulator.workload import build_workload
from collectors.simulator.world import SimConfig, build_world

START = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_same_flags_same_files_different_seed_different_site(tmp_path: Path) -> None:
    cfg = SimConfig(sites=1, nodes=2, cells=3, tenants=2, hours=1, start=START, seed=3)
    simulate(cfg, DataRoot.at(tmp_path / "a"))
    simulate(cfg, DataRoot.at(tmp_path / "b"))
    simulate(SimConfig(sites=1, nodes=2, cells=3, tenants=2, hours=1, start=START, seed=4), DataRoot.at(tmp_path / "c"))
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    # Running again into the same root changes nothing (landing writes are idempotent).
    before = _digest(tmp_path / "a")
    simulate(cfg, DataRoot.at(tmp_path / "a"))
    assert _digest(tmp_path / "a") == before


def test_gpu_power_and_energy_counters_are_physical() -> None:
    cfg = SimConfig(sites=1, nodes=2, hours=2, start=START, faults=False)
    world = build_world(cfg)
    site = world.sites[0]
    loads = np.full(cfg.hours * 3600 // cfg.gpu_interval_s, 0.5)
    series = build_gpu_series(cfg, site, build_workload(world), loads, 0)
    spec = site.spec
    assert series.power_w.min() >= 0.5 * spec.gpu_idle_w
    assert series.power_w.max() <= spec.gpu_max_w
    idle = series.power_w[series.holder < 0]
    assert 60 <= idle.mean() <= 95  # H100 idle ~70-90 W
    # The energy counter integrates power exactly (mJ).
    steps = np.diff(series.energy_mj, axis=1)
    assert np.allclose(steps, series.power_w[:, :-1] * cfg.gpu_interval_s * 1000, atol=1)
    assert (series.temp_c <= 27 + 45).all()


def test_facility_energy_exceeds_it_and_pue_stays_in_a_realistic_band() -> None:
    cfg = SimConfig(sites=2, nodes=2, hours=24, start=START, faults=False)
    world = build_world(cfg)
    workload = build_workload(world)
    pues = []
    for no, site in enumerate(world.sites):
        loads = np.full(cfg.hours * 3600 // cfg.gpu_interval_s, 0.4)
        gpus = build_gpu_series(cfg, site, workload, loads, no)
        fac = build_facility_series(cfg, site, gpus, no)
        assert (fac.facility_kw > fac.it_kw).all()
        hourly = fac.facility_kw.reshape(24, 60).sum(axis=1) / fac.it_kw.reshape(24, 60).sum(axis=1)
        pues.append(hourly)
        # Cumulative registers integrate the metered power.
        reg = fac.registers_kwh[f"{site.code}-utility-kwh"]
        assert reg[-1] - reg[0] == pytest.approx(fac.facility_kw.sum() / 60, abs=0.01)
    all_pue = np.concatenate(pues)
    assert 1.1 <= all_pue.min() < all_pue.max() <= 1.6
    assert all_pue.max() - all_pue.min() > 0.05  # varies by hour and site


def test_outputs_are_in_native_formats(tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path)
    simulate(SimConfig(sites=1, nodes=2, cells=3, tenants=2, hours=1, start=START), root)
    pm = sorted((root.inbox("ran_pm") / "tyo1").glob("*.xml"))
    assert [p.name for p in pm][:1] == ["A20261120.1200+0900-1215+0900_gnb-tyo1-01.xml"]
    assert len(pm) == 4  # one gNB, four 15-minute periods
    doc = etree.parse(str(pm[0]), etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"m": "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"}
    assert doc.xpath("//m:granPeriod/@endTime", namespaces=ns)[0] == "2026-11-20T12:15:00+09:00"
    assert "RRU.PrbUsedDl" in doc.xpath("//m:measType/text()", namespaces=ns)
    assert doc.xpath("//m:measTypes/text()", namespaces=ns)[0].split()[0] == "RRC.ConnMean"
    csv = sorted((root.inbox("meter_csv") / "tyo1").glob("*.csv"))
    frame = pl.read_csv(csv[0])
    assert frame.columns == ["timestamp", "meter_id", "value"]
    assert frame.get_column("timestamp")[0] == "2026-11-20T12:00:00+09:00"
    landed = LandingZone(root).read_hour("gpu", START)
    assert landed.height == 2 * 8 * 120
    assert set(landed.get_column("source").unique()) == {"nvml"}
    assert (root.config / "tenants.yaml").exists()
    assert (root.path / "sim" / "kube" / "tyo1-pods.json").exists()


def test_collectors_land_one_attempt_per_node_and_tick_and_the_lost_gpu_fails_its_node(tmp_path: Path) -> None:
    cfg = SimConfig(sites=2, nodes=2, cells=3, tenants=2, hours=3, start=START)
    root = DataRoot.at(tmp_path)
    result = simulate(cfg, root)
    zone = LandingZone(root)
    attempts = zone.read_hours("collector_health", zone.hours_present("collector_health"))
    per_node = attempts.group_by("site", "source", "producer", "target").len().sort("site", "target").rows()
    ticks = 3 * 3600 // cfg.gpu_interval_s
    assert per_node == [
        ("hkd1", "dcgm", "dcgm-scraper@sim", "hkd1-gpu01:9400", ticks),
        ("hkd1", "dcgm", "dcgm-scraper@sim", "hkd1-gpu02:9400", ticks),
        ("tyo1", "nvml", "nvml-agent@tyo1-gpu01", "tyo1-gpu01", ticks),
        ("tyo1", "nvml", "nvml-agent@tyo1-gpu02", "tyo1-gpu02", ticks),
    ]
    (lost,) = [f for f in result.faults if f.kind == "gpu_lost"]
    failed = attempts.filter(~pl.col("ok"))
    assert set(failed.get_column("target")) == {lost.node}
    assert failed.height == (lost.end - lost.start) // dt.timedelta(seconds=cfg.gpu_interval_s)
    assert failed.get_column("ts").min() == lost.start
    assert set(failed.get_column("error")) == {"GPU 1: NVML_ERROR_GPU_IS_LOST"}
    assert failed.get_column("samples").unique().to_list() == [7]  # the node's other seven GPUs still report
    assert attempts.filter(pl.col("ok")).get_column("error").null_count() == attempts.height - failed.height
