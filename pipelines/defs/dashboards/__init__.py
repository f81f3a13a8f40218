"""Dagster assets that write Grafana dashboards for a data root."""
