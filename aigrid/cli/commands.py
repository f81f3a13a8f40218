"""Imports every command module so that its commands attach to the groups in :mod:`aigrid.cli.base`."""

import aigrid.cli.parse_pm  # noqa: F401
