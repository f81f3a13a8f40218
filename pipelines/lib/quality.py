"""Data quality per site, source and hour: expected vs reporting GPUs, cells and meters; late and bad files.

*Expected* is what reported in the 24 hours before the hour or during it (for meters also every meter listed in
``meters.yaml``), so a GPU that falls silent counts as missing for a day, and a decommissioned one stops
counting after that. A landed file is *late* when it was written more than ``LATE_AFTER`` after its hour
ended: the hourly schedule has already processed the hour by then, and the late-data schedule re-runs it.
Quarantined files count in the hour they were quarantined (their content is unreadable, so their data hour is
unknown).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from collectors.errors import ConfigError
from collectors.facility.registry import load_meters
from collectors.inbox import quarantined
from collectors.isotime import utc_or_none
from collectors.landing import LandingZone, safe_producer
from collectors.layout import DataRoot
from pipelines.lib.frames import conform_to_table
from pipelines.lib.warehouse import Warehouse

LATE_AFTER = dt.timedelta(minutes=20)
LOOKBACK = dt.timedelta(hours=24)
HOUR = dt.timedelta(hours=1)
UNKNOWN_SITE = "unknown"

#: Warehouse source → (what is counted, landing source, inbox kinds whose quarantined files count for it).
SOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "gpu": ("gpus", "gpu", ()),
    "ran_pm": ("cells", "ran_pm", ("ran_pm",)),
    "facility": ("meters", "facility", ("meter_csv",)),
}

#: Per source: reporting in [start, end), expected in [lookback, end); columns site, expected, reporting,
#: records, covered_s. Parameters: lookback, end, start, end.
REPORTING_SQL = {
    "gpu": """
        WITH e AS (SELECT site, count(DISTINCT gpu_uuid) AS expected FROM gpu_hourly
                   WHERE hour >= ? AND hour < ? GROUP BY site),
             r AS (SELECT site, count(DISTINCT gpu_uuid) AS reporting, sum(samples) AS records,
                          sum(sample_s) AS covered_s
                   FROM gpu_hourly WHERE hour >= ? AND hour < ? GROUP BY site)
        SELECT e.site, e.expected, coalesce(r.reporting, 0) AS reporting, coalesce(r.records, 0) AS records,
               coalesce(r.covered_s, 0) AS covered_s
        FROM e LEFT JOIN r USING (site)""",
    "ran_pm": """
        WITH e AS (SELECT site, count(DISTINCT (managed_element, cell)) AS expected FROM ran_pm_record
                   WHERE period_start >= ? AND period_start < ? AND cell IS NOT NULL GROUP BY site),
             p AS (SELECT DISTINCT site, managed_element, cell, period_start, granularity_s FROM ran_pm_record
                   WHERE period_start >= ? AND period_start < ? AND cell IS NOT NULL),
             r AS (SELECT site, count(DISTINCT (managed_element, cell)) AS reporting, sum(granularity_s) AS covered_s
                   FROM p GROUP BY site),
             n AS (SELECT site, count(*) AS records FROM ran_pm_record
                   WHERE period_start >= ? AND period_start < ? GROUP BY site)
        SELECT e.site, e.expected, coalesce(r.reporting, 0) AS reporting, coalesce(n.records, 0) AS records,
               coalesce(r.covered_s, 0) AS covered_s
        FROM e LEFT JOIN r USING (site) LEFT JOIN n USING (site)""",
    "facility": """
        WITH e AS (SELECT site, meter_id FROM meter_reading WHERE ts >= ? AND ts < ? GROUP BY ALL),
             r AS (SELECT site, meter_id, count(*) AS records FROM meter_reading
                   WHERE ts >= ? AND ts < ? GROUP BY ALL),
             c AS (SELECT site, meter_id, covered_s FROM meter_energy_hourly WHERE hour = ?)
        SELECT e.site, e.meter_id, r.records, c.covered_s
        FROM e LEFT JOIN r USING (site, meter_id) LEFT JOIN c USING (site, meter_id)""",
}


def configured_meters(meters_file: Path) -> pl.DataFrame:
    """(site, meter_id) of every meter in ``meters.yaml``; empty if the file is absent or invalid (the
    facility assets validate that file and report its errors)."""
    empty = pl.DataFrame(schema={"site": pl.String, "meter_id": pl.String})
    if not meters_file.exists():
        return empty
    try:
        meters = load_meters(meters_file).meters
    except ConfigError:
        return empty
    rows = [{"site": m.site, "meter_id": m.id} for m in meters]
    return pl.DataFrame(rows, schema=empty.schema).unique(maintain_order=True) if rows else empty


def reporting(wh: Warehouse, source: str, hour: dt.datetime, meters: pl.DataFrame) -> pl.DataFrame:
    """site, expected, reporting, records, covered_s for one source and hour."""
    start, end = _naive(hour), _naive(hour + HOUR)
    lookback = start - LOOKBACK
    if source == "facility":
        seen = wh.query(REPORTING_SQL[source], [lookback, end, start, end, start])
        known = pl.concat([seen.select("site", "meter_id"), meters.select("site", "meter_id")], how="vertical").unique()
        rows = known.join(seen, on=["site", "meter_id"], how="left")
        return rows.group_by("site").agg(
            pl.len().alias("expected"),
            pl.col("records").is_not_null().sum().alias("reporting"),
            pl.col("records").fill_null(0).sum().alias("records"),
            pl.when(pl.col("covered_s").is_not_null().any()).then(pl.col("covered_s").sum()).alias("covered_s"),
        )
    params = [lookback, end, start, end] + ([start, end] if source == "ran_pm" else [])
    return wh.query(REPORTING_SQL[source], params)


def landed_files(
    landing: LandingZone,
    source: str,
    hour: dt.datetime,
    late_after: dt.timedelta,
    producer_sites: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Per site: files landed for ``hour``, how many were written later than ``late_after`` after it ended,
    and the latest one's delay in seconds (from the files' modification times).

    A file's site is its producer's (the file name starts with it) where ``producer_sites`` knows it — the
    warehouse already has every producer's site, and opening a thousand files to read one column costs more
    than the rest of the data-quality mart; other files are read.
    """
    schema = {"site": pl.String, "files": pl.Int64, "late_files": pl.Int64, "max_delay_s": pl.Float64}
    files = landing.files_for_hour(source, hour)
    if not files:
        return pl.DataFrame(schema=schema)
    hour_end = (hour + HOUR).timestamp()
    known = producer_sites or {}
    named = {str(f): known.get(f.stem.rsplit("-", 2)[0]) for f in files}
    unknown = [path for path, site in named.items() if site is None]
    sites = pl.DataFrame(
        [(path, site) for path, site in named.items() if site is not None],
        schema={"path": pl.String, "site": pl.String},
        orient="row",
    )
    if unknown:
        con = duckdb.connect()
        try:
            read = con.execute(
                "SELECT DISTINCT filename AS path, site FROM read_parquet(?, filename = true, union_by_name = true)",
                [unknown],
            ).pl()
        finally:
            con.close()
        sites = pl.concat([sites, read.select("path", "site")], how="vertical")
    delays = pl.DataFrame(
        {"path": [str(f) for f in files], "delay_s": [f.stat().st_mtime - hour_end for f in files]},
        schema={"path": pl.String, "delay_s": pl.Float64},
    )
    late = late_after.total_seconds()
    return (
        sites.join(delays, on="path", how="inner")
        .group_by("site")
        .agg(
            pl.len().alias("files"),
            (pl.col("delay_s") > late).sum().alias("late_files"),
            pl.col("delay_s").max().alias("max_delay_s"),
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def gpu_producer_sites(wh: Warehouse, hour: dt.datetime) -> dict[str, str]:
    """File-name form of each GPU producer of ``hour`` → its site (producers seen at one site only)."""
    start, end = _naive(hour), _naive(hour + HOUR)
    rows = wh.query(
        "SELECT producer, min(site) AS site FROM (SELECT DISTINCT producer, site FROM gpu_sample "
        "WHERE ts >= ? AND ts < ?) GROUP BY producer HAVING count(*) = 1",
        [start, end],
    )
    return {safe_producer(p): str(site) for p, site in rows.iter_rows()} if rows.height else {}


def quarantined_file_rows(root: DataRoot, hour: dt.datetime) -> pl.DataFrame:
    """``quarantined_file`` rows: every quarantined inbox file that arrived (else was quarantined) in ``hour``."""
    hour = hour.astimezone(dt.UTC)
    rows = []
    for source, (_unit, _landing, kinds) in SOURCES.items():
        for kind in kinds:
            for reason in quarantined(root, kind):
                arrived, at = utc_or_none(reason.get("arrived_at")), utc_or_none(reason.get("quarantined_at"))
                when = arrived or at
                if when is None or not hour <= when < hour + HOUR:
                    continue
                line = reason.get("line")
                rows.append(
                    {
                        "hour": _naive(hour),
                        "site": str(reason.get("site") or UNKNOWN_SITE),
                        "source": source,
                        "kind": kind,
                        "file": _text(reason.get("file")),
                        "line": line if isinstance(line, int) else None,
                        "field": _text(reason.get("field")),
                        "reason": _text(reason.get("reason")),
                        "arrived_at": _naive(arrived) if arrived else None,
                        "quarantined_at": _naive(at) if at else None,
                        "sha256": _text(reason.get("sha256")),
                        "quarantined_as": _text(reason.get("quarantined_as")),
                    }
                )
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    return conform_to_table("quarantined_file", frame.sort("kind", "quarantined_as") if rows else frame)


def quarantined_files(held: pl.DataFrame, source: str) -> pl.DataFrame:
    """Per site: how many of the hour's quarantined files (``quarantined_file`` rows) count for ``source``."""
    rows = held.filter(pl.col("source") == source)
    return rows.group_by("site").agg(pl.len().cast(pl.Int64).alias("quarantined_files"))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def data_quality_hour(
    wh: Warehouse, root: DataRoot, hour: dt.datetime, *, late_after: dt.timedelta = LATE_AFTER
) -> pl.DataFrame:
    """``data_quality`` rows for one hour, every source."""
    hour = hour.astimezone(dt.UTC)
    landing = LandingZone(root)
    meters = configured_meters(root.meters_file)
    frames = []
    held = quarantined_file_rows(root, hour)
    for source, (unit, landing_source, _kinds) in SOURCES.items():
        seen = reporting(wh, source, hour, meters)
        producers = gpu_producer_sites(wh, hour) if source == "gpu" else None
        files = landed_files(landing, landing_source, hour, late_after, producers)
        bad = quarantined_files(held, source)
        sites = pl.concat([seen.select("site"), files.select("site"), bad.select("site")]).unique()
        rows = (
            sites.join(seen, on="site", how="left")
            .join(files, on="site", how="left")
            .join(bad, on="site", how="left")
            .with_columns(
                pl.col("expected", "reporting", "records", "files", "late_files", "quarantined_files")
                .cast(pl.Int64)
                .fill_null(0),
                pl.lit(source).alias("source"),
                pl.lit(unit).alias("unit"),
            )
            .with_columns(
                (pl.col("expected") - pl.col("reporting")).clip(lower_bound=0).alias("missing"),
                (pl.col("reporting") / pl.when(pl.col("expected") > 0).then(pl.col("expected"))).alias(
                    "coverage_ratio"
                ),
                (
                    pl.col("covered_s").cast(pl.Float64)
                    / pl.when(pl.col("expected") > 0).then(pl.col("expected") * 3600.0)
                ).alias("time_coverage_ratio"),
            )
        )
        frames.append(rows)
    out = pl.concat(frames, how="diagonal_relaxed").with_columns(pl.lit(_naive(hour)).alias("hour"))
    return conform_to_table("data_quality", out.sort("site", "source"))


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)
