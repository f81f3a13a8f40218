"""Tenancy assets: tenants and tariff from configuration, who held each GPU per hour, usage and cost per tenant."""

import dagster as dg
import polars as pl

from pipelines.defs.common import HOUR, hours_in, naive, table_asset
from pipelines.lib.attribution import attribute
from pipelines.lib.bulk import tune_session
from pipelines.lib.frames import conform_to_table
from pipelines.lib.tariff import load_tariff
from pipelines.lib.tenancy import IDLE, UNATTRIBUTED, Tenant, load_slurm_accounts, load_tenants
from pipelines.lib.usage import gpu_tenant_hour, tenant_usage_hour
from pipelines.resources import WRITER_POOL, DataRootResource, WarehouseResource

TARIFF_FILE = "tariff.yaml"


@table_asset(
    "dim_tenant",
    group="tenancy",
    kinds={"yaml", "duckdb"},
    metadata={"source": "config/tenants.yaml"},
    automation_condition=None,
)
def dim_tenant(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Tenants from ``tenants.yaml`` (validated on load, errors name the tenant and field), plus the
    'idle' and 'unattributed' lines aigrid adds so that tenant totals equal metered totals."""
    config = load_tenants(site_root.data_root.tenants_file)
    rows = [{"tenant": t.id, "name": t.name, "kind": t.kind, "rules": describe_rules(t)} for t in config.tenants]
    rows += [
        {"tenant": IDLE, "name": "Idle (no holder)", "kind": IDLE, "rules": "GPU time nobody held"},
        {
            "tenant": UNATTRIBUTED,
            "name": "Unattributed (held, no tenant rule matched)",
            "kind": UNATTRIBUTED,
            "rules": "held GPU time no rule matched",
        },
    ]
    count = warehouse.warehouse.replace_all("dim_tenant", pl.DataFrame(rows))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": count,
            "tenants": len(config.tenants),
            "ran_tenants": sum(t.kind == "ran" for t in config.tenants),
            "reservations": sum(len(t.reservations) for t in config.tenants),
        }
    )


def describe_rules(t: Tenant) -> str:
    """The tenant's rules in the order they apply, as one line for statements and audits."""
    parts = []
    for r in t.reservations:
        what = [*r.gpus, *r.mig_instances]
        parts.append(
            f"reserves {len(what)} GPU(s)/instance(s) {r.valid_from:%Y-%m-%dT%H:%MZ}–{r.valid_until:%Y-%m-%dT%H:%MZ}"
        )
    for label, values in (
        ("Slurm accounts", t.slurm_accounts),
        ("HPC jobs", [f"{p}*" for p in t.hpc_job_prefixes]),
        ("pods", t.pods),
        ("namespaces", t.namespaces),
    ):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    return "; ".join(parts) or "no rules (never matched)"


@dg.asset(
    name="dim_tariff",
    group_name="tenancy",
    kinds={"yaml", "duckdb"},
    pool=WRITER_POOL,
    metadata={"table": "dim_tariff", "source": f"config/{TARIFF_FILE}"},
    tags={"domain": "tenancy", "cadence": "on_change"},
)
def dim_tariff(site_root: DataRootResource, warehouse: WarehouseResource) -> dg.MaterializeResult[None]:
    """Prices from ``tariff.yaml`` (per kWh, per GPU-hour by GPU model, validity windows, idle policy). Without
    the file there are no prices: usage is still reported, costs stay empty."""
    tariff = load_tariff(site_root.data_root.config / TARIFF_FILE)
    frame = conform_to_table("dim_tariff", pl.DataFrame(tariff.rows() if tariff else [], infer_schema_length=None))
    count = warehouse.warehouse.replace_all("dim_tariff", frame)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": count,
            "tariff_file_present": tariff is not None,
            "currency": tariff.currency if tariff else "none",
            "idle_policy": tariff.idle_policy if tariff else "separate",
        }
    )


#: An hour's samples with a hashed GPU key instead of four text columns (text is what costs most to move from
#: DuckDB to Polars); the GPUs' names come once per GPU from HOUR_GPUS_SQL.
HOUR_SAMPLES_SQL = """
SELECT ts, hash(site, gpu_uuid) AS gpu_key, gpu_instance_id, mig_profile, interval_s, util_ratio,
       gr_engine_active_ratio, energy_j, sample_seq, holder_count, holder_util_sum
FROM gpu_sample WHERE ts >= ? AND ts < ?
"""
HOUR_GPUS_SQL = """
SELECT hash(site, gpu_uuid) AS gpu_key, site, max(node) AS node, gpu_uuid, max(model) AS model
FROM gpu_sample WHERE ts >= ? AND ts < ? GROUP BY site, gpu_uuid
"""
HOUR_HOLDERS_SQL = """
SELECT sample_seq, namespace, pod, hpc_job, util_ratio
FROM gpu_sample_holder WHERE ts >= ? AND ts < ?
"""


