"""Run the pipeline's assets through Dagster from the command line, with runs recorded in a Dagster home.

Used by ``aigrid demo`` (and by tests): the runs land in the same instance that ``make ui`` opens, so every
materialisation, check result and its metadata is visible in the Dagster UI afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from collectors.errors import InputError

DAGSTER_YAML = """\
# Dagster instance for aigrid (created by `aigrid demo`; `make ui` uses it too).
telemetry:
  enabled: false
# Every asset that writes the DuckDB warehouse is in the pool "duckdb_writer": one writer at a time.
concurrency:
  pools:
    default_limit: 1
"""


def prepare_dagster_home(home: Path) -> Path:
    """Create the project-local Dagster home (SQLite storage, pool limit 1) if it does not exist yet."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


@dataclass(frozen=True)
class Stage:
    """One Dagster run: a selection of assets, optionally over a partition range."""

    title: str
    selection: dg.AssetSelection
    partitions: dg.TimeWindowPartitionsDefinition | None = None


def range_tags(partitions: dg.TimeWindowPartitionsDefinition, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """Tags that make one run cover every partition in [start, end) (assets use ``BackfillPolicy.single_run``)."""
    keys = partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(
            partitions.get_partition_key_for_timestamp(start.timestamp()),
            partitions.get_partition_key_for_timestamp((end - dt.timedelta(seconds=1)).timestamp()),
        )
    )
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


class StageFailedError(InputError):
    """A Dagster run of the demo failed; the message names the asset and the error, the UI has the rest."""


def run_stage(
    defs: dg.Definitions,
    stage: Stage,
    instance: dg.DagsterInstance,
    start: dt.datetime,
    end: dt.datetime,
    *,
    log_level: str = "CRITICAL",
) -> dg.ExecuteInProcessResult:
    """Materialise a stage in-process (one run); a failed step raises one clear error, not a traceback.

    A user mistake inside an asset (a bad tenants.yaml, say) comes out as the ``InputError`` it is; anything
    else as :class:`StageFailedError` naming the step. Full logs stay in the run, visible in the Dagster UI.
    """
    assets = list(defs.assets or []) + list(defs.asset_checks or [])
    tags = {"aigrid/stage": stage.title}
    if stage.partitions is not None:
        tags.update(range_tags(stage.partitions, start, end))
    try:
        return dg.materialize(
            assets,  # type: ignore[arg-type]
            instance=instance,
            resources=defs.resources,
            selection=stage.selection,
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    except dg.DagsterExecutionStepExecutionError as exc:
        cause = exc.user_exception
        if isinstance(cause, InputError):
            raise cause from None
        step = getattr(exc, "step_key", "a step")
        raise StageFailedError(
            f"Dagster stage '{stage.title}' failed in {step}: {type(cause).__name__}: {cause} "
            "(full log: `make ui`, Runs)"
        ) from None


def dagster_instance(home: Path) -> dg.DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(home).resolve())
    return dg.DagsterInstance.get()
