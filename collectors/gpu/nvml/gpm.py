"""GPU Performance Monitoring (GPM, Hopper and newer): engine activity between two samples.

GPM is how NVML exposes what DCGM calls profiling fields (graphics-engine, SM, tensor and DRAM activity,
PCIe and NVLink bandwidth) without DCGM. A metric is computed between two GPM samples, so each sampler keeps
the previous one: the first read returns nothing, every later read the average over the interval since the
last one — a better figure than ``nvmlDeviceGetUtilizationRates``' 1/6–1 s window, and the only activity
figure NVML has for a MIG instance (``nvmlGpmMigSampleGet``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pynvml

if TYPE_CHECKING:
    from collectors.gpu.nvml.calls import Calls

_MIB = 1024.0 * 1024.0

#: (landing column, GPM metric id, scale to the column's unit). Percentages become ratios, MiB/s bytes/s.
ACTIVITY: tuple[tuple[str, int, float], ...] = (
    ("gr_engine_active_ratio", pynvml.NVML_GPM_METRIC_GRAPHICS_UTIL, 0.01),
    ("sm_active_ratio", pynvml.NVML_GPM_METRIC_SM_UTIL, 0.01),
    ("tensor_active_ratio", pynvml.NVML_GPM_METRIC_ANY_TENSOR_UTIL, 0.01),
    ("dram_active_ratio", pynvml.NVML_GPM_METRIC_DRAM_BW_UTIL, 0.01),
)
BANDWIDTH: tuple[tuple[str, int, float], ...] = (
    ("pcie_tx_bytes_s", pynvml.NVML_GPM_METRIC_PCIE_TX_PER_SEC, _MIB),
    ("pcie_rx_bytes_s", pynvml.NVML_GPM_METRIC_PCIE_RX_PER_SEC, _MIB),
    ("nvlink_tx_bytes_s", pynvml.NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC, _MIB),
    ("nvlink_rx_bytes_s", pynvml.NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC, _MIB),
)
_SUCCESS = int(pynvml.NVML_SUCCESS)


def supported(calls: Calls, unsupported: set[str], handle: Any) -> bool:
    """Whether the GPU offers GPM (``nvmlGpmQueryDeviceSupport``)."""
    answer = calls.get(unsupported, "nvmlGpmQueryDeviceSupport", handle)
    return answer is not None and bool(answer.isSupportedDevice)


class GpmSampler:
    """Two GPM sample buffers for one GPU (or one GPU instance of it), swapped at every read."""

    def __init__(self, calls: Calls, handle: Any, gpu_instance_id: int | None = None) -> None:
        self.calls = calls
        self.handle = handle
        self.gpu_instance_id = gpu_instance_id
        # Whole GPUs report bandwidth too; PCIe and NVLink belong to the board, not to a MIG instance.
        self.metrics = ACTIVITY if gpu_instance_id is not None else ACTIVITY + BANDWIDTH
        self.unsupported: set[str] = set()
        self._samples: list[Any] = []
        self._have_previous = False
        self._request: Any = None

    def read(self) -> dict[str, float]:
        """Take a sample; the metrics since the previous one (empty on the first read or when GPM refuses)."""
        if not self._samples and not self._allocate():
            return {}
        previous, current = self._samples
        if self.gpu_instance_id is None:
            got = self.calls.get(self.unsupported, "nvmlGpmSampleGet", self.handle, current)
        else:
            got = self.calls.get(self.unsupported, "nvmlGpmMigSampleGet", self.handle, self.gpu_instance_id, current)
        if got is None:
            self._have_previous = False
            return {}
        out: dict[str, float] = {}
        if self._have_previous:
            out = self._metrics(previous, current)
        self._samples.reverse()
        self._have_previous = True
        return out

    def close(self) -> None:
        """Free the sample buffers (NVML allocated them)."""
        for sample in self._samples:
            with contextlib.suppress(pynvml.NVMLError):
                self.calls.nvml.nvmlGpmSampleFree(sample)
        self._samples = []
        self._have_previous = False

    def _allocate(self) -> bool:
        first = self.calls.get(self.unsupported, "nvmlGpmSampleAlloc")
        if first is None:
            return False
        second = self.calls.get(self.unsupported, "nvmlGpmSampleAlloc")
        if second is None:
            with contextlib.suppress(pynvml.NVMLError):
                self.calls.nvml.nvmlGpmSampleFree(first)
            return False
        self._samples = [first, second]
        request = pynvml.c_nvmlGpmMetricsGet_t()
        request.version = pynvml.NVML_GPM_METRICS_GET_VERSION
        request.numMetrics = len(self.metrics)
        for i, (_column, metric_id, _scale) in enumerate(self.metrics):
            request.metrics[i].metricId = metric_id
        self._request = request
        return True

    def _metrics(self, previous: Any, current: Any) -> dict[str, float]:
        request = self._request
        request.sample1 = previous
        request.sample2 = current
        if self.calls.get(self.unsupported, "nvmlGpmMetricsGet", request) is None:
            return {}
        out: dict[str, float] = {}
        for i, (column, _metric_id, scale) in enumerate(self.metrics):
            metric = request.metrics[i]
            if int(metric.nvmlReturn) == _SUCCESS:
                out[column] = float(metric.value) * scale
        return out
