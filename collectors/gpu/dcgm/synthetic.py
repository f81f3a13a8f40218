"""Deterministic synthetic dcgm-exporter scrapes: realistic label sets and values for tests and benchmarks.

Shaped like the real samples in ``tests/fixtures/samples/dcgm/`` and shared/reference/performance.md §4.1:
8 GPUs per node, the default counter set, Kubernetes pod labels on busy GPUs, power printed with six
decimals, utilisation as integer percent, energy as an integer mJ counter that grows with power × time.
"""

from __future__ import annotations

import random

from collectors.gpu.dcgm.names import Generation
from collectors.gpu.dcgm.render import GpuReading, reading_values_from_memory, render_exposition

H100_MEM_BYTES = 81_559 * (1 << 20)


def node_readings(node: int, *, gpus: int = 8, seed: int = 0, scrape: int = 0, pods: bool = True) -> list[GpuReading]:
    """Readings of one node at one scrape; the same (node, seed) always names the same GPUs and pods."""
    identity = random.Random(f"{seed}-{node}")
    readings = []
    for g in range(gpus):
        uuid = f"GPU-{identity.getrandbits(32):08x}-{identity.getrandbits(16):04x}-{identity.getrandbits(16):04x}-"
        uuid += f"{identity.getrandbits(16):04x}-{identity.getrandbits(48):012x}"
        busy = identity.random() < 0.75
        tenant = identity.randrange(16)
        values_rng = random.Random(f"{seed}-{node}-{g}-{scrape}")
        util = values_rng.randint(60, 100) if busy else values_rng.randint(0, 3)
        power = round((90 + 6.1 * util) * values_rng.uniform(0.97, 1.03), 3)
        used = (values_rng.randint(20_000, 78_000) if busy else values_rng.randint(0, 600)) * (1 << 20)
        values: dict[str, float] = {
            "sm_clock_hz": (1980 if busy else 345) * 1e6,
            "mem_clock_hz": 2619e6,
            "mem_temp_c": float(values_rng.randint(38, 60)),
            "temp_c": float(values_rng.randint(30, 72)),
            "power_w": power,
            "energy_counter_j": round(3.6e8 + node * 1e5 + g * 1e4 + scrape * 30 * power, 3),
            "pcie_replay_total": 0.0,
            "util_ratio": util / 100,
            "mem_util_ratio": values_rng.randint(0, util) / 100,
            "enc_util_ratio": 0.0,
            "dec_util_ratio": 0.0,
            "xid_last": 0.0,
            "nvlink_bytes_s": float(values_rng.randint(0, 400_000) * 1_000_000 if busy else 0),
            "vgpu_license_status": 0.0,
            "remapped_rows_uncorrectable": 0.0,
            "remapped_rows_correctable": 0.0,
            "remap_failed": 0.0,
            "gr_engine_active_ratio": round(util / 100 * values_rng.uniform(0.9, 1.0), 6),
            "tensor_active_ratio": round(util / 100 * values_rng.uniform(0.3, 0.7), 6),
            "dram_active_ratio": round(util / 100 * values_rng.uniform(0.2, 0.8), 6),
            "pcie_tx_bytes_s": float(values_rng.randint(100_000, 60_000_000)),
            "pcie_rx_bytes_s": float(values_rng.randint(100_000, 90_000_000)),
            **reading_values_from_memory(H100_MEM_BYTES, used, 573 * (1 << 20)),
        }
        holders = []
        if pods and busy:
            holders.append(
                {
                    "container": "trainer",
                    "namespace": f"tenant-{tenant:02d}",
                    "pod": f"job-{tenant:02d}-{node:04d}-{g}-7f9c5",
                }
            )
        readings.append(
            GpuReading(
                uuid=uuid,
                index=g,
                hostname=f"dgx-{node:04d}",
                values=values,
                pci_bus_id=f"00000000:{0x18 + 0x10 * g:02X}:00.0",
                driver_version="580.105.08",
                holders=holders,
            )
        )
    return readings


def node_scrape(
    node: int,
    *,
    gpus: int = 8,
    seed: int = 0,
    scrape: int = 0,
    pods: bool = True,
    generation: Generation = Generation.LEGACY,
    with_help: bool = True,
) -> str:
    """The ``/metrics`` body of one synthetic node at one scrape."""
    readings = node_readings(node, gpus=gpus, seed=seed, scrape=scrape, pods=pods)
    return render_exposition(readings, generation=generation, with_help=with_help)
