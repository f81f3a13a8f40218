"""MIG: the GPU instances of a MIG-enabled GPU, found through NVML's MIG device handles.

A MIG device handle stands for one *compute* instance; several compute instances may share one GPU instance
(and its memory). The landing key is (GPU, GPU instance id, time), so devices are grouped by GPU instance: memory
is read from the instance's first device, processes from all of them. NVML gives MIG devices memory and
process information only: no utilisation or power (gpu-telemetry §4.2); activity comes from GPM
(``nvmlGpmMigSampleGet``, Hopper+) when the board offers it, else stays null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pynvml

from collectors.gpu.nvml.calls import Calls
from collectors.gpu.nvml.gpm import GpmSampler

# "NVIDIA H100 80GB HBM3 MIG 1g.10gb", "… MIG 1c.3g.40gb" (a compute instance of a 3g.40gb GPU instance),
# "MIG 1g.10gb+me" (profile info names).
_PROFILE = re.compile(r"\bMIG\s+(?:\d+c\.)?(\d+g\.\d+gb(?:\+\w+)*)", re.IGNORECASE)


@dataclass
class MigInstance:
    """One GPU instance of a MIG-enabled GPU and the MIG devices (compute instances) in it."""

    gpu_instance_id: int
    profile: str | None
    handles: list[Any]
    mem_total: int | None
    unsupported: set[str] = field(default_factory=set)
    gpm: GpmSampler | None = None
    last_process_ts_us: int = 0


def profile_from_name(name: str) -> str | None:
    """The GPU-instance profile (``1g.10gb``) named in a MIG device or profile name, else None."""
    match = _PROFILE.search(name)
    return match.group(1) if match else None


def discover(calls: Calls, unsupported: set[str], handle: Any, gpm: bool) -> list[MigInstance] | None:
    """The GPU instances of the GPU behind ``handle``; None when MIG is off or the board has none.

    ``gpm``: whether the parent offers GPM, in which case each instance gets its own sampler.
    """
    mode = calls.get(unsupported, "nvmlDeviceGetMigMode", handle)
    if mode is None or int(mode[0]) != pynvml.NVML_DEVICE_MIG_ENABLE:
        return None
    count = calls.get(unsupported, "nvmlDeviceGetMaxMigDeviceCount", handle) or 0
    found: dict[int, MigInstance] = {}
    for index in range(int(count)):
        scratch: set[str] = set()
        mig = calls.get(scratch, "nvmlDeviceGetMigDeviceHandleByIndex", handle, index)
        if mig is None:  # NOT_FOUND: an empty slot
            continue
        gi = calls.get(scratch, "nvmlDeviceGetGpuInstanceId", mig)
        if gi is None:
            continue
        instance = found.get(int(gi))
        if instance is None:
            instance = MigInstance(int(gi), _profile(calls, handle, mig, int(gi)), [], None)
            mem = calls.get(instance.unsupported, "nvmlDeviceGetMemoryInfo", mig)
            instance.mem_total = int(mem.total) if mem is not None else None
            if gpm:
                instance.gpm = GpmSampler(calls, handle, int(gi))
            found[int(gi)] = instance
        instance.handles.append(mig)
    return [found[gi] for gi in sorted(found)]


def _profile(calls: Calls, parent: Any, mig: Any, gi: int) -> str | None:
    """From the MIG device's name; else from the GPU instance's profile info (needs more privileges)."""
    scratch: set[str] = set()
    name = calls.get(scratch, "nvmlDeviceGetName", mig)
    profile = profile_from_name(_text(name)) if name is not None else None
    if profile is not None:
        return profile
    instance = calls.get(scratch, "nvmlDeviceGetGpuInstanceById", parent, gi)
    info = calls.get(scratch, "nvmlGpuInstanceGetInfo", instance) if instance is not None else None
    if info is None:
        return None
    prof = calls.get(scratch, "nvmlDeviceGetGpuInstanceProfileInfoById", parent, int(info.profileId))
    return profile_from_name(_text(prof.name)) if prof is not None else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
