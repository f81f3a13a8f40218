"""One NVML call with NVML's error classes applied, and "not supported here" remembered.

A getter that answers NOT_SUPPORTED or NO_PERMISSION (or that the binding or driver lacks) will answer the same
for the rest of the NVML session; on a real GPU each refused call is still a driver round trip, and in the
simulated demo an exception per call per sample. So the refusal is remembered in a per-device set and the call
is not made again until NVML is re-initialised.
"""

from __future__ import annotations

from typing import Any

import pynvml

from collectors.gpu.nvml import errors
from collectors.gpu.nvml.selfmetrics import SelfMetrics


class Calls:
    """Calls NVML functions by name: routine errors give None, device and library errors raise."""

    def __init__(self, nvml: Any, metrics: SelfMetrics) -> None:
        self.nvml = nvml
        self.metrics = metrics

    def get(self, unsupported: set[str], name: str, *args: Any, key: str | None = None) -> Any:
        """``nvml.<name>(*args)``, or None when the value does not exist here.

        ``key`` names the call in ``unsupported`` when one function is asked in several ways (e.g. the v2 memory
        struct before v1); it defaults to the function's name.

        Raises :class:`errors.DeviceError` for a GPU in trouble and :class:`errors.NvmlUnavailableError` when NVML
        itself failed. Any other NVML code (an odd one such as OPERATING_SYSTEM) leaves this one value null and
        is counted in the self-metrics, so one strange answer never stops the sample.
        """
        key = key or name
        if key in unsupported:
            return None
        fn = getattr(self.nvml, name, None)
        if fn is None:  # a binding older than the function
            unsupported.add(key)
            return None
        try:
            return fn(*args)
        except pynvml.NVMLError as exc:
            code = errors.err_code(exc)
            if code not in errors.QUIET:
                self.metrics.error(code)
            if code in errors.DEVICE:
                raise errors.DeviceError(code) from exc
            if code in errors.LIBRARY:
                raise errors.NvmlUnavailableError(code) from exc
            if code in errors.PERMANENT:
                unsupported.add(key)
            return None

    def first(self, unsupported: set[str], names: tuple[str, ...], *args: Any) -> Any:
        """The first of several equivalent getters that answers (e.g. ``…TemperatureV`` before the deprecated
        ``…Temperature``); the ones refused are remembered like any other."""
        for name in names:
            if name in unsupported:
                continue
            value = self.get(unsupported, name, *args)
            if value is not None or name not in unsupported:
                return value
        return None
