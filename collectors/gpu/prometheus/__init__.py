"""Prometheus backfill: dcgm-exporter history from an existing Prometheus, landed like live scrapes."""
