"""RAN tables: raw PM records and hourly cell and gNB KPIs."""

from __future__ import annotations

from pipelines.tables.base import Table, cols

RAN_PM_RECORD = Table(
    name="ran_pm_record",
    description="RAN PM counters in the long landing shape, canonical units, partitioned by period start.",
    time_column="period_start",
    grain="hour",
    serving=False,
    key=(
        "site",
        "managed_element",
        "measured_object",
        "counter",
        "sub_counter",
        "vector_index",
        "period_end",
    ),
    columns=cols(
        ("period_start", "TIMESTAMP"),
        ("period_end", "TIMESTAMP"),
        ("granularity_s", "INTEGER"),
        ("site", "VARCHAR"),
        ("managed_element", "VARCHAR"),
        ("measured_object", "VARCHAR"),
        ("cell", "VARCHAR"),
        ("counter", "VARCHAR"),
        ("sub_counter", "VARCHAR"),
        ("vector_index", "INTEGER"),
        ("value", "DOUBLE"),
        ("suspect", "BOOLEAN"),
        ("unit", "VARCHAR"),
        ("source_format", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("file_sha256", "VARCHAR"),
        ("producer", "VARCHAR"),
    ),
)

RAN_CELL_HOURLY = Table(
    name="ran_cell_hourly",
    description="Hourly KPIs per NR cell, weighted by period length; suspect periods excluded.",
    time_column="hour",
    grain="hour",
    key=("site", "managed_element", "cell", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("managed_element", "VARCHAR", "gNB"),
        ("cell", "VARCHAR"),
        ("periods", "BIGINT", "measurement periods used"),
        ("covered_s", "DOUBLE", "seconds of the hour covered by non-suspect periods"),
        ("prb_util_dl_ratio", "DOUBLE", "DL PRB utilisation 0..1"),
        ("prb_util_ul_ratio", "DOUBLE", "UL PRB utilisation 0..1"),
        ("ue_thp_dl_kbps", "DOUBLE", "mean DL UE throughput"),
        ("ue_thp_ul_kbps", "DOUBLE", "mean UL UE throughput"),
        ("volume_dl_mbit", "DOUBLE", "PDCP SDU data volume DL"),
        ("volume_ul_mbit", "DOUBLE", "PDCP SDU data volume UL"),
        ("rrc_conn_mean", "DOUBLE"),
        ("rrc_conn_max", "DOUBLE"),
        ("active_ue_dl_mean", "DOUBLE"),
        ("suspect_periods", "BIGINT", "periods with suspect records, excluded from the KPIs"),
    ),
)

RAN_GNB_HOURLY = Table(
    name="ran_gnb_hourly",
    description="Hourly energy and energy efficiency (TS 28.554 data volume / energy, bit/J) per gNB.",
    time_column="hour",
    grain="hour",
    key=("site", "managed_element", "hour"),
    columns=cols(
        ("hour", "TIMESTAMP"),
        ("site", "VARCHAR"),
        ("managed_element", "VARCHAR"),
        ("cells", "BIGINT"),
        ("power_mean_w", "DOUBLE", "PEE.AvgPower, time-weighted"),
        ("energy_kwh", "DOUBLE", "PEE.Energy (or vendor energy counters) in the hour"),
        ("volume_mbit", "DOUBLE", "DL + UL PDCP SDU volume of its cells"),
        ("ee_bit_per_j", "DOUBLE", "data volume / energy"),
        ("covered_s", "DOUBLE", "seconds of the hour covered by the energy (or power) periods used"),
        ("energy_source", "VARCHAR", "PEE.Energy | pmConsumedEnergy | pmConsumedEnergyAccumulated"),
    ),
)

TABLES = (RAN_PM_RECORD, RAN_CELL_HOURLY, RAN_GNB_HOURLY)
