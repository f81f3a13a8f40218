"""GPU telemetry collectors: the NVML agent, the dcgm-exporter scraper and the Prometheus backfill."""
