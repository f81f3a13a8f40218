"""The state of fake GPUs: boards with what they support, GPUs and MIG instances whose counters integrate time.

Used by :mod:`.fake` (the fake NVML library). Values are in NVML's units (mW, mJ, MHz, °C, bytes, KiB) and
counters integrate exactly: energy += power × dt, PCIe bytes += rate × dt, so a test can compute the expected
rate or energy from what it set. Which fields a board answers follows the real product lines: GPM and MIG on
Hopper, PCIe byte counters (fields 197/198) on recent boards only, no HBM temperature or NVLink on PCIe GDDR
boards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pynvml

from collectors.gpu.nvml.events import WATCHED_MASK
from collectors.gpu.nvml.fieldvalues import GPU_FIELDS

_ALL_FIELDS = frozenset(spec.field_id for spec in GPU_FIELDS) | {pynvml.NVML_FI_DEV_NVLINK_LINK_COUNT}
_PCIE_COUNTERS = frozenset({pynvml.NVML_FI_DEV_PCIE_COUNT_TX_BYTES, pynvml.NVML_FI_DEV_PCIE_COUNT_RX_BYTES})
_NVLINK = frozenset({pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX})
_HBM_AND_REMAP = frozenset(
    {
        pynvml.NVML_FI_DEV_MEMORY_TEMP,
        pynvml.NVML_FI_DEV_REMAPPED_COR,
        pynvml.NVML_FI_DEV_REMAPPED_UNC,
        pynvml.NVML_FI_DEV_REMAPPED_PENDING,
        pynvml.NVML_FI_DEV_REMAPPED_FAILURE,
    }
)
GIB = 1 << 30


@dataclass(frozen=True)
class Board:
    """A product: identity, power envelope and which NVML features it answers."""

    model: str
    mem_total: int
    idle_mw: int
    max_mw: int
    fields: frozenset[int] = _ALL_FIELDS
    gpm: bool = False
    mig: bool = False
    mem_clock_mhz: int = 2619
    events: int = WATCHED_MASK


H100_SXM = Board("NVIDIA H100 80GB HBM3", 81559 * (1 << 20), 70_000, 700_000, gpm=True, mig=True)
A100_SXM = Board("NVIDIA A100-SXM4-80GB", 81920 * (1 << 20), 55_000, 400_000, _ALL_FIELDS - _PCIE_COUNTERS, mig=True)
L40S = Board(
    "NVIDIA L40S", 46068 * (1 << 20), 35_000, 350_000, _ALL_FIELDS - _NVLINK - _HBM_AND_REMAP, mem_clock_mhz=9001
)


@dataclass
class FakeMig:
    """One GPU instance of a MIG-enabled fake GPU."""

    gpu_instance_id: int
    profile: str
    mem_total: int
    mem_used: int = 0
    compute_instances: int = 1
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, bytes)
    util: float = 0.0
    busy_s: float = 0.0  # GPM integral of graphics-engine activity


@dataclass
class FakeGpu:
    """One fake GPU. Set the gauges; the counters follow from them as time advances."""

    uuid: str
    board: Board = H100_SXM
    util: float = 0.0  # 0..1
    mem_util: float = 0.0
    power_mw: int | None = None  # None: from utilisation between the board's idle and maximum power
    power_instant_mw: int | None = None  # None: same as power_mw
    mem_used: int = 0
    temp_c: int = 40
    mem_temp_c: int = 45
    sm_mhz: int = 1980
    throttle: int = 0
    pstate: int = 0
    ecc_corrected: int = 0
    ecc_uncorrected: int = 0
    remapped_correctable: int = 0
    remapped_uncorrectable: int = 0
    remap_pending: bool = False
    remap_failure: bool = False
    pcie_tx_bps: float = 0.0
    pcie_rx_bps: float = 0.0
    nvlink_tx_bps: float = 0.0
    nvlink_rx_bps: float = 0.0
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, bytes)
    process_sm: dict[int, int] = field(default_factory=dict)  # pid -> SM % (default: util shared equally)
    mig: list[FakeMig] | None = None  # None: MIG off
    no_permission: frozenset[int] = frozenset()  # fields this process may not read (e.g. in a container)
    lost: bool = False
    reset_required: bool = False
    wave_s: float = 0.0  # > 0: utilisation follows a sine wave of this period (the demo backend)
    phase: float = 0.0
    # Counters, integrated by advance().
    energy_mj: float = 0.0
    pcie_tx_bytes: float = 0.0
    pcie_rx_bytes: float = 0.0
    nvlink_tx_kib: float = 0.0
    nvlink_rx_kib: float = 0.0
    busy_s: float = 0.0
    dram_busy_s: float = 0.0

    def power(self) -> int:
        if self.power_mw is not None:
            return self.power_mw
        b = self.board
        return round(b.idle_mw + self.util * (b.max_mw - b.idle_mw))

    def advance(self, t0: float, t1: float) -> None:
        """Integrate the counters over [t0, t1) (while lost, the GPU keeps running but nobody can read it)."""
        dt = t1 - t0
        if dt <= 0:
            return
        if self.wave_s > 0:
            self.util = round(0.5 + 0.45 * math.sin(2 * math.pi * t1 / self.wave_s + self.phase), 2)
            self.mem_util = round(self.util * 0.6, 2)
            self.temp_c = round(35 + 40 * self.util)
            self.mem_temp_c = self.temp_c + 6
        self.energy_mj += self.power() * dt
        self.pcie_tx_bytes += self.pcie_tx_bps * dt
        self.pcie_rx_bytes += self.pcie_rx_bps * dt
        self.nvlink_tx_kib += self.nvlink_tx_bps * dt / 1024
        self.nvlink_rx_kib += self.nvlink_rx_bps * dt / 1024
        self.busy_s += self.util * dt
        self.dram_busy_s += self.mem_util * dt
        for instance in self.mig or []:
            instance.busy_s += instance.util * dt

    def reset_counters(self) -> None:
        """What a driver reload does to NVML's counters: they start again from zero."""
        self.energy_mj = self.pcie_tx_bytes = self.pcie_rx_bytes = 0.0
        self.nvlink_tx_kib = self.nvlink_rx_kib = 0.0
