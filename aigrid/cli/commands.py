"""Imports every command module so that its commands attach to the groups in :mod:`aigrid.cli.base`."""

import aigrid.cli.dashboards_cmd  # noqa: F401
