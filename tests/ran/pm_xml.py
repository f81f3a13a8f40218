"""Builders for small TS 32.435 files in tests: explicit, readable XML rather than opaque fixtures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

NS = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"


def meas_info(
    end: str,
    types: Sequence[str],
    rows: Sequence[tuple[str, Sequence[str | None], bool | None]],
    *,
    duration: str = "PT900S",
    list_form: bool = False,
    info_id: str | None = None,
) -> str:
    """One measInfo; ``rows`` = (measObjLdn, results by position (None = no r element), suspect or None)."""
    head = f'<measInfo measInfoId="{info_id}">' if info_id else "<measInfo>"
    parts = [head, f'<granPeriod duration="{duration}" endTime="{end}"/>']
    if list_form:
        parts.append(f"<measTypes>{' '.join(types)}</measTypes>")
    else:
        parts += [f'<measType p="{i}">{t}</measType>' for i, t in enumerate(types, 1)]
    for ldn, results, suspect in rows:
        parts.append(f'<measValue measObjLdn="{ldn}">')
        if list_form:
            parts.append(f"<measResults>{' '.join(r or '' for r in results)}</measResults>")
        else:
            parts += [f'<r p="{i}">{r}</r>' for i, r in enumerate(results, 1) if r is not None]
        if suspect is not None:
            parts.append(f"<suspect>{'true' if suspect else 'false'}</suspect>")
        parts.append("</measValue>")
    parts.append("</measInfo>")
    return "\n".join(parts)


def meas_data(local_dn: str, *infos: str) -> str:
    return "\n".join([f'<measData><managedElement localDn="{local_dn}"/>', *infos, "</measData>"])


def meas_collec(*blocks: str, vendor: str = "aigrid-test", begin: str = "2026-11-20T13:00:00+09:00") -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<measCollecFile xmlns="{NS}">',
            f'<fileHeader fileFormatVersion="32.435 V10.0" vendorName="{vendor}">',
            '<fileSender localDn="oss-1"/>',
            f'<measCollec beginTime="{begin}"/>',
            "</fileHeader>",
            *blocks,
            '<fileFooter><measCollec endTime="2026-11-20T13:15:00+09:00"/></fileFooter>',
            "</measCollecFile>",
        ]
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def simulated_gnb(gnb: str, end: str, cells: int = 2, *, scale: float = 1.0) -> str:
    """A file like the demo simulator writes: DU, CU-CP, CU-UP cells and the gNB's PEE counters."""
    du_types = [
        "RRU.PrbUsedDl",
        "RRU.PrbAvailDl",
        "RRU.PrbUsedUl",
        "RRU.PrbAvailUl",
        "RRU.PrbTotDl",
        "RRU.PrbTotUl",
        "DRB.UEThpDl",
        "DRB.UEThpUl",
        "DRB.MeanActiveUeDl",
    ]
    du_rows = [
        (
            f"ManagedElement={gnb},GNBDUFunction=1,NRCellDU={c}",
            [f"{v * scale:g}" for v in (100 * c, 273, 50 * c, 273, 40 * c, 20 * c, 9000 * c, 1500 * c, 3 * c)],
            None,
        )
        for c in range(1, cells + 1)
    ]
    cp_rows = [
        (f"ManagedElement={gnb},GNBCUCPFunction=1,NRCellCU={c}", [f"{5 * c}", f"{8 * c}"], None)
        for c in range(1, cells + 1)
    ]
    up_rows = [
        (
            f"ManagedElement={gnb},GNBCUUPFunction=1,NRCellCU={c}",
            [f"{1200 * c * scale:g}", f"{300 * c * scale:g}"],
            None,
        )
        for c in range(1, cells + 1)
    ]
    return meas_collec(
        meas_data(
            f"ManagedElement={gnb}",
            meas_info(end, du_types, du_rows, info_id="NRCellDU"),
            meas_info(end, ["RRC.ConnMean", "RRC.ConnMax"], cp_rows, info_id="NRCellCU"),
            meas_info(end, ["DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL"], up_rows, info_id="GNBCUUP"),
            meas_info(end, ["PEE.AvgPower", "PEE.Energy"], [(f"ManagedElement={gnb}", ["800", "0.2"], None)]),
        )
    )


# -- hostile files -------------------------------------------------------------------------------------

BODY = (
    f'<measCollecFile xmlns="{NS}"><measData><managedElement localDn="g"/><measInfo>'
    '<granPeriod duration="PT900S" endTime="2026-11-20T04:15:00Z"/><measType p="1">A.X</measType>'
    '<measValue measObjLdn="C=1"><r p="1">{value}</r></measValue></measInfo></measData></measCollecFile>'
)


def external_entity(secret: Path) -> str:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE measCollecFile [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>\n' + BODY.format(value="&xxe;")
    )


def billion_laughs(levels: int = 10) -> str:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE measCollecFile [", ' <!ENTITY lol0 "lol">']
    for i in range(1, levels):
        lines.append(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    lines.append("]>")
    return "\n".join(lines) + "\n" + BODY.format(value=f"&lol{levels - 1};")
