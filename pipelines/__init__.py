"""aigrid pipelines: the Dagster code location that turns landed telemetry into the warehouse and serving file."""