@table_asset("gpu_tenant_hourly", group="tenancy", deps=["gpu_sample", "dim_tenant"], kinds={"polars", "duckdb"})
def gpu_tenant_hourly(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Who held each GPU or MIG instance in each hour: every sample split by reservations (cut at their start
    and end), MIG slice fractions, and time-sliced shares by process utilisation; then matched to tenants by
    Slurm account, HPC job prefix, pod and namespace; unmatched use is 'unattributed', unheld time 'idle'."""
    data_root = site_root.data_root
    config = load_tenants(data_root.tenants_file)
    accounts = load_slurm_accounts(config, data_root.config)
    wh = warehouse.warehouse
    rows = 0
    held = total = unattributed = 0.0
    with wh.session():
        tune_session(wh)
        for hour in hours_in(context.partition_time_window):
            start, end = naive(hour), naive(hour + HOUR)
            samples = _with_names(wh.query(HOUR_SAMPLES_SQL, [start, end]), wh.query(HOUR_GPUS_SQL, [start, end]))
            holders = wh.query(HOUR_HOLDERS_SQL, [start, end])
            split = attribute(samples, holders, config, accounts, per_sample=False)
            frame = gpu_tenant_hour(split, start)
            rows += wh.replace_partition("gpu_tenant_hourly", frame, start, end)
            hours = frame.get_column("gpu_hours")
            total += float(hours.sum())
            held += float(hours.filter(frame.get_column("tenant") != IDLE).sum())
            unattributed += float(hours.filter(frame.get_column("tenant") == UNATTRIBUTED).sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "gpu_hours": dg.FloatMetadataValue(round(total, 3)),
            "allocated_ratio": dg.FloatMetadataValue(round(held / total, 4) if total else 0.0),
            "unattributed_ratio": dg.FloatMetadataValue(round(unattributed / total, 4) if total else 0.0),
        }
    )


def _with_names(samples: pl.DataFrame, gpus: pl.DataFrame) -> pl.DataFrame:
    """Samples keyed by GPU hash with the GPUs' site, node, UUID and model joined back as categoricals."""
    names = gpus.with_columns(pl.col("site", "node", "gpu_uuid", "model").cast(pl.Categorical))
    return samples.join(names, on="gpu_key", how="left").drop("gpu_key")


@table_asset(
    "tenant_usage_hourly",
    group="tenancy",
    deps=["gpu_tenant_hourly", "pue_hourly", "dim_tenant", "dim_tariff"],
    kinds={"polars", "duckdb"},
)
def tenant_usage_hourly(
    context: dg.AssetExecutionContext, site_root: DataRootResource, warehouse: WarehouseResource
) -> dg.MaterializeResult[None]:
    """Per tenant, site, GPU model and hour: GPU-hours held and busy, GPU energy, the PUE uplift (facility
    energy = GPU energy × the hour's PUE) and cost from the tariff."""
    data_root = site_root.data_root
    config = load_tenants(data_root.tenants_file)
    tariff = load_tariff(data_root.config / TARIFF_FILE)
    wh = warehouse.warehouse
    rows = 0
    tenants_seen: set[str] = set()
    gpu_hours = without_pue = 0.0
    with wh.session():
        tune_session(wh)
        for hour in hours_in(context.partition_time_window):
            start, end = naive(hour), naive(hour + HOUR)
            per_gpu = wh.read_partition("gpu_tenant_hourly", start, end)
            pue = wh.query("SELECT site, pue FROM pue_hourly WHERE hour = ? AND pue IS NOT NULL", [start])
            frame = tenant_usage_hour(per_gpu, config, pue, tariff, hour)
            rows += wh.replace_partition("tenant_usage_hourly", frame, start, end)
            tenants_seen |= set(frame.get_column("tenant").to_list())
            gpu_hours += float(frame.get_column("gpu_hours").sum())
            without_pue += float(frame.get_column("hours_without_pue").sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "tenants_seen": len(tenants_seen),
            "pue_coverage_ratio": dg.FloatMetadataValue(round(1.0 - without_pue / gpu_hours, 4) if gpu_hours else 0.0),
            "priced": tariff is not None,
        }
    )
