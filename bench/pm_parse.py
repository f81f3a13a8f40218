"""Benchmark: TS 32.435 PM parse throughput (MB/s) and peak memory at 50 MB and 500 MB.

    python -m bench.pm_parse [--sizes 50,500] [--dir DIR] [--keep]

Writes realistic OSS-aggregated files (:func:`write_pm_file`), then parses each in a fresh child
process so that its peak RSS (``getrusage``) belongs to that run alone:

* ``aigrid``: :class:`collectors.ran.meascollec.MeasFileParser` — every value to a record in canonical
  units, in batches, as the inbox ingest does (records are produced and dropped, as when landing them);
* ``lxml iterparse``: the same streaming parse with no record work, the floor for any lxml parser (its
  "values" are the elements under each ``measValue``);
* ``stdlib ElementTree``: the baseline, what a first implementation would do: a full-tree
  ``xml.etree.ElementTree.parse`` of the 50 MB file and one Python tuple per value (vectors split); its
  memory grows with the file.

The file is what an OSS exports when it aggregates one 15-minute ROP of many gNBs (type B): per gNB the
demo simulator's counters (DU cells, CU-CP and CU-UP cells, PEE), throughput sub-counters per S-NSSAI, a
16-bin CQI distribution vector and an Ericsson-style energy meter with its 150-sample power vector, in
both the ``measType``/``r`` and the ``measTypes``/``measResults`` forms (seeded: the same bytes every run).

Throughput is reported on wall time and on CPU time (other jobs sharing the machine inflate wall time).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1_000_000

# -- the file ----------------------------------------------------------------------------------------

NS = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"
END = "2026-11-20T13:15:00+09:00"
CELLS = 3
DU_COUNTERS = (
    "RRU.PrbUsedDl",
    "RRU.PrbAvailDl",
    "RRU.PrbUsedUl",
    "RRU.PrbAvailUl",
    "RRU.PrbTotDl",
    "RRU.PrbTotUl",
    "DRB.UEThpDl",
    "DRB.UEThpUl",
    "DRB.MeanActiveUeDl",
    "DRB.UEThpDl.01",
    "DRB.UEThpDl.02",
    "CARR.WBCQIDist",
)


def _gnb(n: int, rnd: random.Random) -> str:
    me = f"gnb-{n:06d}"
    out = [f'<measData>\n  <managedElement localDn="SubNetwork=1,ManagedElement={me}" swVersion="26.1"/>']
    out.append(_info("NRCellDU_GNBDU", DU_COUNTERS))
    for cell in range(1, CELLS + 1):
        values = [
            f"{rnd.randint(0, 273)}",
            "273",
            f"{rnd.randint(0, 273)}",
            "273",
            f"{rnd.randint(0, 100)}",
            f"{rnd.randint(0, 100)}",
            f"{rnd.uniform(0, 2e5):.1f}",
            f"{rnd.uniform(0, 5e4):.1f}",
            f"{rnd.uniform(0, 30):.2f}",
            f"{rnd.uniform(0, 2e5):.1f}",
            f"{rnd.uniform(0, 2e5):.1f}",
            ",".join(str(rnd.randint(0, 999)) for _ in range(16)),
        ]
        out.append(_values(f"ManagedElement={me},GNBDUFunction=1,NRCellDU={cell}", values, suspect=n % 97 == cell))
    out.append("  </measInfo>")
    out.append(_list_info("NRCellCU_GNBCUCP", ("RRC.ConnMean", "RRC.ConnMax", "RRC.ConnEstabAtt", "RRC.ConnEstabSucc")))
    for cell in range(1, CELLS + 1):
        mean = rnd.uniform(0, 80)
        att = rnd.randint(0, 900)
        results = f"{mean:.2f} {mean * 1.6:.0f} {att} {att - rnd.randint(0, 5) if att > 5 else att}"
        obj = f"ManagedElement={me},GNBCUCPFunction=1,NRCellCU={cell}"
        out.append(f'    <measValue measObjLdn="{obj}">\n      <measResults>{results}</measResults>\n    </measValue>')
    out.append("  </measInfo>")
    out.append(_info("NRCellCU_GNBCUUP", ("DRB.PdcpSduVolumeDL", "DRB.PdcpSduVolumeUL")))
    for cell in range(1, CELLS + 1):
        vol = [f"{rnd.randint(0, 40000)}", f"{rnd.randint(0, 8000)}"]
        out.append(_values(f"ManagedElement={me},GNBCUUPFunction=1,NRCellCU={cell}", vol))
    out.append("  </measInfo>")
    out.append(_info("PEE", ("PEE.AvgPower", "PEE.Energy")))
    power = rnd.uniform(600, 1400)
    out.append(_values(f"ManagedElement={me}", [f"{power:.1f}", f"{power * 0.25 / 1000:.4f}"]))
    out.append("  </measInfo>")
    out.append(_info("EnergyMeter", ("pmConsumedEnergy", "pmPowerConsumption")))
    samples = ",".join(str(round(power + rnd.uniform(-20, 20))) for _ in range(150))
    meter = f"ManagedElement={me},Equipment=1,FieldReplaceableUnit=BB-1,EnergyMeter=1"
    out.append(_values(meter, [f"{power * 0.25:.0f}", samples]))
    out.append("  </measInfo>\n</measData>\n")
    return "\n".join(out)


def _info(info_id: str, counters: tuple[str, ...]) -> str:
    types = "\n".join(f'    <measType p="{i}">{c}</measType>' for i, c in enumerate(counters, 1))
    return (
        f'  <measInfo measInfoId="PM=1,PmGroup={info_id}">\n    <job jobId="bench"/>\n'
        f'    <granPeriod duration="PT900S" endTime="{END}"/>\n    <repPeriod duration="PT900S"/>\n{types}'
    )


def _list_info(info_id: str, counters: tuple[str, ...]) -> str:
    return (
        f'  <measInfo measInfoId="PM=1,PmGroup={info_id}">\n    <job jobId="bench"/>\n'
        f'    <granPeriod duration="PT900S" endTime="{END}"/>\n    <measTypes>{" ".join(counters)}</measTypes>'
    )


def _values(obj: str, values: list[str], *, suspect: bool = False) -> str:
    rs = "\n".join(f'      <r p="{i}">{v}</r>' for i, v in enumerate(values, 1))
    flag = "\n      <suspect>true</suspect>" if suspect else ""
    return f'    <measValue measObjLdn="{obj}">\n{rs}{flag}\n    </measValue>'


def write_pm_file(path: Path, target_bytes: int, *, seed: int = 1) -> int:
    """Write gNB blocks until the file reaches ``target_bytes``; returns the number of gNBs written."""
    rnd = random.Random(seed)
    gnbs = 0
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<measCollecFile xmlns="{NS}">\n'
            '  <fileHeader fileFormatVersion="32.435 V10.0" vendorName="aigrid bench" dnPrefix="SubNetwork=1">\n'
            '    <fileSender localDn="oss-1" elementType="OSS"/>\n'
            '    <measCollec beginTime="2026-11-20T13:00:00+09:00"/>\n  </fileHeader>\n'
        )
        while out.tell() < target_bytes:
            gnbs += 1
            out.write(_gnb(gnbs, rnd))
        out.write(f'  <fileFooter>\n    <measCollec endTime="{END}"/>\n  </fileFooter>\n</measCollecFile>\n')
    return gnbs


# -- the runs ----------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    size_mb: float
    wall_s: float
    cpu_s: float
    records: int
    peak_rss_mb: float

    @property
    def mb_s(self) -> float:
        return self.size_mb / self.wall_s

    @property
    def mb_s_cpu(self) -> float:
        return self.size_mb / self.cpu_s


def _aigrid(path: Path) -> int:
    from collectors.ran.meascollec import MeasFileParser
    from collectors.ran.records import Problems

    parser = MeasFileParser(path, problems=Problems(str(path)))
    return sum(batch.height for batch in parser.batches())


def _iterparse(path: Path) -> int:
    from collectors.ran.xmlsafe import iter_elements

    count = 0
    with open(path, "rb") as stream:
        for _event, element in iter_elements(stream, ("{*}measInfo",)):
            count += sum(len(mv) for mv in element)
            element.clear(keep_tail=False)
            parent = element.getparent()
            while element.getprevious() is not None:
                del parent[0]
    return count


def _etree(path: Path) -> int:
    """A first implementation: the whole tree in memory, then one Python tuple per value."""
    import xml.etree.ElementTree as ET

    q = f"{{{NS}}}"
    rows: list[tuple[str, str, str, int | None, float | None]] = []
    for data in ET.parse(path).getroot().iter(q + "measData"):
        element = data.find(q + "managedElement")
        me = "" if element is None else element.get("localDn", "")
        for info in data.iter(q + "measInfo"):
            names = {t.get("p"): t.text or "" for t in info.iter(q + "measType")}
            listed = [n for t in info.iter(q + "measTypes") for n in (t.text or "").split()]
            for mv in info.iter(q + "measValue"):
                obj = mv.get("measObjLdn", "")
                pairs = [(names.get(r.get("p")), r.text or "") for r in mv.iter(q + "r")]
                for res in mv.iter(q + "measResults"):
                    pairs += zip(listed, (res.text or "").split(), strict=True)
                for counter, text in pairs:
                    parts = text.split(",")
                    for i, part in enumerate(parts):
                        value = None if part.strip() in ("", "NIL") else float(part)
                        rows.append((me, obj, counter or "", i if len(parts) > 1 else None, value))
    return len(rows)


WORK = {"aigrid": _aigrid, "lxml iterparse": _iterparse, "stdlib ElementTree": _etree}


def _child(label: str, path: str, queue: Any) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    records = WORK[label](Path(path))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    queue.put((wall, cpu, records, peak))


def measure(label: str, path: Path) -> Run:
    """Run one parse in a fresh (spawned) process and collect its time and peak RSS."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(label, str(path), queue))
    proc.start()
    wall, cpu, records, peak = queue.get()
    proc.join()
    return Run(label, path.stat().st_size / MB, wall, cpu, records, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500", help="file sizes in MB (the first also runs the baselines)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="aigrid-pm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        files = {}
        for size in sizes:
            path = workdir / f"B20261120.1300+0900-1315+0900_oss-{size}MB.xml"
            t0 = time.perf_counter()
            gnbs = write_pm_file(path, size * MB)
            took = time.perf_counter() - t0
            print(f"generated {path.name}: {path.stat().st_size / MB:.0f} MB, {gnbs:,} gNBs, {took:.1f} s")
            files[size] = path
        runs = [measure(label, files[sizes[0]]) for label in ("stdlib ElementTree", "lxml iterparse", "aigrid")]
        runs += [measure("aigrid", files[size]) for size in sizes[1:]]
        _report(runs)
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _report(runs: list[Run]) -> None:
    print()
    header = ("parser", "file MB", "wall s", "CPU s", "MB/s", "MB/s CPU", "values/s CPU", "peak RSS MB")
    widths = (-20, 8, 8, 7, 7, 9, 13, 12)
    print(" ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for r in runs:
        print(
            f"{r.label:<20} {r.size_mb:>8.0f} {r.wall_s:>8.2f} {r.cpu_s:>7.2f} {r.mb_s:>7.1f} {r.mb_s_cpu:>9.1f} "
            f"{r.records / r.cpu_s:>13,.0f} {r.peak_rss_mb:>12.0f}"
        )
    base = next(r for r in runs if r.label == "stdlib ElementTree")
    floor = next(r for r in runs if r.label == "lxml iterparse")
    ours = [r for r in runs if r.label == "aigrid"]
    print()
    first = ours[0]
    print(
        f"aigrid vs stdlib ElementTree ({first.size_mb:.0f} MB): {first.mb_s_cpu / base.mb_s_cpu:.2f}x throughput "
        f"(CPU), {first.peak_rss_mb / base.peak_rss_mb:.2f}x peak RSS"
    )
    print(f"aigrid vs bare lxml iterparse: {ours[0].mb_s_cpu / floor.mb_s_cpu:.2f}x throughput (CPU)")
    if len(ours) > 1:
        big, small = ours[-1], ours[0]
        ratio = big.peak_rss_mb / small.peak_rss_mb
        print(
            f"peak RSS {big.size_mb:.0f} MB file / {small.size_mb:.0f} MB file: {ratio:.2f}x "
            f"for {big.size_mb / small.size_mb:.0f}x the bytes"
        )


if __name__ == "__main__":
    main()
