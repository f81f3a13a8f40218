"""Attribution: which tenant held each GPU (or MIG slice) during each sample interval, and by how much.

Every whole-GPU sample is cut into *units* whose fractions add up to one:

- a GPU without MIG instances is one unit (fraction 1);
- a GPU in MIG mode gives one unit per MIG instance, fraction = compute slices / slices of the board (``3g.40gb``
  on an H100 = 3/7; A30 and RTX PRO 6000 boards have 4 slices), and one remainder unit for the slices no instance
  uses (always ``idle`` unless the whole GPU is reserved). Power is board-level, so MIG energy is split by the
  same fraction.

Each unit goes first to reservations (a sample straddling a reservation's start or end is split at it), then the
rest to its holders: holders share by their own utilisation where every holder's is known (time-slicing), else
equally; each holder is matched to a tenant (:func:`tenant_expr`, evaluated once per distinct holder, not per
row); a unit with no holder is ``idle``.

The sample's GPU-seconds and energy are multiplied by these weights, so for every sample
``Σ tenants + idle + unattributed = the metered GPU time and energy`` exactly (up to float rounding), which the
``tenant_usage_reconciles`` asset check verifies on every run.
"""

from __future__ import annotations

import polars as pl

from collectors.schemas import DType
from pipelines.lib.tenancy import IDLE, UNATTRIBUTED, TenantConfig, glob_regex

#: Compute slices of a MIG-capable board: 7 on A100/H100/H200/B200/GB200…, 4 on A30 and RTX PRO 6000.
FOUR_SLICE_MODELS = r"(?i)A30|RTX PRO 6000"
UNKNOWN_MODEL = "unknown"
HOLDER_MATCH = ["namespace", "pod", "hpc_job"]

_OUTPUT: dict[str, DType] = {
    "ts": pl.Datetime("us"),
    "site": pl.String,
    "node": pl.String,
    "gpu_uuid": pl.String,
    "gpu_instance_id": pl.Int32,
    "model": pl.String,
    "tenant": pl.String,
    "gpu_s": pl.Float64,
    "busy_s": pl.Float64,
    "energy_j": pl.Float64,
    "reserved_s": pl.Float64,
}
OUTPUT_SCHEMA = pl.Schema(_OUTPUT)
#: One attributable unit's sample: a whole GPU, or a MIG instance with its fraction of the board.
_UNIT_COLS = [
    "__sample",
    "ts",
    "site",
    "node",
    "gpu_uuid",
    "gpu_instance_id",
    "model",
    "interval_s",
    "energy_j",
    "frac",
    "unit_util",
]
_PART_COLS = [*_UNIT_COLS, "tenant", "share", "holder_util", "reserved"]


