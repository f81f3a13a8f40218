"""Normalisation of dcgm-exporter scrapes to ``gpu`` landing rows: units, generations, holders, bad values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from collectors.gpu.dcgm.health import XidTracker
from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.normalise import Normaliser, to_gpu_rows
from collectors.gpu.dcgm.parse import ExpositionParser, parse_exposition
from collectors.gpu.dcgm.render import GpuReading, reading_values_from_memory, render_exposition
from collectors.gpu.dcgm.rows import gpu_buffer
from collectors.gpu.dcgm.synthetic import node_readings, node_scrape
from collectors.schemas import GPU_SAMPLE

TS = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MIB = 1 << 20


def rows(text: str, **kwargs: Any) -> tuple[pl.DataFrame, Any]:
    args: dict[str, Any] = {"ts": TS, "site": "tyo1", "node_hint": "hint", "interval_s": 30, "producer": "p"}
    args.update(kwargs)
    return to_gpu_rows(parse_exposition(text), **args)


def one(text: str, **kwargs: Any) -> dict[str, Any]:
    frame, _ = rows(text, **kwargs)
    assert frame.height == 1
    return frame.row(0, named=True)


def test_t4_under_load(samples: Path) -> None:
    row = one((samples / "dcgm" / "t4_under_load_no_help_ericsson-ccd.txt").read_text())
    assert row["gpu_uuid"] == "GPU-6d5c0ac5-74d7-3130-46f1-e93ed57f469a"
    assert (row["node"], row["model"], row["gpu_index"]) == ("cp-bm14r7", "Tesla T4", 0)
    assert (row["pci_bus_id"], row["driver_version"]) == ("00000000:37:00.0", "590.48.01")
    assert row["util_ratio"] == 0.91
    assert row["mem_util_ratio"] == 0.73
    assert row["power_w"] == 68.244
    assert row["energy_counter_j"] == 15152422.938  # 15152422938 mJ
    assert row["sm_clock_hz"] == 660e6
    assert row["mem_clock_hz"] == 5000e6
    assert row["temp_c"] == 74.0
    assert row["mem_temp_c"] is None  # 0 on a GDDR part means unsupported
    assert row["mem_used_bytes"] == 5120 * MIB
    assert row["mem_total_bytes"] == (9791 + 5120 + 447) * MIB
    assert row["gr_engine_active_ratio"] == 0.156205
    assert row["pcie_tx_bytes_s"] == 4791810.0
    assert row["holders"] == []
    assert (row["site"], row["source"], row["interval_s"], row["ts"]) == ("tyo1", "dcgm", 30.0, TS)


def test_a100_mig_gives_a_gpu_row_and_an_instance_row(samples: Path) -> None:
    frame, report = rows((samples / "dcgm" / "a100_mig_profiling_nvidia-cloud-native-docs.txt").read_text())
    assert report.problems == []
    gpu, gi = frame.sort("gpu_instance_id", nulls_last=False).rows(named=True)
    assert gpu["gpu_uuid"] == gi["gpu_uuid"] == "GPU-34319582-d595-d1c7-d1d2-179bcfa61660"
    assert (gpu["gpu_instance_id"], gpu["mig_profile"]) == (None, None)
    assert (gi["gpu_instance_id"], gi["mig_profile"]) == (13, "1g.5gb")
    assert gpu["power_w"] == 409.692
    assert gpu["mem_temp_c"] == 69.0  # HBM: a real reading
    assert gpu["gr_engine_active_ratio"] == 0.99563
    assert gi["gr_engine_active_ratio"] == 0.995687
    assert gi["dram_active_ratio"] == 0.800339
    assert gi["power_w"] is None  # DCGM has no per-instance power
    assert gpu["node"] == gi["node"] == "ub20-a100-k8s"


def test_vgpu_guest_has_no_power_but_a_licence(samples: Path) -> None:
    row = one((samples / "dcgm" / "a100_vgpu_grid-40c_vks.txt").read_text())
    assert row["model"] == "GRID A100-40C"
    assert row["vgpu_license_status"] == 1
    assert (row["power_w"], row["energy_counter_j"], row["temp_c"]) == (None, None, None)
    assert row["mem_total_bytes"] == (37739 + 0 + 3220) * MIB


@pytest.mark.parametrize("name", ["l4_idle_kops.txt", "l40s_idle_upcloud.txt"])
def test_idle_pcie_gpus(samples: Path, name: str) -> None:
    row = one((samples / "dcgm" / name).read_text())
    assert row["util_ratio"] == 0.0
    assert row["remap_failed"] is False
    assert row["remapped_rows_correctable"] == 0
    assert row["nvlink_bytes_s"] is None  # PCIe GPUs print no NVLink series
    assert 10 < row["power_w"] < 40


def _reading(**overrides: Any) -> GpuReading:
    values: dict[str, float] = {
        "sm_clock_hz": 1.98e9,
        "mem_clock_hz": 2.619e9,
        "temp_c": 52.0,
        "mem_temp_c": 45.0,
        "power_w": 612.25,
        "energy_counter_j": 123456789.123,
        "util_ratio": 0.87,
        "mem_util_ratio": 0.4,
        "enc_util_ratio": 0.0,
        "dec_util_ratio": 0.03,
        "pcie_replay_total": 2.0,
        "nvlink_bytes_s": 3e9,
        "xid_last": 0.0,
        "gr_engine_active_ratio": 0.95,
        "tensor_active_ratio": 0.6,
        "dram_active_ratio": 0.5,
        "pcie_tx_bytes_s": 1e6,
        "pcie_rx_bytes_s": 2e6,
        "remapped_rows_correctable": 1.0,
        **reading_values_from_memory(80 * 1024 * MIB, 60 * 1024 * MIB, 600 * MIB),
    }
    fields = {"uuid": "GPU-abc", "index": 3, "hostname": "dgx-01", "values": values, "driver_version": "580.1"}
    fields.update(overrides)
    return GpuReading(**fields)


EXPECTED = {
    "sm_clock_hz": 1.98e9,
    "mem_clock_hz": 2.619e9,
    "temp_c": 52.0,
    "mem_temp_c": 45.0,
    "power_w": 612.25,
    "energy_counter_j": 123456789.123,
    "util_ratio": 0.87,
    "mem_util_ratio": 0.4,
    "dec_util_ratio": 0.03,
    "pcie_replay_total": 2,
    "nvlink_bytes_s": 3e9,
    "gr_engine_active_ratio": 0.95,
    "mem_used_bytes": 60 * 1024 * MIB,
    "mem_total_bytes": 80 * 1024 * MIB,
    "remapped_rows_correctable": 1,
    "driver_version": "580.1",
    "node": "dgx-01",
    "gpu_index": 3,
}


@pytest.mark.parametrize("with_help", [True, False], ids=["help", "no-help"])
@pytest.mark.parametrize("generation", [Generation.LEGACY, Generation.V49, Generation.V1], ids=str)
def test_every_generation_lands_the_same_canonical_values(generation: Generation, with_help: bool) -> None:
    text = render_exposition([_reading()], generation=generation, with_help=with_help)
    row = one(text)
    expected = dict(EXPECTED)
    if generation is Generation.V1:  # the 1.x compatibility set prints fewer fields and labels
        for column in ("gr_engine_active_ratio", "pcie_replay_total", "remapped_rows_correctable", "driver_version"):
            expected.pop(column)
        # 1.x prints no FB_RESERVED, so free + used is all the total it can give (reserved 600 MiB short).
        expected["mem_total_bytes"] = (80 * 1024 - 600) * MIB
    for column, value in expected.items():
        assert row[column] == pytest.approx(value) if isinstance(value, float) else row[column] == value, column


def test_4_9_units_without_help_or_markers_need_the_generation_forced() -> None:
    """A 4.9 scrape holding only fields whose name did not change cannot say its units: legacy is assumed,
    the implausible clock is refused, and forcing the generation lands it right."""
    reading = _reading(values={"sm_clock_hz": 1.98e9, "mem_used_bytes": 1024.0 * MIB})
    text = render_exposition([reading], generation=Generation.V49, with_help=False, hostname_label="")
    text = text.replace(',DCGM_FI_SYSTEM_DRIVER_VERSION="580.1"', "")
    frame, report = rows(text)
    assert frame.row(0, named=True)["sm_clock_hz"] is None
    assert "outside the plausible range of sm_clock_hz" in str(report.problems[0])
    forced = one(text, generation=Generation.V49)
    assert forced["sm_clock_hz"] == 1.98e9
    assert forced["mem_used_bytes"] == 1024 * MIB
    assert forced["node"] == "hint"  # --no-hostname: the target's host


def test_hostname_label_spellings() -> None:
    old = render_exposition([_reading()], hostname_label="Hostname")
    new = render_exposition([_reading()], hostname_label="hostname")
    assert one(old)["node"] == one(new)["node"] == "dgx-01"


def test_pod_copies_fold_into_one_row_with_every_holder() -> None:
    holders = [
        {"container": "c1", "namespace": "team-a", "pod": "p1", "pod_uid": ""},
        {"container": "c2", "namespace": "team-b", "pod": "p2", "pod_uid": "uid-2"},
    ]
    row = one(render_exposition([_reading(holders=holders)]))
    assert row["power_w"] == 612.25  # once, not 2 × 612.25
    assert row["energy_counter_j"] == 123456789.123
    assert [(h["namespace"], h["pod"], h["container"], h["pod_uid"]) for h in row["holders"]] == [
        ("team-a", "p1", "c1", None),  # pod_uid="" as real exporters print it: unknown
        ("team-b", "p2", "c2", "uid-2"),
    ]
    assert all(h["util_ratio"] is None for h in row["holders"])  # plain copies say nothing about shares


def test_hpc_jobs_and_1x_pod_labels_are_holders() -> None:
    jobs = one(render_exposition([_reading(holders=[{"hpc_job": "4711"}, {"hpc_job": "4712"}])]))
    assert [h["hpc_job"] for h in jobs["holders"]] == ["4711", "4712"]
    old = one(render_exposition([_reading(holders=[{"pod": "p", "namespace": "n"}])], generation=Generation.V1))
    assert [(h["namespace"], h["pod"]) for h in old["holders"]] == [("n", "p")]


def test_exported_pod_labels_win_over_the_exporters_own_pod() -> None:
    text = (
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",pod="dcgm-exporter-x7",namespace="gpu-operator",'
        'exported_pod="train-1",exported_namespace="team-a"} 50\n'
    )
    holder = one(text)["holders"][0]
    assert (holder["pod"], holder["namespace"]) == ("train-1", "team-a")


def test_virtual_gpus_give_each_pod_its_own_share() -> None:
    reading = _reading(
        holders=[{"namespace": "a", "pod": "p1"}, {"namespace": "b", "pod": "p2"}],
        virtual_gpus=True,
        holder_shares={
            "p1": {"util_ratio": 0.5, "mem_used_bytes": 40.0 * 1024 * MIB},
            "p2": {"util_ratio": 0.3, "mem_used_bytes": 20.0 * 1024 * MIB},
        },
    )
    row = one(render_exposition([reading]))
    assert row["util_ratio"] == 0.87  # the device series, not a sum of shares
    assert row["mem_used_bytes"] == 60 * 1024 * MIB
    shares = [(h["pod"], h["util_ratio"], h["mem_used_bytes"]) for h in row["holders"]]
    assert shares == [("p1", 0.5, 40 * 1024 * MIB), ("p2", 0.3, 20 * 1024 * MIB)]


def test_holder_copies_that_disagree_keep_the_first_and_say_so() -> None:
    text = (
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",pod="p1",namespace="n"} 300.0\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",pod="p2",namespace="n"} 310.0\n'
    )
    frame, report = rows(text)
    assert frame.row(0, named=True)["power_w"] == 300.0
    assert "disagree on power_w (300 vs 310)" in str(report.problems[0])


BAD = 'DCGM_FI_DEV_{name}{{gpu="0",UUID="GPU-a"}} {value}\n'


@pytest.mark.parametrize(
    ("name", "value", "column", "message"),
    [
        ("POWER_USAGE", "NaN", "power_w", "NaN for power_w"),
        ("GPU_TEMP", "+Inf", "temp_c", "inf for temp_c"),
        ("TOTAL_ENERGY_CONSUMPTION", "-5000", "energy_counter_j", "negative value -5000 for counter"),
        ("GPU_UTIL", "250", "util_ratio", "250 is outside the plausible range of util_ratio"),
        ("POWER_USAGE", "100000000000000", "power_w", "1e+14 is outside the plausible range of power_w"),
    ],
)
def test_bad_values_are_dropped_and_reported_and_the_row_kept(name: str, value: str, column: str, message: str) -> None:
    text = BAD.format(name=name, value=value) + BAD.format(name="SM_CLOCK", value="1410")
    frame, report = rows(text)
    row = frame.row(0, named=True)
    assert row[column] is None
    assert row["sm_clock_hz"] == 1410e6
    (problem,) = report.problems
    assert message in str(problem)
    assert (problem.line, problem.field) == (1, column)


def test_blank_sentinels_are_dropped_silently_and_counted() -> None:
    text = (
        BAD.format(name="MEMORY_TEMP", value="9223372036854775794")  # DCGM_INT64_NOT_SUPPORTED (README)
        + BAD.format(name="POWER_USAGE", value="140737488355330")  # DCGM_FP64_BLANK + 2
        + BAD.format(name="GPU_TEMP", value="40")
    )
    frame, report = rows(text)
    row = frame.row(0, named=True)
    assert (row["mem_temp_c"], row["power_w"], row["temp_c"]) == (None, None, 40.0)
    assert report.blanks == 2
    assert report.problems == []


def test_counters_land_as_reported_even_when_they_restart() -> None:
    """Counters stay cumulative (the pipeline takes deltas and detects the driver-reload reset)."""
    parser = ExpositionParser()
    normaliser = Normaliser(site="s", node_hint="h", interval_s=30, producer="p")
    buffer = gpu_buffer()
    for i, energy in enumerate(["900000", "960000", "1000"]):
        normaliser.normalise(parser.parse(BAD.format(name="TOTAL_ENERGY_CONSUMPTION", value=energy)), TS, buffer)
        assert len(buffer) == i + 1
    assert buffer.to_frame().get_column("energy_counter_j").to_list() == [900.0, 960.0, 1.0]


def test_unknown_and_gpu_less_series_are_set_aside() -> None:
    text = (
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 40\n'
        'DCGM_FI_DEV_NVSWITCH_TEMPERATURE{nvswitch="0"} 40\n'
        "go_goroutines 12\n"
        'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 300\n'
    )
    frame, report = rows(text)
    assert frame.height == 1
    assert report.ignored == 3
    assert "has no UUID label" in str(report.problems[0])


def test_steady_state_layout_gives_the_general_paths_rows() -> None:
    """Scrapes replayed through the compiled layout equal the general path, across changes and bad values."""
    scrapes = [node_scrape(11, scrape=k) for k in range(8)]
    scrapes[3] = scrapes[3].replace(',container="trainer"', "")  # pods change
    lines = scrapes[6].split("\n")
    power = next(i for i, line in enumerate(lines) if line.startswith("DCGM_FI_DEV_POWER_USAGE{"))
    lines[power] = lines[power].rpartition(" ")[0] + " NaN"  # one bad value: the general path reports it
    scrapes[6] = "\n".join(lines)
    frames = []
    fast = []
    for use_layout in (True, False):
        parser = ExpositionParser()
        normaliser = Normaliser(site="s", node_hint="h", interval_s=30, producer="p", use_layout=use_layout)
        buffer = gpu_buffer()
        for k, text in enumerate(scrapes):
            report = normaliser.normalise(parser.parse(text), TS + dt.timedelta(seconds=30 * k), buffer)
            if use_layout:
                fast.append(report.fast_path)
        frames.append(buffer.to_frame())
    assert_frame_equal(frames[0], frames[1])
    assert frames[0].height == 8 * 8
    # first sight, steady, steady, pods changed, pods back, steady, a NaN (general path), steady again
    assert fast == [False, True, True, False, False, True, False, True]


def test_xid_readings_become_events_when_they_change() -> None:
    tracker = XidTracker()
    parser = ExpositionParser()
    normaliser = Normaliser(site="s", node_hint="h", interval_s=30, producer="p")
    buffer = gpu_buffer()
    sequence = [(0, {}), (79, {}), (79, {79: 1}), (79, {79: 1}), (13, {79: 3}), (13, {79: 2})]
    events = []
    for k, (xid, window) in enumerate(sequence):
        message = {0: None, 79: "GPU has fallen off the bus", 13: "Graphics Engine Exception"}[xid]
        reading = _reading(values={"xid_last": float(xid), "temp_c": 40.0}, xid_message=message, xid_window=window)
        ts = TS + dt.timedelta(seconds=30 * k)
        report = normaliser.normalise(parser.parse(render_exposition([reading])), ts, buffer)
        for row in tracker.events(report.xids, ts=ts, site="s", source="dcgm", producer="p"):
            events.append((k, row["event"], row["code"], row["severity"], row["message"]))
    assert events == [
        (1, "xid", 79, "critical", "GPU has fallen off the bus"),
        (2, "xid_window", 79, "critical", "1 new XID 79 error(s) in the exporter's 300 s window"),
        (4, "xid_window", 79, "critical", "2 new XID 79 error(s) in the exporter's 300 s window"),
        (4, "xid", 13, "warning", "Graphics Engine Exception"),
    ]
    assert buffer.to_frame().get_column("xid_last").to_list() == [0, 79, 79, 79, 13, 13]


def test_rows_conform_to_the_landing_schema() -> None:
    frame, _ = rows(render_exposition(node_readings(1)))
    assert frame.schema == GPU_SAMPLE.polars_schema
    assert frame.height == 8
    assert frame.get_column("gpu_uuid").n_unique() == 8
