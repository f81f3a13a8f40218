"""Imports every command module so that its commands attach to the groups in :mod:`aigrid.cli.base`."""

import aigrid.cli.collect_dcgm
import aigrid.cli.collect_prometheus
import aigrid.cli.parse_dcgm  # noqa: F401
