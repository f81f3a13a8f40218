"""aigrid collectors: read GPU, RAN and facility telemetry in native formats and land it as immutable files.

Collectors know nothing of Dagster. The pipelines import this package (for the landing-zone contract and
the parsers); nothing here imports the pipelines.
"""