def attribute(
    samples: pl.DataFrame,
    holders: pl.DataFrame,
    config: TenantConfig,
    job_accounts: dict[str, str] | None = None,
    *,
    per_sample: bool = True,
) -> pl.DataFrame:
    """Split GPU samples among tenants.

    ``samples``: ``gpu_sample`` rows of one hour (whole-GPU rows carry time and energy; MIG instance rows,
    matched to their parent by GPU and time, say which slices exist), with ``sample_seq``, ``holder_count`` and
    ``holder_util_sum``. ``holders``: ``gpu_sample_holder`` rows of the same hour (who held each GPU or
    instance at each sample), joined to the samples by ``sample_seq``. Output: one row per sample, unit and
    tenant (``per_sample``; otherwise the parts unsummed, which is all an hourly rollup needs) with ``gpu_s``,
    ``busy_s``, ``energy_j`` and ``reserved_s`` (the part of ``gpu_s`` held by a reservation).
    """
    samples, holders = _naive_ts(samples), _naive_ts(holders)
    parents = samples.filter(pl.col("gpu_instance_id").is_null())
    if parents.is_empty():
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    parents = parents.with_row_index("__sample").with_columns(
        pl.col("model").fill_null(UNKNOWN_MODEL), pl.col("energy_j").cast(pl.Float64)
    )
    units = _units(parents, samples.filter(pl.col("gpu_instance_id").is_not_null()))
    reserved, rest = _reservations(units, config)
    matched = _matched_holders(holders, config, job_accounts or {})
    takes = pl.col("takes_holders") & (pl.col("holder_count") > 0)
    idle = rest.filter(~takes).with_columns(
        pl.lit(IDLE).alias("tenant"), pl.col("rest").alias("share"), pl.lit(None, pl.Float64).alias("holder_util")
    )
    shared = (
        rest.filter(takes)
        .join(matched, left_on="seq", right_on="sample_seq", how="inner")
        .with_columns(
            (
                pl.col("rest")
                * pl.when(pl.col("holder_util_sum") > 0)
                .then(pl.col("util_ratio") / pl.col("holder_util_sum"))
                .otherwise(1.0 / pl.col("holder_count"))
            ).alias("share"),
            pl.when(pl.col("holder_count") > 1)
            .then(pl.col("util_ratio") * pl.col("rest"))
            .otherwise(None)
            .alias("holder_util"),
        )
    )
    parts = pl.concat(
        [
            reserved.with_columns(pl.lit(None, pl.Float64).alias("holder_util"), pl.lit(True).alias("reserved")),
            idle.with_columns(pl.lit(False).alias("reserved")),
            shared.with_columns(pl.lit(False).alias("reserved")),
        ],
        how="diagonal_relaxed",
    ).select(_PART_COLS)
    weight = pl.col("frac") * pl.col("share")
    busy = (
        pl.when(pl.col("holder_util").is_not_null())
        .then(pl.col("holder_util") * pl.col("frac") * pl.col("interval_s"))
        .otherwise(pl.col("unit_util").fill_null(0.0) * pl.col("interval_s") * weight)
    )
    out = parts.with_columns(
        (pl.col("interval_s") * weight).alias("gpu_s"),
        busy.alias("busy_s"),
        (pl.col("energy_j") * weight).alias("energy_j"),
        pl.when(pl.col("reserved")).then(pl.col("interval_s") * weight).otherwise(0.0).alias("reserved_s"),
    )
    if per_sample:
        out = (
            out.sort("__sample", "gpu_instance_id", "tenant", nulls_last=False)
            .group_by(
                "__sample", "ts", "site", "node", "gpu_uuid", "gpu_instance_id", "model", "tenant", maintain_order=True
            )
            .agg(pl.col("gpu_s").sum(), pl.col("busy_s").sum(), pl.col("energy_j").sum(), pl.col("reserved_s").sum())
        )
    return out.select(list(_OUTPUT)).cast(OUTPUT_SCHEMA)


def _naive_ts(frame: pl.DataFrame) -> pl.DataFrame:
    ts_type = frame.schema.get("ts")
    if isinstance(ts_type, pl.Datetime) and ts_type.time_zone is not None:
        return frame.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    return frame


