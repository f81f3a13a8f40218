"""Redfish discovery over HTTP on 127.0.0.1 with the DMTF client: DMTF's own PDU and rack-mount mockups."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from collectors.facility.redfish import collect_once, walk
from collectors.facility.redfish_session import (
    CredentialsRejectedError,
    RedfishPoller,
    RedfishTarget,
    RedfishUnreachableError,
    open_client,
)
from collectors.layout import DataRoot
from collectors.schemas import FACILITY_READING

pytestmark = pytest.mark.timeout(60)

PDU = "/redfish/v1/PowerEquipment/RackPDUs/1"
CHASSIS = "/redfish/v1/Chassis/1U"
FIXED = dt.datetime(2026, 11, 20, 4, 0, 5, tzinfo=dt.UTC)
USERS = {"admin": "s3cret-Pa55"}

Start = Callable[..., Any]  # the redfish_server fixture (conftest.MockupServer)


def _clock() -> dt.datetime:
    return FIXED


def _values(folder: Path, server: Start, **options: object) -> tuple[dict[str, float | None], list[str], Any]:
    srv = server(folder, users=USERS, **options)
    with open_client(RedfishTarget(srv.url, "admin", USERS["admin"])) as client:
        result = walk(client, clock=_clock)
    values = {r.meter_id: (r.energy_kwh if r.energy_kwh is not None else r.power_w) for r in result.readings}
    assert len(values) == len(result.readings), "a meter id was read twice"
    return values, result.problems, srv


def test_rack_pdu_mains_branches_outlets_and_groups(redfish_samples: Path, redfish_server: Start) -> None:
    values, problems, _ = _values(redfish_samples / "public-pdu", redfish_server)
    # Mains AC1 has no PowerWatts: its lines are read and their line-to-neutral sum is its total.
    assert values[f"{PDU}/Mains/AC1#PolyPhasePowerWatts/Line1ToNeutral"] == 198.4
    assert values[f"{PDU}/Mains/AC1#PolyPhasePowerWatts/Line1ToLine2"] == 738.9
    assert values[f"{PDU}/Mains/AC1#PolyPhasePowerWatts"] == pytest.approx(198.4 + 231.5 + 58.1)
    assert values[f"{PDU}/Branches/A#PowerWatts"] == 937.4
    assert values[f"{PDU}/Branches/A#EnergykWh"] == 325675.0
    assert values[f"{PDU}/Branches/C#EnergykWh"] == 121666.0
    assert f"{PDU}/Branches/A#PolyPhasePowerWatts" not in values  # it has its own total
    assert values[f"{PDU}/Outlets/A1#PowerWatts"] == 197.4
    assert values[f"{PDU}/Outlets/A1#EnergykWh"] == 36166.0
    assert values[f"{PDU}/Outlets/C3#PowerWatts"] == 355.4
    assert values[f"{PDU}/OutletGroups/Rack5Storage#EnergykWh"] == 26880.0
    assert values[f"{PDU}/Metrics#PowerWatts"] == 6438.0
    assert values[f"{PDU}/Metrics#EnergykWh"] == 56438.0
    outlets = {k.split("#")[0].rsplit("/", 1)[-1] for k in values if "/Outlets/" in k}
    # A4 is managed but un-monitored, A5 lacks even PowerState: no values, and no complaint either.
    assert outlets == {"A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"}
    assert not any("/Outlets/A4" in p or "/Outlets/A5" in p for p in problems)
    # Dangling links are problems, never failures.
    assert f"/redfish/v1/Chassis/PDU/Sensors/PDUEnergy: HTTP 404 (linked from {PDU}/Metrics)" in problems
    assert "/redfish/v1/PowerEquipment/FloorPDUs: HTTP 404 (linked from /redfish/v1/PowerEquipment)" in problems
    assert "/redfish/v1/Chassis: HTTP 404 (linked from /redfish/v1/)" in problems
    assert len(values) == 38


def test_rackmount_power_supplies_environment_and_sensors(redfish_samples: Path, redfish_server: Start) -> None:
    srv = redfish_server(redfish_samples / "public-rackmount1", users=USERS)
    with open_client(RedfishTarget(srv.url, "admin", USERS["admin"])) as client:
        result = walk(client, clock=_clock)
    by_id = {r.meter_id: r for r in result.readings}
    psu = f"{CHASSIS}/PowerSubsystem/PowerSupplies/Bay1/Metrics"
    assert by_id[f"{psu}#InputPowerWatts"].power_w == 937.4
    assert by_id[f"{psu}#EnergykWh"].energy_kwh == 325675.0
    assert by_id[f"{psu}#EnergykWh"].context == "Computer System Chassis / Power Supply Bay 1"
    assert by_id[f"{CHASSIS}/EnvironmentMetrics#PowerWatts"].power_w == 374.0
    total = by_id[f"{CHASSIS}/Sensors/TotalPower#Reading"]
    # The mockup's ReadingTime (2019-08-13T04:14:33+06:00) is years away from the collector's clock:
    # a BMC clock that was never set. The time of the GET is used and the skew reported.
    assert (total.power_w, total.ts) == (374.0, FIXED)
    skew = f"{CHASSIS}/Sensors/TotalPower: ReadingTime 2019-08-13T04:14:33+06:00 is 2656 days behind"
    assert any(p.startswith(skew) for p in result.problems)
    assert by_id[f"{CHASSIS}/Sensors/TotalEnergy#Reading"].energy_kwh == 325675.0
    assert by_id[f"{CHASSIS}/Sensors/PS1Energy#Reading"].energy_kwh == 7855.0
    assert by_id[f"{CHASSIS}/Sensors/PS1InputPower#Reading"].ts == FIXED
    assert len(by_id) == 7
    # New resources answered, so the deprecated Chassis/Power was never requested.
    assert ("GET", f"{CHASSIS}/Power") not in srv.requests
    assert (
        f"{CHASSIS}/PowerSubsystem/PowerSupplies/Bay2: HTTP 404 (linked from {CHASSIS}/PowerSubsystem/PowerSupplies)"
        in (result.problems)
    )
    assert sum(": HTTP 404" in p and "/Sensors/" in p for p in result.problems) == 37  # lists 41, ships 4


def test_sensor_reading_time_is_used_when_the_clocks_agree(redfish_samples: Path, redfish_server: Start) -> None:
    srv = redfish_server(redfish_samples / "public-rackmount1")
    near = dt.datetime(2019, 8, 12, 22, 20, tzinfo=dt.UTC)
    with open_client(RedfishTarget(srv.url)) as client:
        result = walk(client, clock=lambda: near)
    by_id = {r.meter_id: r for r in result.readings}
    # Aligned on when the sensor acquired the value, not on when it was fetched.
    assert by_id[f"{CHASSIS}/Sensors/TotalPower#Reading"].ts == dt.datetime(2019, 8, 12, 22, 14, 33, tzinfo=dt.UTC)
    assert by_id[f"{CHASSIS}/Sensors/TotalEnergy#Reading"].ts == near
    assert not any("ReadingTime" in p for p in result.problems)


def test_deprecated_power_is_the_fallback(redfish_samples: Path, redfish_server: Start) -> None:
    hidden = {f"{CHASSIS}/PowerSubsystem", f"{CHASSIS}/EnvironmentMetrics", f"{CHASSIS}/Sensors"}
    values, problems, _ = _values(redfish_samples / "public-rackmount1", redfish_server, hidden=hidden)
    assert values == {f"{CHASSIS}/Power#/PowerControl/0/PowerConsumedWatts": 344.0}
    assert f"{CHASSIS}/EnvironmentMetrics: HTTP 404 (linked from {CHASSIS})" in problems


def test_reset_times_lifetime_registers_and_power_domains(redfish_samples: Path, redfish_server: Start) -> None:
    folder = redfish_samples / "public-pdu"
    outlet = json.loads((folder / "PowerEquipment/RackPDUs/1/Outlets/A2/index.json").read_text())
    outlet = copy.deepcopy(outlet)
    outlet["EnergykWh"].update({"SensorResetTime": "2026-11-01T00:00:00+09:00", "LifetimeReading": 90210})
    sensor = json.loads((folder / "Chassis/PDU/Sensors/EnergyA1/index.json").read_text())
    sensor.update({"SensorResetTime": "2026-10-31T12:00:00Z", "LifetimeReading": 123456.5})
    domains = {
        "@odata.id": "/redfish/v1/Facilities/Room237/PowerDomains",
        "Members": [{"@odata.id": "/redfish/v1/Facilities/Room237/PowerDomains/Row1"}],
    }
    metrics = json.loads((folder / "PowerEquipment/RackPDUs/1/Metrics/index.json").read_text())
    metrics["PowerWatts"]["Reading"] = "n/a"
    overlays = {
        f"{PDU}/Outlets/A2": outlet,
        "/redfish/v1/Chassis/PDU/Sensors/EnergyA1": sensor,
        "/redfish/v1/Facilities/Room237/PowerDomains": domains,
        f"{PDU}/Metrics": metrics,
    }
    srv = redfish_server(folder, overlays=overlays)
    with open_client(RedfishTarget(srv.url)) as client:
        result = walk(client, clock=_clock)
    by_id = {r.meter_id: r for r in result.readings}
    a2 = by_id[f"{PDU}/Outlets/A2#EnergykWh"]
    assert (a2.energy_kwh, a2.register_reset_at) == (52941.0, dt.datetime(2026, 10, 31, 15, tzinfo=dt.UTC))
    assert by_id[f"{PDU}/Outlets/A2#EnergykWh/LifetimeReading"].energy_kwh == 90210.0
    # A1's excerpt has no reset time: it comes from the sensor its DataSourceUri names.
    a1 = by_id[f"{PDU}/Outlets/A1#EnergykWh"]
    assert (a1.energy_kwh, a1.register_reset_at) == (36166.0, dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC))
    assert by_id[f"{PDU}/Outlets/A1#EnergykWh/LifetimeReading"].energy_kwh == 123456.5
    assert a1.context == "Room #237, 2nd Floor / Row #1 Domain"
    assert f"{PDU}/Metrics#PowerWatts" not in by_id
    assert f"{PDU}/Metrics#PowerWatts: reading 'n/a' is not a number" in result.problems
    # Anonymous service: no session was created.
    assert not any(method == "POST" for method, _ in srv.requests)


def test_collect_once_gives_landing_rows(redfish_samples: Path, redfish_server: Start) -> None:
    srv = redfish_server(redfish_samples / "public-pdu")
    with open_client(RedfishTarget(srv.url)) as client:
        rows = collect_once(client, site="tyo1", producer="redfish-pdu-a1", clock=_clock)
        prefixed = collect_once(client, site="tyo1", producer="redfish-pdu-a1", clock=_clock, meter_prefix="pdu-a1:")
    assert rows.schema == FACILITY_READING.polars_schema
    assert rows.height == 38
    assert set(rows["site"]) == {"tyo1"}
    assert set(rows["source"]) == {"redfish"}
    assert set(rows["ts"]) == {FIXED}
    assert rows.filter(pl.col("meter_id") == f"{PDU}/Outlets/B2#EnergykWh")["energy_kwh"].to_list() == [53941.0]
    assert prefixed["meter_id"].to_list() == [f"pdu-a1:{m}" for m in rows["meter_id"]]
    energy_and_power = rows.select(pl.col("energy_kwh").is_not_null() ^ pl.col("power_w").is_not_null()).to_series()
    assert energy_and_power.all()  # each meter id is exactly one quantity


@pytest.mark.parametrize("auth", ["session", "basic"])
def test_authentication_and_logout(redfish_samples: Path, redfish_server: Start, auth: str) -> None:
    srv = redfish_server(redfish_samples / "public-pdu", users=USERS)
    target = RedfishTarget(srv.url, "admin", USERS["admin"], auth="basic" if auth == "basic" else "session")
    with open_client(target) as client:
        assert len(walk(client).readings) == 38
        assert len(srv.sessions) == (1 if auth == "session" else 0)
    assert srv.sessions == {}
    assert srv.deleted == (["/redfish/v1/SessionService/Sessions/1"] if auth == "session" else [])
    assert all(USERS["admin"] not in path for _, path in srv.requests)


@pytest.mark.parametrize("auth", ["session", "basic"])
def test_wrong_password_is_one_clear_error(redfish_samples: Path, redfish_server: Start, auth: str) -> None:
    srv = redfish_server(redfish_samples / "public-pdu", users=USERS)
    target = RedfishTarget(srv.url, "admin", "wrong-horse", auth="basic" if auth == "basic" else "session")
    with pytest.raises(CredentialsRejectedError) as info, open_client(target):
        pass
    message = str(info.value)
    assert message == (
        f"{srv.url}: the Redfish service rejected the credentials of user 'admin' (HTTP 401, {auth} authentication)"
    )
    assert "wrong-horse" not in message


def test_unreachable_service(tmp_path: Path) -> None:
    with pytest.raises(RedfishUnreachableError, match=r"http://127.0.0.1:9: no Redfish service answered"):  # noqa: SIM117
        with open_client(RedfishTarget("http://127.0.0.1:9", timeout_s=2, retries=0)):
            pass


def test_tls_is_verified_unless_told_otherwise(
    redfish_samples: Path, redfish_server: Start, self_signed: tuple[Path, object]
) -> None:
    cert, context = self_signed
    srv = redfish_server(redfish_samples / "public-pdu", users=USERS, tls=context)
    assert srv.url.startswith("https://127.0.0.1:")
    with pytest.raises(RedfishUnreachableError, match="TLS certificate verification failed"):  # noqa: SIM117
        with open_client(RedfishTarget(srv.url, "admin", USERS["admin"], retries=0)):
            pass
    with open_client(RedfishTarget(srv.url, "admin", USERS["admin"], ca_file=cert)) as client:
        assert len(walk(client).readings) == 38
    with open_client(RedfishTarget(srv.url, "admin", USERS["admin"], insecure=True)) as client:
        assert len(walk(client).readings) == 38


def test_poller_lands_readings_and_health_and_logs_in_again(
    redfish_samples: Path, redfish_server: Start, tmp_path: Path
) -> None:
    srv = redfish_server(redfish_samples / "public-pdu", users=USERS)
    root = DataRoot.at(tmp_path)
    times = iter([FIXED + dt.timedelta(minutes=i) for i in range(10_000)])
    with RedfishPoller(
        RedfishTarget(srv.url, "admin", USERS["admin"]),
        root=root,
        site="tyo1",
        producer="pdu",
        clock=lambda: next(times),
    ) as poller:
        first = poller.poll()
        srv.sessions.clear()  # the BMC restarted and forgot every session
        second = poller.poll()
        third = poller.poll()
    assert (first.ok, second.ok, third.ok) == (True, False, True)
    assert second.error is not None
    assert "session no longer valid" in second.error
    assert first.readings == 38
    landed = pl.read_parquet(root.landing / "facility" / "**" / "*.parquet")
    assert landed.height == 76
    assert landed["meter_id"].n_unique() == 38
    health = pl.read_parquet(root.landing / "collector_health" / "**" / "*.parquet").sort("ts")
    assert health.select("ok", "samples").rows() == [(True, 38), (False, 0), (True, 38)]
    assert health["target"].to_list() == [srv.url] * 3
    assert len(srv.deleted) == 1  # the session of the third poll, deleted when the poller closed
