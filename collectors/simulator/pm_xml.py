"""Render TS 32.435 measurement collection files (``measCollecFile``) as a gNB's OSS would drop them.

One A-type file per gNB per granularity period: a DU block in the ``measType p=`` / ``r p=`` form, a CU block
in the ``measTypes`` / ``measResults`` list form (both are legal and real OSSs use both), and the gNB's
power and energy (PEE). Times carry the site's UTC offset, as vendors write them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

NAMESPACE = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"


@dataclass(frozen=True)
class MeasBlock:
    """One ``measInfo``: counters and, per measured object, its values (None = NIL) and suspect flag."""

    meas_info_id: str
    job_id: str
    counters: Sequence[str]
    objects: Sequence[tuple[str, Sequence[float | None], bool]]
    list_form: bool = False


def file_name(begin: dt.datetime, end: dt.datetime, sender: str) -> str:
    """``A20261120.1300+0900-1315+0900_gnb-tyo1-01.xml`` (TS 32.432 style, type A: one NE, one period)."""
    return f"A{begin:%Y%m%d.%H%M}{_offset(begin)}-{end:%H%M}{_offset(end)}_{sender}.xml"


def render(
    *,
    gnb: str,
    dn_prefix: str,
    begin: dt.datetime,
    period_s: int,
    blocks: Sequence[MeasBlock],
    vendor: str = "aigrid-sim",
    sw_version: str = "gNB 24.3",
) -> bytes:
    """The XML bytes of one file; ``begin`` must be timezone-aware (local time of the site)."""
    end = begin + dt.timedelta(seconds=period_s)
    me = f"ManagedElement={gnb}"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml-stylesheet type="text/xsl" href="MeasDataCollection.xsl"?>',
        f'<measCollecFile xmlns="{NAMESPACE}">',
        f'  <fileHeader fileFormatVersion="32.435 V10.0" vendorName={quoteattr(vendor)} '
        f"dnPrefix={quoteattr(dn_prefix)}>",
        f'    <fileSender localDn={quoteattr(me)} elementType="gNB"/>',
        f'    <measCollec beginTime="{begin.isoformat()}"/>',
        "  </fileHeader>",
        "  <measData>",
        f"    <managedElement localDn={quoteattr(me)} userLabel={quoteattr(gnb)} swVersion={quoteattr(sw_version)}/>",
    ]
    for block in blocks:
        out.append(f"    <measInfo measInfoId={quoteattr(block.meas_info_id)}>")
        out.append(f"      <job jobId={quoteattr(block.job_id)}/>")
        out.append(f'      <granPeriod duration="PT{period_s}S" endTime="{end.isoformat()}"/>')
        out.append(f'      <repPeriod duration="PT{period_s}S"/>')
        if block.list_form:
            out.append(f"      <measTypes>{' '.join(block.counters)}</measTypes>")
        else:
            out.extend(f'      <measType p="{i}">{c}</measType>' for i, c in enumerate(block.counters, 1))
        for ldn, values, suspect in block.objects:
            out.append(f"      <measValue measObjLdn={quoteattr(ldn)}>")
            if block.list_form:
                out.append(f"        <measResults>{' '.join(_value(v) for v in values)}</measResults>")
            else:
                out.extend(f'        <r p="{i}">{_value(v)}</r>' for i, v in enumerate(values, 1))
            out.append(f"        <suspect>{'true' if suspect else 'false'}</suspect>")
            out.append("      </measValue>")
        out.append("    </measInfo>")
    out += [
        "  </measData>",
        "  <fileFooter>",
        f'    <measCollec endTime="{end.isoformat()}"/>',
        "  </fileFooter>",
        "</measCollecFile>",
        "",
    ]
    return "\n".join(out).encode("utf-8")


def _value(v: float | None) -> str:
    if v is None:
        return "NIL"
    return str(int(v)) if float(v).is_integer() else repr(round(float(v), 6))


def _offset(t: dt.datetime) -> str:
    off = t.utcoffset() or dt.timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
