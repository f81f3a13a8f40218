"""NVML's error codes sorted into what the agent does with them.

NVML answers every call with a return code (``pynvml`` raises a subclass of ``NVMLError`` per code). The agent
never treats them alike (reference: gpu-telemetry §4.3):

- **routine** (NOT_SUPPORTED, NO_PERMISSION, NOT_FOUND …): the value does not exist here; it is left null,
  quietly. The *permanent* ones (the board or driver will never have it) are remembered per device, so the
  call is not repeated every sample;
- **device** (GPU_IS_LOST, RESET_REQUIRED …): that GPU is in trouble; one health event, the GPU is skipped and
  retried on the next sample;
- **library** (UNINITIALIZED, DRIVER_NOT_LOADED, LIB_RM_VERSION_MISMATCH …): NVML itself is unusable; the
  agent re-initialises it. At start-up, a missing library or driver is the user's to fix (exit code 3).
"""

from __future__ import annotations

import pynvml


def _codes(*names: str) -> frozenset[int]:
    return frozenset(int(getattr(pynvml, n)) for n in names if isinstance(getattr(pynvml, n, None), int))


#: The value is not available here, now: skipped without noise.
ROUTINE = _codes(
    "NVML_ERROR_NOT_SUPPORTED",
    "NVML_ERROR_NO_PERMISSION",
    "NVML_ERROR_NOT_FOUND",
    "NVML_ERROR_INSUFFICIENT_SIZE",
    "NVML_ERROR_NO_DATA",
    "NVML_ERROR_NOT_READY",
    "NVML_ERROR_FUNCTION_NOT_FOUND",
    "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
    "NVML_ERROR_DEPRECATED",
    "NVML_ERROR_TIMEOUT",
    "NVML_ERROR_INVALID_ARGUMENT",
)

#: Routine errors that will not change while this NVML session lasts: the call is not repeated for that device.
#: (NOT_FOUND, NO_DATA, NOT_READY, TIMEOUT mean "nothing new yet" and are asked again.)
PERMANENT = _codes(
    "NVML_ERROR_NOT_SUPPORTED",
    "NVML_ERROR_NO_PERMISSION",
    "NVML_ERROR_FUNCTION_NOT_FOUND",
    "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
    "NVML_ERROR_DEPRECATED",
    "NVML_ERROR_INVALID_ARGUMENT",
)

#: Answers that mean "no new data" rather than a failure; not counted in the self-metrics.
QUIET = _codes("NVML_ERROR_NOT_FOUND", "NVML_ERROR_TIMEOUT")

#: The GPU is in trouble: (health event name, severity).
DEVICE: dict[int, tuple[str, str]] = {
    int(pynvml.NVML_ERROR_GPU_IS_LOST): ("gpu_lost", "critical"),
    int(pynvml.NVML_ERROR_RESET_REQUIRED): ("reset_required", "critical"),
    int(pynvml.NVML_ERROR_GPU_NOT_FOUND): ("gpu_not_found", "critical"),
    int(pynvml.NVML_ERROR_INVALID_STATE): ("invalid_state", "critical"),
    int(pynvml.NVML_ERROR_CORRUPTED_INFOROM): ("corrupted_inforom", "warning"),
    int(pynvml.NVML_ERROR_MEMORY): ("nvml_memory_error", "warning"),
    int(pynvml.NVML_ERROR_IRQ_ISSUE): ("irq_issue", "warning"),
    int(pynvml.NVML_ERROR_UNKNOWN): ("nvml_unknown_error", "warning"),
}

#: NVML as a whole is unusable: re-initialise (or, at start-up, report and exit).
LIBRARY = _codes(
    "NVML_ERROR_UNINITIALIZED",
    "NVML_ERROR_DRIVER_NOT_LOADED",
    "NVML_ERROR_LIBRARY_NOT_FOUND",
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
)

#: No NVIDIA driver or NVML library on this machine: nothing to retry at start-up.
NO_DRIVER = _codes("NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_DRIVER_NOT_LOADED")

MISMATCH = int(pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)

_NAMES: dict[int, str] = {}
for _name in dir(pynvml):
    _value = getattr(pynvml, _name)
    if _name.startswith("NVML_ERROR_") and isinstance(_value, int):
        _NAMES.setdefault(_value, _name)


def error_name(code: int | None) -> str:
    """``NVML_ERROR_GPU_IS_LOST`` for 15, without calling into the driver (which may be the thing that failed)."""
    if code is None:
        return "no code"
    return _NAMES.get(code, f"NVML error {code}")


def err_code(exc: BaseException) -> int:
    """The NVML return code carried by a ``pynvml.NVMLError`` (-1 if it carries none)."""
    value = getattr(exc, "value", -1)
    return int(value) if isinstance(value, int) else -1


class DeviceError(Exception):
    """A device-level NVML failure (the GPU is lost, needs a reset …)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.event, self.severity = DEVICE.get(code, ("read_error", "warning"))
        super().__init__(error_name(code))


class NvmlUnavailableError(Exception):
    """NVML as a whole failed (no driver, library/driver version mismatch, not initialised)."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(describe_library_error(code))


def describe_library_error(code: int) -> str:
    """One line a node operator can act on."""
    name = error_name(code)
    if code == int(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND):
        return f"NVML library (libnvidia-ml.so.1) not found ({name}): is the NVIDIA driver installed on this node?"
    if code == int(pynvml.NVML_ERROR_DRIVER_NOT_LOADED):
        return f"NVIDIA kernel driver not loaded ({name}): check `lsmod | grep nvidia` and `dmesg`"
    if code == MISMATCH:
        return f"NVML library and kernel driver versions differ ({name}): driver upgraded or reloaded"
    return f"NVML unavailable ({name})"
