"""Units by source: one map per source format or vendor from counter name to canonical unit.

The same counter name means different things in different places (reference ``ran-counters.md`` §1.3):
``DRB.PdcpSduVolumeDL`` is Mbit in TS 28.552 but kbit in O-RAN E2SM-KPM v3; ``RRU.PrbTotDl`` is a
percentage in TS 28.552 but a PRB count in OAI's E2 agent; srsRAN's JSON ``dl_brate`` is bit/s although
its docs say kbit/s. Every record therefore names the *unit system* it was read with, is converted into
the canonical unit below, and carries that unit in ``unit``. A counter the map does not know keeps its
value as written and a null ``unit``: unknown is never dressed up as known.

**Canonical units** are the TS 28.552 units of each kind of quantity, so that a value from a conformant
32.435 file passes through unchanged and matches what the OSS shows:

=================  ===========  ==========================================================
quantity           unit         examples
=================  ===========  ==========================================================
data volume        ``Mbit``     DRB.PdcpSduVolumeDL/UL
bit rate           ``kbit/s``   DRB.UEThpDl/Ul
energy             ``kWh``      PEE.Energy, Ericsson pmConsumedEnergy (Wh per ROP)
power              ``W``        PEE.AvgPower, pmPowerConsumption
share of a whole   ``%``        RRU.PrbTotDl, CPU usage
resource blocks    ``PRB``      RRU.PrbUsedDl, RRU.PrbAvailDl (and OAI-E2 RRU.PrbTotDl)
time / delay       ``ms``       DRB.RlcSduDelayDl (0.1 ms in 28.552), DRB.AirIfDelayDl
number of things   ``count``    RRC.ConnMean, DRB.MeanActiveUeDl, HARQ counts
bytes              ``byte``     buffer status, memory, NIC octets
others             ``degC``, ``V``, ``A``, ``dB``, ``MHz``, ``1`` (dimensionless index such as CQI, MCS)
=================  ===========  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from collectors.errors import InputError


@dataclass(frozen=True)
class Conversion:
    """How a counter of one unit system becomes canonical: ``canonical = value × factor``."""

    source_unit: str
    unit: str
    factor: float = 1.0


@dataclass(frozen=True)
class UnitSystem:
    name: str
    description: str
    counters: dict[str, Conversion] = field(default_factory=dict)
    base: str | None = None


def _same(unit: str, *names: str) -> dict[str, Conversion]:
    return {n: Conversion(unit, unit) for n in names}


def _conv(source_unit: str, unit: str, factor: float, *names: str) -> dict[str, Conversion]:
    return {n: Conversion(source_unit, unit, factor) for n in names}


TS28552 = UnitSystem(
    "3gpp",
    "TS 28.552 NR measurements as written in TS 32.435 / TS 28.532 files and VES perf3gpp events",
    {
        **_same("%", "RRU.PrbTotDl", "RRU.PrbTotUl", "PEE.Humidity"),
        **_same("%", "VR.VCpuUsageMean", "VR.VMemoryUsageMean", "VR.VDiskUsageMean"),
        **_same("PRB", "RRU.PrbUsedDl", "RRU.PrbUsedUl", "RRU.PrbAvailDl", "RRU.PrbAvailUl"),
        **_same("PRB", "RRU.MaxPrbUsedDl", "RRU.MaxPrbUsedUl"),
        **_same("kbit/s", "DRB.UEThpDl", "DRB.UEThpUl"),
        **_same("Mbit", "DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL"),
        **_same("count", "RRC.ConnMean", "RRC.ConnMax", "RRC.InactiveConnMean", "RRC.InactiveConnMax"),
        **_same("count", "DRB.MeanActiveUeDl", "DRB.MaxActiveUeDl", "DRB.MeanActiveUeUl", "DRB.MaxActiveUeUl"),
        **_same("count", "RRC.ConnEstabAtt", "RRC.ConnEstabSucc", "DRB.EstabAtt", "DRB.EstabSucc", "DRB.RelActNbr"),
        **_same("count", "SM.PDUSessionSetupReq", "SM.PDUSessionSetupSucc", "SM.PDUSessionSetupFail"),
        **_same("count", "MM.HoExeInterReq", "MM.HoExeInterSucc", "MM.HoExeIntraReq", "MM.HoExeIntraSucc"),
        **_same("count", "MM.HoPrepInterReq", "MM.HoPrepInterSucc", "MM.HoPrepInterFail", "RACH.PreambleDedCell"),
        **_same("ms", "MM.HoExeInterReq.TimeMean", "MM.HoExeInterReq.TimeMax"),
        **_same("ms", "DRB.AirIfDelayDl", "DRB.AirIfDelayUl", "DRB.RlcDelayUl"),
        **_conv("0.1 ms", "ms", 0.1, "DRB.RlcSduDelayDl", "DRB.PdcpSduDelayDl", "DRB.PdcpF1DelayDl"),
        **_conv("us", "ms", 0.001, "GTP.DelayDlPsaUpfNgranMean"),
        **_same("W", "PEE.AvgPower", "PEE.MinPower", "PEE.MaxPower"),
        **_same("kWh", "PEE.Energy"),
        **_same("degC", "PEE.AvgTemperature", "PEE.MinTemperature", "PEE.MaxTemperature"),
        **_same("V", "PEE.Voltage"),
        **_same("A", "PEE.Current"),
    },
)

ORAN_KPM = UnitSystem(
    "oran-kpm",
    "O-RAN E2SM-KPM v3 (O-RAN.WG3.E2SM-KPM-R003-v3.00): TS 28.552 names, volumes in kbit",
    {
        **_conv("kbit", "Mbit", 0.001, "DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL"),
        **_conv("kbit", "Mbit", 0.001, "DRB.RlcSduTransmittedVolumeDL", "DRB.RlcSduTransmittedVolumeUL"),
    },
    base="3gpp",
)

OAI_E2 = UnitSystem(
    "oai-e2",
    "OpenAirInterface E2 agent (ran_func_kpm.c): PRB counts instead of %, RLC delay in µs",
    {
        # "aggregated DL PRBs (t) - (t-gran)": a PRB count, which cannot become a percentage without the total.
        **_same("PRB", "RRU.PrbTotDl", "RRU.PrbTotUl"),
        **_conv("us", "ms", 0.001, "DRB.RlcSduDelayDl"),
    },
    base="oran-kpm",
)

OAI_O1 = UnitSystem(
    "oai-o1",
    "OpenAirInterface telnet `o1 stats` JSON (load → RRU.PrbTotDl %, ues-thp → DRB.UEThpDl/Ul kbit/s)",
    {
        **_same("%", "RRU.PrbTotDl"),
        **_same("kbit/s", "DRB.UEThpDl", "DRB.UEThpUl"),
        **_same("count", "RRC.ConnMean"),
    },
)

SRSRAN = UnitSystem(
    "srsran",
    "srsRAN Project JSON metrics (dl_brate/ul_brate are bit/s: the generator writes kbps × 1e3)",
    {
        **_conv("bit/s", "kbit/s", 0.001, "DRB.UEThpDl", "DRB.UEThpUl"),
        **_same("count", "RRC.ConnMean"),
        **_same("count", "dl_nof_ok", "dl_nof_nok", "ul_nof_ok", "ul_nof_nok", "latency_histogram"),
        **_same("count", "error_indication_count", "nof_failed_pdcch_allocs", "nof_failed_uci_allocs"),
        **_same("count", "late_dl_harqs", "late_ul_harqs", "msg3_nof_ok", "msg3_nof_nok"),
        **_same("count", "nof_pucch_f0f1_invalid_harqs", "nof_pucch_f2f3f4_invalid_harqs"),
        **_same("count", "nof_pucch_f2f3f4_invalid_csis", "nof_pusch_invalid_harqs", "nof_pusch_invalid_csis"),
        **_same("PRB", "pdsch_prbs_used_per_tdd_slot_idx", "pusch_prbs_used_per_tdd_slot_idx"),
        **_same("PRB", "pucch_tot_rb_usage_avg"),
        **_same("1", "cqi", "dl_mcs", "ul_mcs", "dl_ri", "ul_ri"),
        **_same("dB", "pusch_snr_db", "pucch_snr_db", "pusch_rsrp_db", "last_phr"),
        **_same("byte", "dl_bs", "bsr"),
        **_conv("ns", "ms", 1e-6, "ta_ns", "pusch_ta_ns", "pucch_ta_ns", "srs_ta_ns"),
        **_same("ms", "avg_ce_delay", "max_ce_delay", "avg_crc_delay", "max_crc_delay"),
        **_same("ms", "avg_pusch_harq_delay", "max_pusch_harq_delay", "avg_pucch_harq_delay"),
        **_same("ms", "max_pucch_harq_delay", "avg_sr_to_pusch_delay", "max_sr_to_pusch_delay"),
        **_same("%", "cpu_usage_percent"),
        **_conv("MiB", "byte", 1024.0**2, "memory_usage_mb"),
        **_same("W", "power_consumption_watts"),
    },
)

ERICSSON = UnitSystem(
    "ericsson",
    "Ericsson-style vendor counters in TS 32.435 files (energy in Wh per ROP, 150-sample power vectors)",
    {
        **_conv("Wh", "kWh", 0.001, "pmConsumedEnergy", "pmConsumedEnergyAccumulated"),
        **_same("W", "pmPowerConsumption"),
        **_same("V", "pmVoltage"),
    },
    base="3gpp",
)

VES_MEASUREMENT = UnitSystem(
    "ves-measurement",
    "VES 7 `measurement` domain arrays (cpuUsageArray %, memoryUsageArray KiB, nicPerformanceArray octets)",
    {
        **_same("%", "percentUsage", "cpuIdle", "cpuUsageUser", "cpuUsageSystem", "cpuUsageNice"),
        **_same("%", "cpuUsageInterrupt", "cpuUsageSoftIrq", "cpuUsageSteal", "cpuWait", "cpuDemandPct"),
        **_same("MHz", "cpuDemandMhz"),
        **_conv("KiB", "byte", 1024.0, "memoryFree", "memoryUsed", "memoryCached", "memoryBuffered"),
        **_conv("KiB", "byte", 1024.0, "memorySlabRecl", "memorySlabUnrecl", "memoryConfigured"),
        **_same("byte", "receivedOctetsDelta", "receivedOctetsAccumulated"),
        **_same("byte", "transmittedOctetsDelta", "transmittedOctetsAccumulated"),
        **_same("count", "receivedTotalPacketsDelta", "receivedTotalPacketsAccumulated"),
        **_same("count", "transmittedTotalPacketsDelta", "transmittedTotalPacketsAccumulated"),
        **_same("count", "receivedMulticastPacketsDelta", "receivedMulticastPacketsAccumulated"),
    },
)

SYSTEMS: dict[str, UnitSystem] = {
    s.name: s for s in (TS28552, ORAN_KPM, OAI_E2, OAI_O1, SRSRAN, ERICSSON, VES_MEASUREMENT)
}


def check_system(name: str) -> str:
    if name not in SYSTEMS:
        raise InputError(f"unknown unit system {name!r}; known: {', '.join(sorted(SYSTEMS))}", field="unit_system")
    return name


@lru_cache(maxsize=65536)
def conversion(system: str, counter: str) -> Conversion | None:
    """The conversion of ``counter`` (base name, without sub-counter) in ``system`` or its bases; None if unknown."""
    current: str | None = system
    while current is not None:
        spec = SYSTEMS[current]
        found = spec.counters.get(counter)
        if found is not None:
            return found
        current = spec.base
    return None


def canonical(system: str, counter: str, value: float | None) -> tuple[float | None, str | None]:
    """One value in canonical units: ``(value, unit)``; unknown counters pass through with unit None."""
    conv = conversion(check_system(system), counter)
    if conv is None:
        return value, None
    return (None if value is None else value * conv.factor), conv.unit
