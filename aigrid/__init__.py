"""aigrid: telemetry and observability for AI factories (GPU fleets shared by tenants and AI-RAN)."""

__version__ = "0.1.0"
