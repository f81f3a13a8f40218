"""Facility power: the meter registry, BMS/DCIM meter CSV import and the Redfish collector.

Everything here lands rows in the ``facility`` landing shape (:data:`collectors.schemas.FACILITY_READING`):
cumulative registers in kWh and power in W, per meter id. What a meter *is* (facility total, IT input,
cooling…) lives in the registry (``config/meters.yaml``), never in the readings, so a meter can be
re-classified without re-landing anything.
"""
