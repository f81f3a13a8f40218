"""Map a GPU process to who owns it: PID → cgroup → Kubernetes pod (UID, namespace, name) or Slurm job.

NVML reports the PIDs running on each GPU (host PID namespace). A PID's cgroup path names its pod
(``…kubepods…pod<uid>…``, with ``_`` instead of ``-`` under the systemd driver) or its Slurm job
(``…/job_<id>/…``). Pod UIDs are turned into namespace and pod name with a pod listing in the format of
``kubectl get pods -o json`` (refreshed by whatever the site runs on the node). The proc root is injected so
tests and the simulator can give a directory of fake ``<pid>/cgroup`` files, as client_python's
ProcessCollector does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")
_CONTAINER = re.compile(r"(?:cri-containerd-|crio-|docker-)?([0-9a-f]{64})(?:\.scope)?$")
_SLURM_JOB = re.compile(r"/job_(\d+)(?:/|$)")


@dataclass(frozen=True)
class Owner:
    """Who a process belongs to; any field may be unknown (None)."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    pod_uid: str | None = None
    hpc_job: str | None = None


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    containers: dict[str, str]  # container id -> container name


class PodIndex:
    """Pod UID → namespace/name (and container names) from a ``kubectl get pods -o json`` listing."""

    def __init__(self, pods: dict[str, PodInfo]) -> None:
        self._pods = pods

    @classmethod
    def from_file(cls, path: Path) -> PodIndex:
        return cls.from_json(json.loads(path.read_text()))

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> PodIndex:
        pods: dict[str, PodInfo] = {}
        items = doc.get("items", [])
        for item in items if isinstance(items, list) else []:
            meta = item.get("metadata", {})
            uid = meta.get("uid")
            if not uid:
                continue
            containers = {}
            for status in item.get("status", {}).get("containerStatuses", []) or []:
                cid = str(status.get("containerID", "")).split("://")[-1]
                if cid:
                    containers[cid] = str(status.get("name", ""))
            pods[str(uid)] = PodInfo(str(meta.get("namespace", "")), str(meta.get("name", "")), containers)
        return cls(pods)

    def get(self, uid: str) -> PodInfo | None:
        return self._pods.get(uid)


class ProcessMapper:
    """Resolves PIDs to owners, caching per PID (a process never changes its cgroup)."""

    def __init__(self, proc_root: Path = Path("/proc"), pods: PodIndex | None = None) -> None:
        self.proc_root = proc_root
        self.pods = pods
        self._cache: dict[int, Owner] = {}

    def owner(self, pid: int) -> Owner:
        cached = self._cache.get(pid)
        if cached is not None:
            return cached
        owner = self._resolve(pid)
        self._cache[pid] = owner
        return owner

    def forget_except(self, live_pids: set[int]) -> None:
        """Drop cache entries of PIDs that are gone, so a reused PID is resolved afresh."""
        for pid in [p for p in self._cache if p not in live_pids]:
            del self._cache[pid]

    def _resolve(self, pid: int) -> Owner:
        try:
            text = (self.proc_root / str(pid) / "cgroup").read_text()
        except OSError:
            return Owner()
        return owner_from_cgroup(text, self.pods)


def owner_from_cgroup(text: str, pods: PodIndex | None = None) -> Owner:
    """Parse ``/proc/<pid>/cgroup`` (v1 or v2) into an owner."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        job = _SLURM_JOB.search(path)
        if job:
            return Owner(hpc_job=job.group(1))
        pod = _POD_UID.search(path)
        if pod:
            uid = pod.group(1).replace("_", "-")
            container_id = None
            last = path.rstrip("/").rsplit("/", 1)[-1]
            cmatch = _CONTAINER.search(last)
            if cmatch:
                container_id = cmatch.group(1)
            info = pods.get(uid) if pods else None
            if info is None:
                return Owner(pod_uid=uid)
            container = info.containers.get(container_id or "") if container_id else None
            return Owner(namespace=info.namespace, pod=info.name, container=container, pod_uid=uid)
    return Owner()
