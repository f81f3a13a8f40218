"""The Grafana folders aigrid's dashboards live in (stable uids: provisioning and publish use them)."""

from __future__ import annotations

from dashboards.spec import Folder

#: What operators and account managers open: utilisation, energy and PUE, tenants, AI-RAN.
OPERATIONS = Folder("aigrid", "AI grid")
#: What the people who keep it running open: GPU health and pipeline health.
HEALTH = Folder("aigrid-health", "AI grid · health")

FOLDERS = (OPERATIONS, HEALTH)
