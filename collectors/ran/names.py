"""Names in PM data: managed elements, measured objects, cells, counters and their sub-counters.

**Cell identity.** A cell is named by its local id under its gNB: ``NRCellDU=1`` (the DU view: PRBs,
throughput, active UEs) and ``NRCellCU=1`` (the CU view: RRC connections, PDCP volume) of the same
``ManagedElement`` are the same cell ``"1"``, so their counters meet in one row of the hourly KPIs. A
measured object is a cell when its *last* RDN is a cell class; ``NRCellCU=1,NRCellRelation=2`` is a
neighbour relation, not the cell, and keeps ``cell`` null so relation rows are never counted as the cell.
LTE, UMTS and GSM cells keep their class in the id (``EUtranCellFDD=1``) so they can never collide with
an NR cell of the same number under a combined gNB/eNB.
"""

from __future__ import annotations

import re
from functools import lru_cache

NR_CELL_CLASSES = frozenset({"NRCellDU", "NRCellCU"})
OTHER_CELL_CLASSES = frozenset({"EUtranCellFDD", "EUtranCellTDD", "EUtranCell", "UtranCell", "GsmCell", "GeranCell"})

#: TS 28.552 / 32.4xx measurement families: ``FAMILY.Name[.filter]``; only these are split into sub-counters.
FAMILIES = frozenset(
    {
        "CARR",
        "DRB",
        "GTP",
        "HO",
        "IRATHO",
        "L1M",
        "MM",
        "MR",
        "PAG",
        "PEE",
        "QF",
        "QosFlow",
        "RACH",
        "RRC",
        "RRU",
        "SM",
        "TB",
        "UECNTX",
        "VR",
    }
)
#: Third name parts that belong to the counter name itself, not a filter (``MM.HoExeInterReq.TimeMean``).
_NAME_SUFFIXES = frozenset({"TimeMean", "TimeMax"})
_RDN_SPLIT = re.compile(r"(?<!\\),")


def rdns(dn: str) -> list[tuple[str, str]]:
    """``"A=1,B=x"`` → ``[("A", "1"), ("B", "x")]``; escaped commas (``\\,``) stay inside a value."""
    out = []
    for part in _RDN_SPLIT.split(dn):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        out.append((key.strip(), value.strip()) if sep else ("", key.strip()))
    return out


@lru_cache(maxsize=65536)
def managed_element_name(local_dn: str) -> str:
    """The gNB / ME name: the value of the last ``ManagedElement=`` RDN, else of the last RDN, else the text.

    ``SubNetwork=1,MeContext=X,ManagedElement=gnb-tyo1-01`` → ``gnb-tyo1-01``; ``GNODEB-0`` → ``GNODEB-0``.
    """
    parts = rdns(local_dn)
    for key, value in reversed(parts):
        if key == "ManagedElement" and value:
            return value
    if parts and parts[-1][1]:
        return parts[-1][1]
    return local_dn.strip()


@lru_cache(maxsize=65536)
def cell_of(measured_object: str) -> str | None:
    """The cell id of a measured object (see the module docstring), or None when it is not a cell."""
    if "\\" in measured_object:
        parts = rdns(measured_object)
        if not parts:
            return None
        key, value = parts[-1]
    else:  # fast path: no escaped commas, so the last RDN is after the last comma
        key, _, value = measured_object.rpartition(",")[2].partition("=")
        key, value = key.strip(), value.strip()
    if key in NR_CELL_CLASSES and value:
        return value
    if key in OTHER_CELL_CLASSES and value:
        return f"{key}={value}"
    return None


@lru_cache(maxsize=65536)
def split_counter(name: str) -> tuple[str, str | None]:
    """``DRB.UEThpDl.01`` → ``("DRB.UEThpDl", "01")``; names outside the 3GPP families are kept whole.

    TS 28.552 names are ``family.measurementName[.filter]``; the filter (QoS, S-NSSAI, PLMN, cause…) is the
    sub-counter. Vendor names (``pmConsumedEnergy``, ``Viavi.PEE.Energy``) are never split.
    """
    parts = name.split(".")
    if len(parts) < 3 or parts[0] not in FAMILIES:
        return name, None
    if parts[2] in _NAME_SUFFIXES and len(parts) == 3:
        return name, None
    if parts[2] in _NAME_SUFFIXES:
        return ".".join(parts[:3]), ".".join(parts[3:])
    return ".".join(parts[:2]), ".".join(parts[2:])
