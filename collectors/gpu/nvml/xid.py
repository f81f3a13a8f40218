"""What an Xid number means, for the message and severity of a ``gpu_health`` row.

Texts follow NVIDIA's Xid catalogue (https://docs.nvidia.com/deploy/xid-errors/), shortened. "critical" marks
the Xids that mean the GPU, its memory or its links need an operator (the allow-list the reference suggests for
alerting: 48, 62, 64, 74, 79, 95, 119, 120, plus unrecovered ECC and init failures); the others are usually
an application fault or a recorded, recovered event.
"""

from __future__ import annotations

XIDS: dict[int, tuple[str, str]] = {
    8: ("GPU stopped processing", "warning"),
    13: ("Graphics engine exception (usually an application fault)", "warning"),
    31: ("GPU memory page fault (usually an application fault)", "warning"),
    32: ("Invalid or corrupted push buffer stream", "warning"),
    38: ("Driver firmware error", "warning"),
    43: ("GPU stopped processing (the faulting context was killed)", "warning"),
    45: ("Preemptive cleanup after a previous error", "warning"),
    48: ("Double-bit ECC error", "critical"),
    61: ("Internal micro-controller breakpoint/warning", "warning"),
    62: ("Internal micro-controller halt", "critical"),
    63: ("ECC page retirement or row remapping recorded", "warning"),
    64: ("ECC page retirement or row remapping recording failed", "critical"),
    68: ("Video processor exception", "warning"),
    69: ("Graphics engine class error", "warning"),
    74: ("NVLink error", "critical"),
    79: ("GPU has fallen off the bus", "critical"),
    92: ("High single-bit ECC error rate", "warning"),
    94: ("Contained ECC error", "warning"),
    95: ("Uncontained ECC error", "critical"),
    109: ("Context switch timeout", "warning"),
    119: ("GSP RPC timeout", "critical"),
    120: ("GSP error", "critical"),
    121: ("C2C link error", "warning"),
    140: ("Unrecovered ECC error", "critical"),
    143: ("GPU initialisation failure", "critical"),
    154: ("GPU recovery action changed", "warning"),
}


def describe(xid: int) -> tuple[str, str]:
    """(message, severity) for an Xid; unknown ones are reported as warnings with their number."""
    text, severity = XIDS.get(xid, ("unlisted Xid", "warning"))
    return f"Xid {xid}: {text}", severity
