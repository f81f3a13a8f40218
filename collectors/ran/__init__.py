"""RAN performance counters: TS 32.435 / 28.532 PM XML, VES events, OAI and srsRAN metrics → one record shape.

Entry points: :func:`collectors.ran.parse.parse_file` (one file, any supported format) and
:func:`collectors.ran.ingest.ingest_pm_inbox` (an OSS drop directory into the landing zone).
"""
