"""Views published in the serving file for ad-hoc SQL (documented with example questions in ``docs/sql.md``).

Views keep questions short and consistent (names joined in, shares computed once); they are plain SQL over
the published tables, so any DuckDB client sees them, and Grafana panels may use them too.
"""

from __future__ import annotations

V_TENANT_DAY = """
SELECT u.day, u.site, u.tenant, coalesce(t.name, u.tenant) AS tenant_name, u.kind, u.model,
       u.gpu_hours, u.busy_gpu_hours, u.utilisation_ratio, u.reserved_gpu_hours, u.gpu_energy_kwh, u.pue,
       u.overhead_kwh, u.facility_energy_kwh, u.currency, u.gpu_hour_cost, u.energy_cost, u.cost
FROM tenant_usage_daily u LEFT JOIN dim_tenant t USING (tenant)
"""

V_TENANT_MONTH = """
SELECT u.month, u.tenant, coalesce(t.name, u.tenant) AS tenant_name, u.kind, u.site, u.model, u.days,
       u.gpu_hours, u.busy_gpu_hours, u.utilisation_ratio, u.reserved_gpu_hours,
       u.gpu_energy_kwh, u.pue, u.overhead_kwh, u.facility_energy_kwh, u.hours_without_pue,
       u.currency, u.gpu_hour_cost, u.energy_cost, u.cost,
       u.idle_policy, u.idle_share_gpu_hours, u.idle_share_energy_kwh, u.idle_share_cost,
       u.cost + coalesce(u.idle_share_cost, 0) AS cost_with_idle_share
FROM tenant_usage_monthly u LEFT JOIN dim_tenant t USING (tenant)
"""

V_SITE_HOUR = """
SELECT g.hour, g.site, count(*) AS gpus, sum(g.sample_s) / 3600 AS gpu_hours,
       sum(g.busy_s) / nullif(sum(g.sample_s), 0) AS util_ratio, sum(g.energy_kwh) AS gpu_kwh,
       any_value(p.pue) AS pue, any_value(p.facility_kwh) AS facility_kwh,
       any_value(a.ran_share_ratio) AS ran_share_ratio, any_value(a.idle_share_ratio) AS idle_share_ratio,
       sum(g.throttled_s) / nullif(sum(g.sample_s), 0) AS throttled_ratio, sum(g.xid_events) AS xid_events
FROM gpu_hourly g
LEFT JOIN pue_hourly p USING (site, hour)
LEFT JOIN ai_ran_share_hourly a USING (site, hour)
GROUP BY g.hour, g.site
"""

V_FLEET_NOW = """
WITH latest AS (SELECT site, max(ts) AS ts FROM gpu_last GROUP BY site),
now AS (
    SELECT g.site, max(g.ts) AS as_of, count(*) AS gpus_reporting, avg(g.util_ratio) AS util_ratio,
           sum(g.power_w) / 1000 AS gpu_power_kw, max(g.temp_c) AS temp_max_c,
           count(*) FILTER (WHERE g.holder IS NOT NULL) AS gpus_held
    FROM gpu_last g JOIN latest l USING (site)
    WHERE g.ts >= l.ts - INTERVAL 5 MINUTE
    GROUP BY g.site
),
inventory AS (SELECT site, count(*) AS gpus_known FROM dim_gpu GROUP BY site),
split AS (
    SELECT site, max(hour) AS split_hour, arg_max(ran_share_ratio, hour) AS ran_share_ratio,
           arg_max(ai_share_ratio, hour) AS ai_share_ratio, arg_max(idle_share_ratio, hour) AS idle_share_ratio
    FROM ai_ran_share_hourly GROUP BY site
),
pue AS (
    SELECT site, max(hour) AS pue_hour, arg_max(pue, hour) AS pue FROM pue_hourly WHERE pue IS NOT NULL GROUP BY site
),
events AS (
    SELECT e.site, count(*) FILTER (WHERE e.severity = 'critical') AS critical_events_24h, count(*) AS events_24h
    FROM gpu_health_events e JOIN latest l USING (site)
    WHERE e.ts > l.ts - INTERVAL 24 HOUR
    GROUP BY e.site
)
SELECT now.site, now.as_of, inventory.gpus_known, now.gpus_reporting,
       inventory.gpus_known - now.gpus_reporting AS gpus_silent, now.gpus_held, now.util_ratio, now.gpu_power_kw,
       now.temp_max_c, split.split_hour, split.ran_share_ratio, split.ai_share_ratio, split.idle_share_ratio,
       pue.pue_hour, pue.pue, coalesce(events.critical_events_24h, 0) AS critical_events_24h,
       coalesce(events.events_24h, 0) AS events_24h
FROM now
LEFT JOIN inventory USING (site)
LEFT JOIN split USING (site)
LEFT JOIN pue USING (site)
LEFT JOIN events USING (site)
"""

V_NODE_DAY = """
SELECT day, site, node, gpus, gpu_hours, util_mean_ratio, util_p50_ratio, util_p95_ratio, util_p99_ratio,
       energy_kwh, power_max_w, temp_max_c, throttled_s, xid_events
FROM node_daily
"""

V_AI_RAN_HOUR = """
SELECT hour, site, gpu_hours, ran_gpu_hours, ai_gpu_hours, unattributed_gpu_hours, idle_gpu_hours,
       ran_share_ratio, ai_share_ratio, idle_share_ratio, ran_share_of_allocated_ratio,
       ran_busy_gpu_hours / nullif(ran_gpu_hours, 0) AS ran_utilisation_ratio,
       ai_busy_gpu_hours / nullif(ai_gpu_hours, 0) AS ai_utilisation_ratio,
       ran_energy_kwh, ai_energy_kwh, idle_energy_kwh, cells, prb_util_dl_ratio, prb_util_ul_ratio,
       volume_dl_mbit, volume_ul_mbit, ran_bit_per_gpu_j
FROM ai_ran_share_hourly
"""

V_GPU_HEALTH = """
SELECT e.ts, e.site, e.node, d.gpu_index, e.gpu_uuid, e.gpu_instance_id, e.event, e.code, e.severity, e.message,
       e.origin, e.producer
FROM gpu_health_events e LEFT JOIN dim_gpu d USING (site, gpu_uuid)
"""

V_DATA_QUALITY_HOUR = """
SELECT hour, source, unit, sum(expected) AS expected, sum(reporting) AS reporting, sum(missing) AS missing,
       sum(reporting) / nullif(sum(expected), 0) AS coverage_ratio, sum(files) AS files,
       sum(late_files) AS late_files, sum(quarantined_files) AS quarantined_files
FROM data_quality GROUP BY hour, source, unit
"""

SERVING_VIEWS: tuple[tuple[str, str], ...] = (
    ("v_tenant_day", V_TENANT_DAY),
    ("v_tenant_month", V_TENANT_MONTH),
    ("v_site_hour", V_SITE_HOUR),
    ("v_fleet_now", V_FLEET_NOW),
    ("v_node_day", V_NODE_DAY),
    ("v_ai_ran_hour", V_AI_RAN_HOUR),
    ("v_gpu_health", V_GPU_HEALTH),
    ("v_data_quality_hour", V_DATA_QUALITY_HOUR),
)