def _units(parents: pl.DataFrame, instances: pl.DataFrame) -> pl.DataFrame:
    """Whole GPUs as one unit; GPUs with MIG rows at the same time as one unit per instance plus a remainder.

    ``takes_holders`` is false for a MIG remainder: the parent row's process list covers the instances, whose
    own holders are what counts.
    """
    base = parents.select(
        "__sample",
        "ts",
        "site",
        "node",
        "gpu_uuid",
        "model",
        "interval_s",
        "energy_j",
        "util_ratio",
        pl.col("sample_seq").alias("seq"),
        "holder_count",
        "holder_util_sum",
    )
    key = ["site", "gpu_uuid", "ts"]
    inst = instances.select(
        *key,
        "gpu_instance_id",
        "mig_profile",
        pl.coalesce("util_ratio", "gr_engine_active_ratio").alias("unit_util"),
        pl.col("sample_seq").alias("seq"),
        "holder_count",
        "holder_util_sum",
    ).unique(subset=[*key, "gpu_instance_id"], keep="first", maintain_order=True)
    cols = [*_UNIT_COLS, "takes_holders", "seq", "holder_count", "holder_util_sum"]
    whole_gpus = base if inst.is_empty() else base.join(inst.select(key).unique(), on=key, how="anti")
    whole = whole_gpus.with_columns(
        pl.lit(None, pl.Int32).alias("gpu_instance_id"),
        pl.lit(1.0).alias("frac"),
        pl.col("util_ratio").alias("unit_util"),
        pl.lit(True).alias("takes_holders"),
    ).select(cols)
    if inst.is_empty():
        return whole
    mig = base.drop("util_ratio", "seq", "holder_count", "holder_util_sum").join(inst, on=key, how="inner")
    slices = pl.col("mig_profile").str.extract(r"^(?:MIG\s+)?(\d)g\.", 1).cast(pl.Float64)
    board = pl.when(pl.col("model").cast(pl.String).str.contains(FOUR_SLICE_MODELS)).then(4.0).otherwise(7.0)
    mig = mig.with_columns((slices / board).alias("frac"), pl.lit(True).alias("takes_holders"))
    per_sample = pl.col("frac").sum().over("__sample")
    unknown = pl.col("frac").is_null().any().over("__sample")
    mig = mig.with_columns(
        pl.when(unknown)
        .then(1.0 / pl.len().over("__sample"))
        .when(per_sample > 1.0)
        .then(pl.col("frac") / per_sample)
        .otherwise(pl.col("frac"))
        .alias("frac")
    )
    remainder = (
        mig.group_by("__sample", maintain_order=True)
        .agg(pl.col(base.columns[1:8]).first(), pl.col("frac").sum())
        .with_columns(
            (1.0 - pl.col("frac")).alias("frac"),
            pl.lit(None, pl.Int32).alias("gpu_instance_id"),
            pl.lit(None, pl.Float64).alias("unit_util"),
            pl.lit(False).alias("takes_holders"),
            pl.lit(None, pl.Int32).alias("seq"),
            pl.lit(0, pl.Int32).alias("holder_count"),
            pl.lit(None, pl.Float64).alias("holder_util_sum"),
        )
        .filter(pl.col("frac") > 1e-9)
    )
    return pl.concat([whole, mig.select(cols), remainder.select(cols)], how="vertical")


def _reservations(units: pl.DataFrame, config: TenantConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(reserved parts with their tenant and share, every unit with the share ``rest`` left for its holders)."""
    rows = [
        {"gpu_uuid": gpu, "r_instance": None, "r_tenant": t.id, "r_from": r.valid_from, "r_until": r.valid_until}
        for t in config.tenants
        for r in t.reservations
        for gpu in r.gpus
    ] + [
        {
            "gpu_uuid": i.gpu_uuid,
            "r_instance": i.gpu_instance_id,
            "r_tenant": t.id,
            "r_from": r.valid_from,
            "r_until": r.valid_until,
        }
        for t in config.tenants
        for r in t.reservations
        for i in r.instances
    ]
    if not rows:
        return (
            units.head(0).with_columns(pl.lit(None, pl.String).alias("tenant"), pl.lit(0.0).alias("share")),
            units.with_columns(pl.lit(1.0).alias("rest")),
        )
    windows = pl.DataFrame(
        rows,
        schema={
            "gpu_uuid": pl.String,
            "r_instance": pl.Int32,
            "r_tenant": pl.String,
            "r_from": pl.Datetime("us", "UTC"),
            "r_until": pl.Datetime("us", "UTC"),
        },
    ).with_columns(
        pl.col("r_from", "r_until").dt.replace_time_zone(None),
        pl.col("gpu_uuid").cast(units.schema["gpu_uuid"]),  # text or categorical, as the samples have it
    )
    end = pl.col("ts") + pl.duration(microseconds=(pl.col("interval_s") * 1e6).round().cast(pl.Int64))
    overlap = (
        pl.min_horizontal(end, pl.col("r_until")) - pl.max_horizontal(pl.col("ts"), pl.col("r_from"))
    ).dt.total_microseconds() / 1e6
    indexed = units.with_row_index("__unit")
    matched = (
        indexed.join(windows, on="gpu_uuid", how="inner")
        .filter(pl.col("r_instance").is_null() | (pl.col("r_instance") == pl.col("gpu_instance_id")))
        .with_columns((overlap / pl.col("interval_s")).clip(0.0, 1.0).alias("share"))
        .filter(pl.col("share") > 0)
        .rename({"r_tenant": "tenant"})
    )
    if matched.is_empty():
        return matched.drop("__unit"), units.with_columns(pl.lit(1.0).alias("rest"))
    taken = matched.group_by("__unit").agg(pl.col("share").sum().alias("taken"))
    rest = (
        indexed.join(taken, on="__unit", how="left", maintain_order="left")
        .with_columns((1.0 - pl.col("taken").fill_null(0.0)).clip(0.0, 1.0).alias("rest"))
        .filter(pl.col("rest") > 1e-12)
        .drop("__unit", "taken")
    )
    return matched.drop("__unit"), rest


def _matched_holders(holders: pl.DataFrame, config: TenantConfig, job_accounts: dict[str, str]) -> pl.DataFrame:
    """Holder rows (``sample_seq``, ``util_ratio``) with their tenant.

    Rules are evaluated on the distinct (namespace, pod, HPC job) combinations, a few thousand at most, not on
    millions of holder rows.
    """
    h = holders.select("sample_seq", *HOLDER_MATCH, "util_ratio")
    distinct = h.select(HOLDER_MATCH).unique()
    distinct = _with_accounts(distinct.rename({c: f"h_{c}" for c in HOLDER_MATCH}), job_accounts)
    tenants = distinct.with_columns(tenant_expr(config).alias("tenant")).select(
        *(pl.col(f"h_{c}").alias(c) for c in HOLDER_MATCH), "tenant"
    )
    return h.join(tenants, on=HOLDER_MATCH, how="left", nulls_equal=True).select("sample_seq", "util_ratio", "tenant")


def _with_accounts(holders: pl.DataFrame, job_accounts: dict[str, str]) -> pl.DataFrame:
    if not job_accounts:
        return holders.with_columns(pl.lit(None, pl.String).alias("h_account"))
    mapping = pl.DataFrame(
        {"__job": list(job_accounts), "h_account": list(job_accounts.values())},
        schema={"__job": pl.String, "h_account": pl.String},
    )
    return (
        holders.with_columns(pl.col("h_hpc_job").str.split(".").list.first().alias("__job"))
        .join(mapping, on="__job", how="left", maintain_order="left")
        .drop("__job")
    )


def tenant_expr(config: TenantConfig) -> pl.Expr:
    """Holder → tenant, on holder columns ``h_*``: Slurm account, HPC job prefix, pod glob, namespace glob, in
    that order and in file order within each rule; no match → ``unattributed``."""
    rules: list[tuple[pl.Expr, str]] = []
    for t in config.tenants:
        for account in t.slurm_accounts:
            rules.append((pl.col("h_account") == account, t.id))
    for t in config.tenants:
        for prefix in t.hpc_job_prefixes:
            rules.append((pl.col("h_hpc_job").str.starts_with(prefix), t.id))
    for t in config.tenants:
        for pattern in t.pods:
            rules.append((pl.col("h_pod").str.contains(glob_regex(pattern)), t.id))
    for t in config.tenants:
        for pattern in t.namespaces:
            rules.append((pl.col("h_namespace").str.contains(glob_regex(pattern)), t.id))
    expr: pl.Expr = pl.lit(UNATTRIBUTED)
    for condition, tenant in reversed(rules):
        expr = pl.when(condition.fill_null(False)).then(pl.lit(tenant)).otherwise(expr)
    return expr
